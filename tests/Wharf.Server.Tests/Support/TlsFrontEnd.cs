using System.Diagnostics;
using System.Globalization;

namespace Wharf.Server.Tests.Support;

/// <summary>
/// Debian's nginx or Apache httpd running Wharf's generated files, unprivileged-style: a private
/// folder for the main configuration, pid file, logs and temporary files (nginx's
/// <c>client_body_temp_path</c>, Apache's <c>TMPDIR</c>, where either would spool a request body),
/// in the foreground as a child of the test, stopped by the pid in its pid file.
/// </summary>
public sealed class TlsFrontEnd : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ClientProcess.Tail _output = new(40);

    private TlsFrontEnd(WebServerKind kind, string directory, Process process)
    {
        Kind = kind;
        Directory = directory;
        _process = process;
    }

    public WebServerKind Kind { get; }

    public string Directory { get; }

    /// <summary>Where the web server would write a request body it buffers.</summary>
    public string SpoolDirectory => Path.Combine(Directory, Kind == WebServerKind.Nginx ? "client_body" : "tmp");

    public string ErrorLog => Path.Combine(Directory, "error.log");

    /// <summary>Starts <paramref name="kind"/> on <paramref name="sites"/> and waits until each of <paramref name="ports"/> accepts.</summary>
    public static async Task<TlsFrontEnd> StartAsync(WebServerKind kind, IEnumerable<string> sites, IReadOnlyList<int> ports)
    {
        var directory = WebServers.NewDirectory();
        var site = string.Join('\n', sites);
        ProcessStartInfo start;
        if (kind == WebServerKind.Nginx)
        {
            start = new ProcessStartInfo(WebServers.Nginx);
            foreach (var argument in new[] { "-p", directory + "/", "-e", Path.Combine(directory, "error.log"), "-c", WebServers.NginxMain(directory, site) })
            {
                start.ArgumentList.Add(argument);
            }

            System.IO.Directory.CreateDirectory(Path.Combine(directory, "client_body"));
        }
        else
        {
            start = new ProcessStartInfo(WebServers.Apache);
            foreach (var argument in new[] { "-f", WebServers.ApacheMain(directory, site, WebServers.ProxyModules, running: true), "-DFOREGROUND" })
            {
                start.ArgumentList.Add(argument);
            }

            // Writable by the user Apache serves requests as, so that a spooled body would land here and not fail.
            System.IO.Directory.CreateDirectory(Path.Combine(directory, "tmp"));
            if (OperatingSystem.IsLinux())
            {
                File.SetUnixFileMode(Path.Combine(directory, "tmp"), (UnixFileMode)Convert.ToInt32("1777", 8));
            }
            start.Environment["TMPDIR"] = Path.Combine(directory, "tmp");
        }

        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        var process = Process.Start(start)!;
        var frontEnd = new TlsFrontEnd(kind, directory, process);
        process.OutputDataReceived += (_, e) => frontEnd._output.Add(e.Data);
        process.ErrorDataReceived += (_, e) => frontEnd._output.Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        foreach (var port in ports.Where(p => !process.HasExited))
        {
            if (!await WebServers.WaitForPortAsync(port, process))
            {
                var log = File.Exists(frontEnd.ErrorLog) ? await File.ReadAllTextAsync(frontEnd.ErrorLog) : "";
                await frontEnd.DisposeAsync();
                throw new InvalidOperationException($"{kind} does not listen on {port}: {frontEnd._output}\n{log}");
            }
        }

        return frontEnd;
    }

    /// <summary>Files the web server left where it would spool request bodies.</summary>
    public IReadOnlyList<string> SpooledFiles() =>
        System.IO.Directory.Exists(SpoolDirectory) ? [.. System.IO.Directory.EnumerateFiles(SpoolDirectory, "*", SearchOption.AllDirectories)] : [];

    /// <summary>SIGTERM to the pid in the pid file (both servers stop at once on it), then waits.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            var pidFile = Path.Combine(Directory, Kind == WebServerKind.Nginx ? "nginx.pid" : "apache2.pid");
            var pid = File.Exists(pidFile) ? int.Parse((await File.ReadAllTextAsync(pidFile)).Trim(), CultureInfo.InvariantCulture) : _process.Id;
            await WebServers.RunAsync("/bin/kill", "-TERM", pid.ToString(CultureInfo.InvariantCulture));
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        _process.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
