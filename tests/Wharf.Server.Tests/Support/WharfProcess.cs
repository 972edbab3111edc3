using System.Diagnostics;
using System.Net;

namespace Wharf.Server.Tests.Support;

/// <summary>
/// Wharf as a separate OS process on 127.0.0.1, so a test can kill it without warning (SIGKILL)
/// and start it again on the same data directory.
/// </summary>
public sealed class WharfProcess : IDisposable
{
    private readonly Process _process;

    private WharfProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public static async Task<WharfProcess> StartAsync(string dataDir, string adminPassword)
    {
        var port = WharfServer.FreePort();
        var start = new ProcessStartInfo("dotnet", Path.Combine(AppContext.BaseDirectory, "Wharf.Server.dll"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["Wharf__DataDir"] = dataDir;
        start.Environment["Wharf__Admin__Password"] = adminPassword;
        start.Environment["Wharf__Docker__V1Port"] = "0";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        var process = Process.Start(start)!;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new WharfProcess(process, new Uri($"http://127.0.0.1:{port}"));
        using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        for (var i = 0; i < 150; i++)
        {
            try
            {
                if ((await client.GetAsync("/v1/_ping")).StatusCode == HttpStatusCode.OK)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            Assert.False(process.HasExited, "Wharf exited during start-up");
            await Task.Delay(200);
        }

        server.Dispose();
        throw new TimeoutException("Wharf did not answer /v1/_ping");
    }

    /// <summary>SIGKILL: no shutdown code runs, exactly like a power cut for the process.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Kill();
        }

        _process.Dispose();
    }
}
