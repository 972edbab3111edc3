using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>
/// Wharf's own TLS with real clients that verify it: the certificate command's CA and server
/// certificate, Kestrel on https://127.0.0.1 beside http://127.0.0.1, then curl with
/// <c>--cacert</c>, skopeo with <c>--dest-cert-dir</c>/<c>--src-cert-dir</c> and a docker
/// <c>config.json</c> as <c>--authfile</c>, and .NET's HttpClient over HTTP/2. Never
/// <c>-k</c> or <c>--tls-verify=false</c>.
/// </summary>
public sealed class TlsServerTests(TlsServerTests.Fixture fixture) : IClassFixture<TlsServerTests.Fixture>
{
    private WharfServer Server => fixture.Server;

    private TlsFiles Tls => fixture.Tls;

    private Uri Https => Server.HttpsAddress!;

    private string Registry => $"127.0.0.1:{Https.Port}";

    [Fact]
    public async Task Curl_verifies_the_certificate_by_ip_and_by_name_and_http_stays_on_beside_it()
    {
        var ping = await Cli.RunAsync("curl", "-sS", "--cacert", Tls.CaFile, new Uri(Https, "/api/system/ping").ToString());
        Assert.True(ping.ExitCode == 0, ping.Error);
        Assert.Equal("OK", ping.Output);

        // The bare /v2/ of the repository-path method: a registry answer over verified TLS.
        var v2 = await Cli.RunAsync("curl", "-sS", "-D", "-", "-o", "/dev/null", "--cacert", Tls.CaFile, new Uri(Https, "/v2/").ToString());
        Assert.True(v2.ExitCode == 0, v2.Error);
        Assert.Contains("docker-distribution-api-version: registry/2.0", v2.Output, StringComparison.OrdinalIgnoreCase);

        // By name: the certificate names localhost too (curl resolves it to 127.0.0.1 here).
        var byName = await Cli.RunAsync("curl", "-sS", "--cacert", Tls.CaFile, "--resolve", $"localhost:{Https.Port}:127.0.0.1", $"https://localhost:{Https.Port}/api/system/ping");
        Assert.True(byName.ExitCode == 0, byName.Error);

        // Without the CA curl refuses: the check is real.
        var untrusted = await Cli.RunAsync("curl", "-sS", new Uri(Https, "/api/system/ping").ToString());
        Assert.Equal(60, untrusted.ExitCode);
        Assert.Contains("unable to get local issuer certificate", untrusted.Error, StringComparison.Ordinal);

        // A name the certificate does not carry is refused too.
        var otherName = await Cli.RunAsync("curl", "-sS", "--cacert", Tls.CaFile, "--resolve", $"other.test:{Https.Port}:127.0.0.1", $"https://other.test:{Https.Port}/api/system/ping");
        Assert.NotEqual(0, otherName.ExitCode);

        var http = await Cli.RunAsync("curl", "-sS", new Uri(Server.BaseAddress, "/api/system/ping").ToString());
        Assert.Equal((0, "OK"), (http.ExitCode, http.Output));
        Assert.NotEqual(Server.BaseAddress.Port, Https.Port);
    }

    [Fact]
    public async Task A_repository_port_serves_tls_when_the_main_listener_does()
    {
        var port = await Server.OwnPortAsync("docker-v2-local");
        var v2 = await Cli.RunAsync("curl", "-sS", "-D", "-", "-o", "/dev/null", "--cacert", Tls.CaFile, $"https://127.0.0.1:{port}/v2/");
        Assert.True(v2.ExitCode == 0, v2.Error);
        Assert.Matches(@"^HTTP/[0-9.]+ 401", v2.Output);
        Assert.Contains($"realm=\"https://127.0.0.1:{port}/artifactory/api/docker/docker-v2-local/v2/token\"", v2.Output, StringComparison.Ordinal);

        // One scheme per port: the repository's port speaks only TLS.
        var plain = await Cli.RunAsync("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", $"http://127.0.0.1:{port}/v2/");
        Assert.NotEqual("401", plain.Output);
    }

