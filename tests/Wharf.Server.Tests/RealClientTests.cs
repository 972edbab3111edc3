using System.Formats.Tar;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>
/// The V2 clients the support matrix promises, for real: Debian's docker 20.10 (a private daemon
/// for the whole class, the CLI at <see cref="DockerDaemon.Cli"/>) and podman 4.3 (daemonless,
/// private store), against a Wharf whose main listener is the default one (docker-local, V1):
/// login, push, pull and the pulled files, by the repository-path method
/// (<c>127.0.0.1:&lt;main&gt;/docker-v2-local/&lt;image&gt;:&lt;tag&gt;</c>) and by a V2 repository's
/// own port (<c>127.0.0.1:&lt;port&gt;/&lt;image&gt;:&lt;tag&gt;</c>); the credentials file docker
/// writes; wrong passwords and anonymous pulls refused. Images are a few KiB.
/// </summary>
public sealed partial class RealClientTests(RealClientTests.Fixture fixture) : IClassFixture<RealClientTests.Fixture>
{
    private const string ManifestTypes = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json";

    private WharfServer Server => fixture.Server;

    private string Main => $"127.0.0.1:{Server.BaseAddress.Port}";

    [Fact]
    public async Task Docker_pushes_and_pulls_by_the_repository_path_method()
    {
        var config = fixture.NewDirectory("docker-config-");
        var login = (await DockerLoginAsync(config, Main)).Ok();
        Assert.Contains("Login Succeeded", login.Output, StringComparison.Ordinal);
        using var admin = Server.Admin();
        await DockerRoundTripAsync(config, $"{Main}/docker-v2-local/team/app:1.0", admin, "/v2/docker-v2-local/team/app/manifests/1.0");
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/storage/docker-v2-local/team/app/1.0/manifest.json")).StatusCode);
    }

    [Fact]
    public async Task Docker_pushes_and_pulls_through_a_v2_repository_port()
    {
        var port = await CreatePortedRepositoryAsync("docker-ported");
        var config = fixture.NewDirectory("docker-config-");
        (await DockerLoginAsync(config, $"127.0.0.1:{port}")).Ok();
        using var admin = Server.ClientOnPort(port, "admin", WharfServer.AdminPassword);
        await DockerRoundTripAsync(config, $"127.0.0.1:{port}/team/app:2.0", admin, "/v2/team/app/manifests/2.0");

        // It landed in the repository of the port, not in the main listener's.
        Assert.Equal(HttpStatusCode.OK, (await Server.Admin().GetAsync("/api/storage/docker-ported/team/app/2.0/manifest.json")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Server.Admin().GetAsync("/api/storage/docker-v2-local/team/app/2.0")).StatusCode);
    }

