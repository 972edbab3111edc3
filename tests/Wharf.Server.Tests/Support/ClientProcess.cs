using System.Diagnostics;
using System.Text;

namespace Wharf.Server.Tests.Support;

/// <summary>What one client command did: its exit code and both streams, whole, for assertion messages.</summary>
public sealed record ClientRun(string Command, int ExitCode, string Output, string Error)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>Asserts the command succeeded; the message holds the command line and both streams.</summary>
    public ClientRun Ok()
    {
        Assert.True(Succeeded, ToString());
        return this;
    }

    /// <summary>Asserts the command failed with <paramref name="text"/> in its error stream (case-insensitive).</summary>
    public ClientRun Refused(string text)
    {
        Assert.False(Succeeded, "expected a refusal: " + ToString());
        Assert.True(Error.Contains(text, StringComparison.OrdinalIgnoreCase), $"expected '{text}' in the error stream: {this}");
        return this;
    }

    public override string ToString() => $"`{Command}` exited {ExitCode}\n--- stdout ---\n{Output}\n--- stderr ---\n{Error}";
}

/// <summary>
/// Runs a real client (docker CLI, podman) to completion with its own environment. Commands
/// never carry secrets on the command line (passwords go by standard input), so the command is
/// safe to show in a failure message. A command that outlives its timeout is killed with every
/// process it started, so a hung client never outlives the test.
/// </summary>
internal static class ClientProcess
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    public static async Task<ClientRun> RunAsync(string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment, string? input = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        WithoutProxies(start);
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var command = fileName + " " + string.Join(' ', start.ArgumentList);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{fileName} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(input ?? "");
        process.StandardInput.Close();
        using var expiry = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            await process.WaitForExitAsync(expiry.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return new ClientRun(command, -1, await output, await error + $"\n(killed after {(timeout ?? DefaultTimeout).TotalSeconds} s)");
        }

        return new ClientRun(command, process.ExitCode, await output, await error);
    }

    /// <summary>Never lets a proxy carry loopback test traffic (the clients honour these variables).</summary>
    public static void WithoutProxies(ProcessStartInfo start)
    {
        foreach (var proxy in new[] { "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" })
        {
            start.Environment.Remove(proxy);
        }

        start.Environment["NO_PROXY"] = "*";
        start.Environment["no_proxy"] = "*";
    }

    /// <summary>Keeps the last lines a long-running process writes, for a message when it fails.</summary>
    public sealed class Tail(int lines)
    {
        private readonly Queue<string> _lines = new();

        public void Add(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_lines)
            {
                _lines.Enqueue(line);
                while (_lines.Count > lines)
                {
                    _lines.Dequeue();
                }
            }
        }

        public override string ToString()
        {
            lock (_lines)
            {
                return new StringBuilder().AppendJoin('\n', _lines).ToString();
            }
        }
    }
}
