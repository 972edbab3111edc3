namespace Wharf.Server.Tests.Support;

/// <summary>
/// podman 4.3 (Debian's package) without a daemon, on a private store in <paramref name="folder"/>:
/// its own <c>--root</c>, <c>--runroot</c> and <c>--tmpdir</c>, the vfs storage driver (plain
/// directories, nothing mounted), no event log, credentials in <c>REGISTRY_AUTH_FILE</c> and an
/// empty registries.conf, so neither the machine's images nor its settings take part. The caller
/// removes the folder. <c>podman image mount</c> needs root.
/// </summary>
internal sealed class PodmanStore(string folder)
{
    public string AuthFile => Path.Combine(folder, "auth.json");

    public Task<ClientRun> RunAsync(IEnumerable<string> arguments, string? input = null)
    {
        var registries = Path.Combine(folder, "registries.conf");
        if (!File.Exists(registries))
        {
            File.WriteAllText(registries, "");
        }

        var temp = Directory.CreateDirectory(Path.Combine(folder, "tmp")).FullName;
        string[] global =
        [
            "--root", Path.Combine(folder, "root"), "--runroot", Path.Combine(folder, "run"), "--tmpdir", Path.Combine(folder, "libpod"),
            "--storage-driver", "vfs", "--events-backend", "none", "--cgroup-manager", "cgroupfs",
            "--network-config-dir", Path.Combine(folder, "networks"),
        ];
        return ClientProcess.RunAsync("podman", [.. global, .. arguments], new Dictionary<string, string>
        {
            ["REGISTRY_AUTH_FILE"] = AuthFile,
            ["CONTAINERS_REGISTRIES_CONF"] = registries,
            ["TMPDIR"] = temp,
        }, input);
    }
}