    [Fact]
    public async Task Docker_login_writes_an_auths_entry_of_base64_user_colon_password_and_logout_removes_it()
    {
        var config = fixture.NewDirectory("docker-config-");
        (await DockerLoginAsync(config, Main)).Ok();

        // The shape README documents: {"auths":{"127.0.0.1:<port>":{"auth":"<base64 of user:password>"}}}.
        var auth = AssertAuthsEntry(Path.Combine(config, "config.json"), Main);
        Assert.Equal($"admin:{WharfServer.AdminPassword}", Encoding.UTF8.GetString(Convert.FromBase64String(auth)));

        (await DockerAsync(config, ["logout", Main])).Ok();
        using var after = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(config, "config.json")));
        Assert.False(after.RootElement.GetProperty("auths").TryGetProperty(Main, out _), after.RootElement.ToString());
    }

    [Fact]
    public async Task Docker_refuses_a_wrong_password_and_pulls_nothing_anonymously()
    {
        var config = fixture.NewDirectory("docker-config-");
        (await DockerLoginAsync(config, Main, "wrong-password")).Refused("unauthorized");
        Assert.False(HasAuthsEntry(Path.Combine(config, "config.json"), Main), "a refused login stored credentials");

        // An image only a logged-in user may read (anonymous access is on, but grants nothing here).
        var target = $"{Main}/docker-v2-local/team/private:1";
        (await DockerLoginAsync(config, Main)).Ok();
        var local = await DockerImportAsync(config, "private " + Guid.NewGuid());
        (await DockerAsync(config, ["tag", local, target])).Ok();
        (await DockerAsync(config, ["push", target])).Ok();
        (await DockerAsync(config, ["rmi", local, target])).Ok();

        (await DockerAsync(config, ["logout", Main])).Ok();
        (await DockerAsync(config, ["pull", target])).Refused("unauthorized");
        (await DockerAsync(config, ["image", "inspect", target])).Refused("No such image");
    }

    [Fact]
    public async Task Podman_pushes_and_pulls_by_the_repository_path_method()
    {
        var podman = new PodmanStore(fixture.NewDirectory("pm-"));
        var login = (await PodmanLoginAsync(podman, Main)).Ok();
        Assert.Contains("Login Succeeded", login.Output, StringComparison.Ordinal);
        Assert.Equal($"admin:{WharfServer.AdminPassword}", Encoding.UTF8.GetString(Convert.FromBase64String(AssertAuthsEntry(podman.AuthFile, Main))));

        using var admin = Server.Admin();
        await PodmanRoundTripAsync(podman, $"{Main}/docker-v2-local/podman/app:1.0", admin, "/v2/docker-v2-local/podman/app/manifests/1.0");
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/storage/docker-v2-local/podman/app/1.0/manifest.json")).StatusCode);
    }

    [Fact]
    public async Task Podman_pushes_and_pulls_through_a_v2_repository_port()
    {
        var port = await CreatePortedRepositoryAsync("podman-ported");
        var podman = new PodmanStore(fixture.NewDirectory("pm-"));
        (await PodmanLoginAsync(podman, $"127.0.0.1:{port}")).Ok();
        using var admin = Server.ClientOnPort(port, "admin", WharfServer.AdminPassword);
        await PodmanRoundTripAsync(podman, $"127.0.0.1:{port}/podman/app:2.0", admin, "/v2/podman/app/manifests/2.0");
        Assert.Equal(HttpStatusCode.OK, (await Server.Admin().GetAsync("/api/storage/podman-ported/podman/app/2.0/manifest.json")).StatusCode);
    }

    [Fact]
    public async Task Podman_refuses_a_wrong_password_and_pulls_nothing_anonymously()
    {
        var podman = new PodmanStore(fixture.NewDirectory("pm-"));
        (await PodmanLoginAsync(podman, Main, "wrong-password")).Refused("invalid username/password");
        Assert.False(HasAuthsEntry(podman.AuthFile, Main), "a refused login stored credentials");

        var target = $"{Main}/docker-v2-local/podman/private:1";
        (await PodmanLoginAsync(podman, Main)).Ok();
        var local = await PodmanImportAsync(podman, "private " + Guid.NewGuid());
        (await podman.RunAsync(["push", "--tls-verify=false", local, target])).Ok();
        (await podman.RunAsync(["logout", Main])).Ok();
        Assert.False(HasAuthsEntry(podman.AuthFile, Main), "logout left the credentials");
        (await podman.RunAsync(["pull", "--tls-verify=false", target])).Refused("unauthorized");
    }

    /// <summary>
    /// The pitfall README's support matrix warns of: with anonymous access on and no Docker
    /// repository forcing authentication, the key-less <c>/v2/</c> answers anonymous callers 200
    /// (rest-api §3.1), so clients take the registry for one without
    /// authentication and never send their credentials: a login "succeeds" with any password and a
    /// push is refused. <c>forceDockerAuthentication</c> on a repository makes the ping challenge.
    /// </summary>
    [Fact]
    public async Task With_anonymous_access_on_clients_send_credentials_only_once_a_repository_forces_authentication()
    {
        var open = new WharfServer { AddTestAccounts = false };
        await open.InitializeAsync();
        try
        {
            using var admin = open.Admin();
            (await admin.PutAsync("/api/security/anonymousAccess", RegistryHttp.Json("{\"enabled\":true}"))).EnsureSuccessStatusCode();
            var registry = $"127.0.0.1:{open.BaseAddress.Port}";
            var target = $"{registry}/docker-v2-local/team/open:1";
            var podman = new PodmanStore(fixture.NewDirectory("pm-"));
            var local = await PodmanImportAsync(podman, "open " + Guid.NewGuid());

            (await PodmanLoginAsync(podman, registry, "wrong-password")).Ok();
            (await PodmanLoginAsync(podman, registry)).Ok();
            (await podman.RunAsync(["push", "--tls-verify=false", local, target])).Refused("unauthorized");

            (await admin.PostAsync("/api/repositories/docker-v2-local", RegistryHttp.Json("{\"forceDockerAuthentication\":true}"))).EnsureSuccessStatusCode();
            (await PodmanLoginAsync(podman, registry, "wrong-password")).Refused("invalid username/password");
            (await PodmanLoginAsync(podman, registry)).Ok();
            (await podman.RunAsync(["push", "--tls-verify=false", local, target])).Ok();
        }
        finally
        {
            await open.DisposeAsync();
        }
    }

    /// <summary>
    /// Pushes a new image to <paramref name="target"/>, checks the digest docker reports against
    /// the registry's <c>Docker-Content-Digest</c>, removes it locally, pulls it back and reads its file.
    /// </summary>
    private async Task DockerRoundTripAsync(string config, string target, HttpClient registry, string manifestPath)
    {
        var greeting = "hello from docker " + Guid.NewGuid();
        var local = await DockerImportAsync(config, greeting);
        (await DockerAsync(config, ["tag", local, target])).Ok();
        var push = (await DockerAsync(config, ["push", target])).Ok();
        var pushed = PushedDigest().Match(push.Output);
        Assert.True(pushed.Success, push.ToString());
        var digest = pushed.Groups[1].Value;
        Assert.Equal(digest, await RegistryDigestAsync(registry, manifestPath));

        (await DockerAsync(config, ["rmi", local, target])).Ok();
        var pull = (await DockerAsync(config, ["pull", target])).Ok();
        Assert.Contains("Downloaded newer image", pull.Output, StringComparison.Ordinal);
        var repoDigests = (await DockerAsync(config, ["image", "inspect", "--format", "{{json .RepoDigests}}", target])).Ok();
        Assert.Equal([target[..target.LastIndexOf(':')] + "@" + digest], JsonSerializer.Deserialize<string[]>(repoDigests.Output)!);

        // The pulled image holds the pushed file (docker create + docker cp; no container runs).
        var container = (await DockerAsync(config, ["create", target, "/none"])).Ok().Output.Trim();
        var copy = Path.Combine(fixture.NewDirectory("docker-cp-"), "greeting");
        (await DockerAsync(config, ["cp", $"{container}:/etc/greeting", copy])).Ok();
        (await DockerAsync(config, ["rm", container])).Ok();
        Assert.Equal(greeting, await File.ReadAllTextAsync(copy));
        (await DockerAsync(config, ["rmi", target])).Ok();
    }

    /// <summary>The same for podman: <c>--digestfile</c> against the registry, pull, <c>podman image mount</c>.</summary>
    private async Task PodmanRoundTripAsync(PodmanStore podman, string target, HttpClient registry, string manifestPath)
    {
        var greeting = "hello from podman " + Guid.NewGuid();
        var local = await PodmanImportAsync(podman, greeting);
        var digestFile = Path.Combine(fixture.NewDirectory("podman-digest-"), "digest");
        (await podman.RunAsync(["push", "--tls-verify=false", "--digestfile", digestFile, local, target])).Ok();
        var digest = (await File.ReadAllTextAsync(digestFile)).Trim();
        Assert.Equal(digest, await RegistryDigestAsync(registry, manifestPath));

        (await podman.RunAsync(["rmi", local])).Ok();
        (await podman.RunAsync(["pull", "--tls-verify=false", target])).Ok();
        Assert.Equal(digest, (await podman.RunAsync(["image", "inspect", "--format", "{{.Digest}}", target])).Ok().Output.Trim());

        var mounted = (await podman.RunAsync(["image", "mount", target])).Ok().Output.Trim();
        try
        {
            Assert.Equal(greeting, await File.ReadAllTextAsync(Path.Combine(mounted, "etc", "greeting")));
        }
        finally
        {
            (await podman.RunAsync(["image", "unmount", target])).Ok();
        }
    }

    /// <summary><c>docker login</c> as admin, the password by standard input.</summary>
    private Task<ClientRun> DockerLoginAsync(string config, string registry, string password = WharfServer.AdminPassword) =>
        DockerAsync(config, ["login", "-u", "admin", "--password-stdin", registry], password + "\n");

    private static Task<ClientRun> PodmanLoginAsync(PodmanStore podman, string registry, string password = WharfServer.AdminPassword) =>
        podman.RunAsync(["login", "--tls-verify=false", "-u", "admin", "--password-stdin", registry], password + "\n");

    private Task<ClientRun> DockerAsync(string config, IEnumerable<string> arguments, string? input = null) =>
        fixture.Docker.RunAsync(config, arguments, input);

    /// <summary><c>docker import</c> of a one-file rootfs; returns the local image name.</summary>
    private async Task<string> DockerImportAsync(string config, string greeting)
    {
        var name = $"wharf-real/{Guid.NewGuid():N}:1";
        (await DockerAsync(config, ["import", fixture.RootfsTar(greeting), name])).Ok();
        return name;
    }

    private async Task<string> PodmanImportAsync(PodmanStore podman, string greeting)
    {
        var name = $"localhost/wharf-real/{Guid.NewGuid():N}:1";
        (await podman.RunAsync(["import", fixture.RootfsTar(greeting), name])).Ok();
        return name;
    }

    /// <summary>A V2 repository with a free <c>registryPort</c> (its listener is open on return).</summary>
    private async Task<int> CreatePortedRepositoryAsync(string key)
    {
        var port = WharfServer.FreePort();
        using var admin = Server.Admin();
        using var response = await admin.PutAsync($"/api/repositories/{key}",
            RegistryHttp.Json($"{{\"key\":\"{key}\",\"rclass\":\"local\",\"packageType\":\"docker\",\"dockerApiVersion\":\"V2\",\"registryPort\":{port}}}"));
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return port;
    }

    private static async Task<string> RegistryDigestAsync(HttpClient registry, string manifestPath)
    {
        using var head = new HttpRequestMessage(HttpMethod.Head, manifestPath);
        head.Headers.TryAddWithoutValidation("Accept", ManifestTypes);
        using var response = await registry.SendAsync(head);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"HEAD {manifestPath}: {response.StatusCode}");
        return response.Headers.GetValues("Docker-Content-Digest").Single();
    }

    /// <summary>Asserts the credentials file's entry for <paramref name="host"/> is exactly <c>{"auth":"…"}</c>; returns the auth value.</summary>
    private static string AssertAuthsEntry(string file, string host)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(file));
        var entry = json.RootElement.TryGetProperty("auths", out var auths) && auths.TryGetProperty(host, out var found) ? found : default;
        Assert.True(entry.ValueKind == JsonValueKind.Object, $"no auths entry for {host}: {json.RootElement}");
        Assert.Equal(["auth"], entry.EnumerateObject().Select(p => p.Name));
        return entry.GetProperty("auth").GetString()!;
    }

    private static bool HasAuthsEntry(string file, string host)
    {
        if (!File.Exists(file))
        {
            return false;
        }

        using var json = JsonDocument.Parse(File.ReadAllText(file));
        return json.RootElement.TryGetProperty("auths", out var auths) && auths.TryGetProperty(host, out _);
    }

    [GeneratedRegex(@"digest: (sha256:[0-9a-f]{64}) size: \d+")]
    private static partial Regex PushedDigest();

    /// <summary>One Wharf, one private dockerd and one temp folder for the class; all gone after it.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        private readonly string _root = Directory.CreateTempSubdirectory("wharf-rc-").FullName;

        public WharfServer Server { get; } = new();

        internal DockerDaemon Docker { get; private set; } = null!;

        /// <summary>A new folder in the class's temp folder; short, since podman refuses a runroot over 50 characters.</summary>
        public string NewDirectory(string prefix) =>
            Directory.CreateDirectory(Path.Combine(_root, prefix + Guid.NewGuid().ToString("N")[..8])).FullName;

        /// <summary>A rootfs tar of a few KiB: <c>etc/greeting</c> holding <paramref name="greeting"/>.</summary>
        public string RootfsTar(string greeting)
        {
            var path = Path.Combine(NewDirectory("rootfs-"), "rootfs.tar");
            using var file = File.Create(path);
            using var writer = new TarWriter(file, TarEntryFormat.Ustar);
            writer.WriteEntry(new UstarTarEntry(TarEntryType.Directory, "etc/") { Mode = (UnixFileMode)0b111_101_101 });
            writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "etc/greeting")
            {
                Mode = (UnixFileMode)0b110_100_100,
                DataStream = new MemoryStream(Encoding.UTF8.GetBytes(greeting)),
            });
            return path;
        }

        public async Task InitializeAsync()
        {
            var docker = DockerDaemon.StartAsync();
            try
            {
                await Server.InitializeAsync();
            }
            finally
            {
                Docker = await docker;
            }
        }

        public async Task DisposeAsync()
        {
            try
            {
                if (Docker is not null)
                {
                    await Docker.DisposeAsync();
                }
            }
            finally
            {
                await Server.DisposeAsync();
                Directory.Delete(_root, recursive: true);
            }
        }
    }
}
