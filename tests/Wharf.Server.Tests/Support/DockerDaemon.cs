using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Wharf.Server.Tests.Support;

/// <summary>
/// A private docker 20.10 daemon (Debian's <c>docker.io</c>) for one test run, as
/// ../shared/guides/real-clients.md describes: its data root, exec root, socket, pid file and
/// key in a temp folder, no iptables rules, no bridge, and the vfs storage driver, so nothing is
/// mounted that could outlive it. It starts its own containerd as a child. Stopped by its pid
/// (SIGTERM, then SIGKILL of the whole process tree); the folder is removed after it.
/// Needs root, like any docker daemon.
/// </summary>
internal sealed class DockerDaemon : IAsyncDisposable
{
    /// <summary>
    /// Debian's docker CLI (20.10), by path: on this machine <c>/usr/local/bin/docker</c>, another
    /// CLI (28.x), comes first on PATH.
    /// </summary>
    public const string Cli = "/usr/bin/docker";

    private static readonly TimeSpan StartWait = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StopWait = TimeSpan.FromSeconds(20);

    private readonly Process _process;
    private readonly ClientProcess.Tail _log = new(40);

    private DockerDaemon(string folder, Process process)
    {
        Folder = folder;
        _process = process;
    }

    public string Folder { get; }

    public int Pid => _process.Id;

    private string Host => "unix://" + Path.Combine(Folder, "docker.sock");

    public static async Task<DockerDaemon> StartAsync()
    {
        var folder = Directory.CreateTempSubdirectory("wharf-dockerd-").FullName;

        // The daemon's identity key would otherwise go to /etc/docker/key.json; 20.10 takes its
        // path only from the configuration file.
        var config = Path.Combine(folder, "daemon.json");
        await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new Dictionary<string, string> { ["deprecated-key-path"] = Path.Combine(folder, "key.json") }));
        var start = new ProcessStartInfo("dockerd")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "--config-file", config, "--iptables=false", "--ip6tables=false", "--bridge=none", "--storage-driver", "vfs",
            "--data-root", Path.Combine(folder, "root"), "--exec-root", Path.Combine(folder, "exec"),
            "-H", "unix://" + Path.Combine(folder, "docker.sock"), "--pidfile", Path.Combine(folder, "docker.pid"),
        })
        {
            start.ArgumentList.Add(argument);
        }

        ClientProcess.WithoutProxies(start);
        var daemon = new DockerDaemon(folder, Process.Start(start) ?? throw new InvalidOperationException("dockerd did not start"));
        daemon._process.OutputDataReceived += (_, e) => daemon._log.Add(e.Data);
        daemon._process.ErrorDataReceived += (_, e) => daemon._log.Add(e.Data);
        daemon._process.BeginOutputReadLine();
        daemon._process.BeginErrorReadLine();
        try
        {
            var probe = Directory.CreateDirectory(Path.Combine(folder, "probe-config")).FullName;
            var watch = Stopwatch.StartNew();
            while (true)
            {
                if (daemon._process.HasExited)
                {
                    throw new InvalidOperationException($"dockerd exited {daemon._process.ExitCode} during start-up:\n{daemon._log}");
                }

                var version = await daemon.RunAsync(probe, ["version", "--format", "{{.Server.Version}}"]);
                if (version.Succeeded)
                {
                    return daemon;
                }

                if (watch.Elapsed > StartWait)
                {
                    throw new InvalidOperationException($"dockerd did not answer within {StartWait.TotalSeconds} s: {version}\n--- dockerd ---\n{daemon._log}");
                }

                await Task.Delay(250);
            }
        }
        catch
        {
            await daemon.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs the docker CLI against this daemon with <paramref name="configDirectory"/> as its DOCKER_CONFIG (credentials).</summary>
    public Task<ClientRun> RunAsync(string configDirectory, IEnumerable<string> arguments, string? input = null) =>
        ClientProcess.RunAsync(Cli, arguments, new Dictionary<string, string> { ["DOCKER_HOST"] = Host, ["DOCKER_CONFIG"] = configDirectory }, input);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGTERM by pid: dockerd stops its containerd and unmounts what it mounted.
            using (var term = Process.Start("kill", ["-TERM", Pid.ToString(CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            using var stopping = new CancellationTokenSource(StopWait);
            try
            {
                await _process.WaitForExitAsync(stopping.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        _process.Dispose();
        await UnmountBelowAsync(Folder);
        Directory.Delete(Folder, recursive: true);
    }

    /// <summary>
    /// Lazily unmounts whatever is still mounted below <paramref name="folder"/> (deepest first):
    /// dockerd bind-mounts its data root onto itself and undoes it only on a clean stop.
    /// </summary>
    private static async Task UnmountBelowAsync(string folder)
    {
        var prefix = folder.TrimEnd('/') + "/";
        var mounts = (await File.ReadAllLinesAsync("/proc/self/mountinfo"))
            .Select(line => line.Split(' ')[4].Replace("\\040", " ", StringComparison.Ordinal))
            .Where(point => point.StartsWith(prefix, StringComparison.Ordinal))
            .OrderByDescending(point => point.Length);
        foreach (var point in mounts)
        {
            using var umount = Process.Start("umount", ["-l", point]);
            await umount.WaitForExitAsync();
        }
    }
}