    [Fact]
    public async Task Https_speaks_http2_and_openssl_verifies_it()
    {
        using var client = Tls.Client(Https, "admin", WharfServer.AdminPassword);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/repositories") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpVersion.Version20, response.Version);

        var chain = await Cli.RunAsync("openssl", "s_client", "-connect", Registry, "-showcerts", "-CAfile", Tls.CaFile, "-verify_return_error");
        Assert.Contains("Verify return code: 0 (ok)", chain.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_large_blob_downloads_whole_over_tls_on_http11_and_http2()
    {
        // 1 MiB and more goes out with sendfile(2) on plain HTTP; over TLS it must go through Kestrel.
        var blob = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 17);
        using (var admin = Server.Admin())
        {
            await V2Push.PushBlobAsync(admin, "docker-v2-local", "tls/big", blob);
        }

        foreach (var protocol in new[] { "--http1.1", "--http2" })
        {
            var file = Path.Combine(fixture.NewDirectory(), "blob");
            var get = await Cli.RunAsync("curl", "-sS", "-f", protocol, "--cacert", Tls.CaFile, "-u", $"admin:{WharfServer.AdminPassword}", "-o", file,
                new Uri(Https, $"/v2/docker-v2-local/tls/big/blobs/{V2Push.Digest(blob)}").ToString());
            Assert.True(get.ExitCode == 0, get.Error);
            Assert.Equal(V2Push.Digest(blob), V2Push.Digest(await File.ReadAllBytesAsync(file)));
        }
    }

    [Fact]
    public async Task Skopeo_pushes_and_pulls_over_verified_tls_with_the_ca_in_its_cert_dirs()
    {
        var layout = fixture.NewDirectory();
        var (manifestDigest, _) = OciLayout.Write(layout, "1.0", layerCount: 2);
        await Skopeo("copy", "--dest-creds", $"admin:{WharfServer.AdminPassword}", "--dest-cert-dir", Tls.CertDir,
            $"oci:{layout}:1.0", $"docker://{Registry}/docker-v2-local/tls/app:1.0");

        var inspect = JsonDocument.Parse(await Skopeo("inspect", "--creds", $"admin:{WharfServer.AdminPassword}", "--cert-dir", Tls.CertDir, $"docker://{Registry}/docker-v2-local/tls/app:1.0")).RootElement;
        Assert.Equal(manifestDigest, inspect.GetProperty("Digest").GetString());

        var back = fixture.NewDirectory();
        await Skopeo("copy", "--src-creds", $"admin:{WharfServer.AdminPassword}", "--src-cert-dir", Tls.CertDir,
            $"docker://{Registry}/docker-v2-local/tls/app:1.0", $"oci:{back}:1.0");
        foreach (var blob in Directory.EnumerateFiles(Path.Combine(layout, "blobs", "sha256")))
        {
            Assert.Equal(await File.ReadAllBytesAsync(blob), await File.ReadAllBytesAsync(Path.Combine(back, "blobs", "sha256", Path.GetFileName(blob))));
        }

        // The same over plain HTTP on the other listener: one instance serves both.
        var overHttp = JsonDocument.Parse(await Skopeo("inspect", "--creds", $"admin:{WharfServer.AdminPassword}", "--tls-verify=false",
            $"docker://127.0.0.1:{Server.BaseAddress.Port}/docker-v2-local/tls/app:1.0")).RootElement;
        Assert.Equal(manifestDigest, overHttp.GetProperty("Digest").GetString());
    }

    [Fact]
    public async Task Without_the_ca_skopeo_fails_with_the_unknown_authority_error()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Skopeo("inspect", "--creds", $"admin:{WharfServer.AdminPassword}",
            $"docker://{Registry}/docker-v2-local/tls/none:1"));
        Assert.Contains("x509: certificate signed by unknown authority", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// The <c>~/.docker/config.json</c> docker 1.x writes at <c>docker login</c>: <c>auths</c> keyed by
    /// the address as typed (<c>https://host:port</c> for a V1-era login, <c>host:port</c> later),
    /// <c>auth</c> = base64 of <c>user:password</c>, and the <c>email</c> docker 1.x asked for.
    /// skopeo reads that format with <c>--authfile</c>.
    /// </summary>
    [Theory]
    [InlineData("https://{0}")]
    [InlineData("{0}")]
    public async Task A_docker_1x_config_json_logs_skopeo_in_over_tls(string keyFormat)
    {
        var authFile = AuthFile(string.Format(System.Globalization.CultureInfo.InvariantCulture, keyFormat, Registry), "admin", WharfServer.AdminPassword);
        var layout = fixture.NewDirectory();
        var (manifestDigest, _) = OciLayout.Write(layout, "1", layerCount: 1);
        var image = $"docker://{Registry}/docker-v2-local/tls/authfile-{Guid.NewGuid():N}:1";
        await Skopeo("copy", "--dest-authfile", authFile, "--dest-cert-dir", Tls.CertDir, $"oci:{layout}:1", image);
        var inspect = JsonDocument.Parse(await Skopeo("inspect", "--authfile", authFile, "--cert-dir", Tls.CertDir, image)).RootElement;
        Assert.Equal(manifestDigest, inspect.GetProperty("Digest").GetString());

        // The file's credentials are what is used: a wrong password in it is refused.
        var wrong = AuthFile(string.Format(System.Globalization.CultureInfo.InvariantCulture, keyFormat, Registry), "admin", "not-the-password");
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Skopeo("copy", "--dest-authfile", wrong, "--dest-cert-dir", Tls.CertDir, $"oci:{layout}:1", image + "-again"));
        Assert.Contains("unauthorized", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    private string AuthFile(string key, string user, string password)
    {
        var path = Path.Combine(fixture.NewDirectory(), "config.json");
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));
        File.WriteAllText(path, JsonSerializer.Serialize(new { auths = new Dictionary<string, object> { [key] = new { auth, email = "admin@example.com" } } }));
        return path;
    }

    private static Task<string> Skopeo(params string[] arguments) => Cli.SkopeoAsync(arguments);

    /// <summary>A server with the certificate command's files on https and http, V2 by the repository-path method.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        private readonly List<string> _directories = [];

        public TlsFiles Tls { get; private set; } = null!;

        public WharfServer Server { get; private set; } = null!;

        public string NewDirectory()
        {
            var path = Path.Combine(Path.GetTempPath(), "wharf-tls-test-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(path);
            _directories.Add(path);
            return path;
        }

        public async Task InitializeAsync()
        {
            Tls = await TlsFiles.CreateAsync();
            Server = new WharfServer
            {
                TlsDirectory = Tls.Directory,
                ExtraSettings = new Dictionary<string, string?> { ["Wharf:Docker:DefaultRepository"] = "docker-v2-local" },
            };
            await Server.InitializeAsync();
        }

        public async Task DisposeAsync()
        {
            await Server.DisposeAsync();
            Tls.Dispose();
            foreach (var directory in _directories)
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }
}
