using System.Diagnostics;

namespace Wharf.Server.Tests.Support;

/// <summary>Runs a command-line client (curl, skopeo) with no proxy in the way; returns its exit code and output.</summary>
internal static class Cli
{
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["NO_PROXY"] = "*";
        foreach (var proxy in new[] { "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" })
        {
            start.Environment.Remove(proxy);
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    /// <summary>skopeo with <c>--insecure-policy</c> (no signature policy file here); its output, or an exception with its error text when it fails.</summary>
    public static async Task<string> SkopeoAsync(params string[] arguments)
    {
        var (exitCode, output, error) = await RunAsync("skopeo", ["--insecure-policy", .. arguments]);
        return exitCode == 0 ? output : throw new InvalidOperationException($"skopeo {string.Join(' ', arguments)} exited {exitCode}: {error}");
    }
}
