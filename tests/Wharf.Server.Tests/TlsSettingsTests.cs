using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Wharf.Server.Hosting;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>
/// <c>Wharf:Tls</c> checked at start-up through the app builder: every unusable certificate, key
/// or password stops the start with a sentence naming the setting (exit code 2 in Program) and
/// nothing written; what clients may object to (expired, a host it does not name, no https URL)
/// is a warning and the server runs. Working variants (PKCS#12, encrypted PEM key, key inside the
/// certificate file) serve a verified https request.
/// </summary>
public sealed class TlsSettingsTests(TlsSettingsTests.Fixture fixture) : IClassFixture<TlsSettingsTests.Fixture>
{
    private const string Https = "https://127.0.0.1:0;http://127.0.0.1:0";

    private TlsFiles Tls => fixture.Tls;

    private string File(string name) => Path.Combine(Tls.Directory, name);

    public static TheoryData<string, string, string?, string?, string?, string> Refusals() => new()
    {
        // urls, certificate, key, password, what the message says
        { "no certificate for https", Https, null, null, null, "is https:// but Wharf:Tls:Certificate is not set" },
        { "key without certificate", "http://127.0.0.1:0", null, "server.key", null, "Wharf:Tls:Key or Wharf:Tls:Password is set but Wharf:Tls:Certificate is not" },
        { "certificate missing", Https, "nosuch.crt", "server.key", null, "Wharf:Tls:Certificate '{dir}/nosuch.crt' does not exist" },
        { "certificate unreadable", Https, "cert-dir", "server.key", null, "Wharf:Tls:Certificate '{dir}/cert-dir' cannot be read" },
        { "key missing", Https, "server.crt", "nosuch.key", null, "Wharf:Tls:Key '{dir}/nosuch.key' does not exist" },
        { "no key for a pem certificate", Https, "server.crt", null, null, "Wharf:Tls:Key is not set and '{dir}/server.crt' holds no private key" },
        { "key file without a key", Https, "server.crt", "ca.crt", null, "Wharf:Tls:Key '{dir}/ca.crt' holds no PEM private key" },
        { "key of another certificate", Https, "server.crt", "ca.key", null, "Wharf:Tls:Key '{dir}/ca.key' is not the private key of the certificate in '{dir}/server.crt' (CN=localhost)" },
        { "rsa key for an ecdsa certificate", Https, "server.crt", "rsa.key", null, "Wharf:Tls:Key '{dir}/rsa.key' is not the private key of the certificate" },
        { "encrypted key without password", Https, "server.crt", "encrypted.key", null, "Wharf:Tls:Key '{dir}/encrypted.key' is encrypted: set Wharf:Tls:Password" },
        { "encrypted key, wrong password", Https, "server.crt", "encrypted.key", "wrong-password", "Wharf:Tls:Password does not decrypt the key '{dir}/encrypted.key' (wrong password)" },
        { "pfx, wrong password", Https, "server.pfx", null, "wrong-password", "Wharf:Tls:Password does not open '{dir}/server.pfx' (wrong password)" },
        { "pfx, no password", Https, "server.pfx", null, null, "Wharf:Tls:Certificate '{dir}/server.pfx' is protected by a password: set Wharf:Tls:Password" },
        { "pfx without private key", Https, "nokey.pfx", null, "pfx-password", "Wharf:Tls:Certificate '{dir}/nokey.pfx' holds no private key" },
        { "pfx with a key setting", Https, "server.pfx", "server.key", "pfx-password", "Wharf:Tls:Key is set but '{dir}/server.pfx' is not a PEM certificate" },
        { "neither pem nor pkcs12", Https, "garbage.bin", null, null, "Wharf:Tls:Certificate '{dir}/garbage.bin' is neither a PEM certificate nor a PKCS#12 file" },
        { "empty pem", Https, "empty.pem", "server.key", null, "Wharf:Tls:Certificate '{dir}/empty.pem' holds no PEM certificate" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task An_unusable_setting_stops_the_start_with_a_clear_message_and_writes_nothing(string scenario, string urls, string? certificate, string? key, string? password, string message)
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "wharf-never-" + Guid.NewGuid().ToString("N"));
        var before = Snapshot();
        var error = await Assert.ThrowsAsync<WharfApp.InvalidSettingsException>(() => WharfApp.BuildAsync([], builder =>
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["urls"] = urls,
                ["Wharf:DataDir"] = dataDir,
                ["Wharf:Tls:Certificate"] = certificate is null ? null : File(certificate),
                ["Wharf:Tls:Key"] = key is null ? null : File(key),
                ["Wharf:Tls:Password"] = password,
            })));
        var problem = Assert.Single(error.Problems);
        Assert.True(problem.Contains(message.Replace("{dir}", Tls.Directory, StringComparison.Ordinal), StringComparison.Ordinal), $"{scenario}: {problem}");
        Assert.False(Directory.Exists(dataDir), scenario);
        Assert.Equal(before, Snapshot());
    }

    [Fact]
    public async Task Tls_problems_are_listed_with_every_other_problem()
    {
        var error = await Assert.ThrowsAsync<WharfApp.InvalidSettingsException>(() => WharfApp.BuildAsync([], builder =>
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["urls"] = Https,
                ["Wharf:DataDir"] = Path.Combine(Path.GetTempPath(), "wharf-never-" + Guid.NewGuid().ToString("N")),
                ["Wharf:Admin:Password"] = "short",
            })));
        Assert.Equal(2, error.Problems.Count);
        Assert.Contains("Wharf:Admin:Password", error.Message, StringComparison.Ordinal);
        Assert.Contains("Wharf:Tls:Certificate is not set", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("server.pfx", null, "pfx-password")]
    [InlineData("server.crt", "encrypted.key", "key-password")]
    [InlineData("combined.pem", null, null)]
    [InlineData("server.crt", "server.key", null)]
    public async Task Pem_pkcs12_and_encrypted_keys_serve_verified_https(string certificate, string? key, string? password)
    {
        await using var server = await StartAsync(new()
        {
            ["Wharf:Tls:Certificate"] = File(certificate),
            ["Wharf:Tls:Key"] = key is null ? null : File(key),
            ["Wharf:Tls:Password"] = password,
        });
        using var client = Tls.Client(server.Server.HttpsAddress!);
        Assert.Equal("OK", await client.GetStringAsync("/api/system/ping"));
        Assert.DoesNotContain(server.Server.Logs.Entries, e => e.Level >= LogLevel.Warning);
    }

    [Fact]
    public async Task The_intermediates_of_a_pem_chain_are_sent_to_clients_that_trust_only_the_root()
    {
        await using var server = await StartAsync(new() { ["Wharf:Tls:Certificate"] = File("chain.crt"), ["Wharf:Tls:Key"] = File("chain.key") });
        var sent = await Cli.RunAsync("openssl", "s_client", "-connect", $"127.0.0.1:{server.Server.HttpsAddress!.Port}", "-showcerts", "-CAfile", File("root.crt"), "-verify_return_error");
        Assert.Contains("Verify return code: 0 (ok)", sent.Output, StringComparison.Ordinal);
        Assert.Equal(2, sent.Output.Split("-----BEGIN CERTIFICATE-----").Length - 1);
        var curl = await Cli.RunAsync("curl", "-sS", "--cacert", File("root.crt"), new Uri(server.Server.HttpsAddress, "/api/system/ping").ToString());
        Assert.Equal((0, "OK"), (curl.ExitCode, curl.Output));
    }

    [Fact]
    public async Task An_expired_certificate_is_served_with_a_warning()
    {
        await using var server = await StartAsync(new() { ["Wharf:Tls:Certificate"] = File("expired.crt"), ["Wharf:Tls:Key"] = File("expired.key") });
        Assert.Contains(server.Server.Logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("has expired", StringComparison.Ordinal));

        // Served all the same: curl refuses it, plain HTTP works on.
        var curl = await Cli.RunAsync("curl", "-sS", "--cacert", File("expired-ca.crt"), new Uri(server.Server.HttpsAddress!, "/api/system/ping").ToString());
        Assert.Contains("expired", curl.Error, StringComparison.Ordinal);
        using var http = server.Server.Client();
        Assert.Equal("OK", await http.GetStringAsync("/api/system/ping"));
    }

    [Fact]
    public async Task A_certificate_that_does_not_name_the_listen_address_draws_a_warning()
    {
        await using var server = await StartAsync(new() { ["Wharf:Tls:Certificate"] = File("other.crt"), ["Wharf:Tls:Key"] = File("other.key") });
        Assert.Contains(server.Server.Logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("does not name '127.0.0.1'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_certificate_without_an_https_url_draws_a_warning()
    {
        await using var server = await StartAsync(new()
        {
            ["urls"] = "http://127.0.0.1:0",
            ["Wharf:Tls:Certificate"] = File("server.crt"),
            ["Wharf:Tls:Key"] = File("server.key"),
        });
        Assert.Null(server.Server.HttpsAddress);
        Assert.Contains(server.Server.Logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("no listen address is https://", StringComparison.Ordinal));
    }

    [Fact]
    public void Https_urls_are_found_among_the_listen_addresses()
    {
        Assert.True(TlsSettings.ServesHttps("http://127.0.0.1:8081; HTTPS://0.0.0.0:8443"));
        Assert.False(TlsSettings.ServesHttps("http://127.0.0.1:8081;http://[::1]:8081"));
        Assert.False(TlsSettings.ServesHttps((string?)null));
        Assert.Equal(["https://*:443"], TlsSettings.HttpsUrls("https://*:443;http://*:80"));
        Assert.True(TlsSettings.ServesHttps(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["urls"] = "https://+:8443" }).Build()));
    }

    /// <summary>Every file of the certificate folder with its bytes, to prove a refused start changed none.</summary>
    private Dictionary<string, string> Snapshot() =>
        Directory.EnumerateFiles(Tls.Directory, "*", SearchOption.AllDirectories).ToDictionary(f => f, f => Convert.ToHexString(SHA256.HashData(System.IO.File.ReadAllBytes(f))));

    private static async Task<Started> StartAsync(Dictionary<string, string?> settings)
    {
        var server = new WharfServer { ExtraSettings = new Dictionary<string, string?> { ["urls"] = Https }.Concat(settings).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value), AddTestAccounts = false };
        await server.InitializeAsync();
        return new Started(server);
    }

    private sealed record Started(WharfServer Server) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await Server.DisposeAsync();
    }

    /// <summary>The certificate command's files and the variants the cases above need, written once.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        public TlsFiles Tls { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Tls = await TlsFiles.CreateAsync();
            string Path(string name) => System.IO.Path.Combine(Tls.Directory, name);
            using var server = X509Certificate2.CreateFromPemFile(Path("server.crt"), Path("server.key"));
            await System.IO.File.WriteAllBytesAsync(Path("server.pfx"), server.Export(X509ContentType.Pkcs12, "pfx-password"));
            using var publicOnly = X509CertificateLoader.LoadCertificate(server.RawData);
            await System.IO.File.WriteAllBytesAsync(Path("nokey.pfx"), new X509Certificate2Collection(publicOnly).Export(X509ContentType.Pkcs12, "pfx-password")!);
            using (var key = server.GetECDsaPrivateKey()!)
            {
                await System.IO.File.WriteAllTextAsync(Path("encrypted.key"), key.ExportEncryptedPkcs8PrivateKeyPem("key-password", new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 100_000)));
                await System.IO.File.WriteAllTextAsync(Path("combined.pem"), server.ExportCertificatePem() + "\n" + key.ExportPkcs8PrivateKeyPem() + "\n");
            }

            using (var rsa = RSA.Create(2048))
            {
                await System.IO.File.WriteAllTextAsync(Path("rsa.key"), rsa.ExportRSAPrivateKeyPem());
            }

            await System.IO.File.WriteAllBytesAsync(Path("garbage.bin"), RandomNumberGenerator.GetBytes(300));
            await System.IO.File.WriteAllTextAsync(Path("empty.pem"), "-----BEGIN NOTHING-----\n-----END NOTHING-----\n");

            // Expired: issued 400 days ago for 30 days. Other: names only other.test.
            var longAgo = DateTimeOffset.UtcNow.AddDays(-400);
            using var oldCa = CertificateMaker.CreateCa("expired", CertificateKeyKind.Ecdsa, longAgo, TimeSpan.FromDays(3650));
            using var expired = CertificateMaker.CreateServer(oldCa, new ServerCertificateSpec([], [IPAddress.Loopback], false, 30, CertificateKeyKind.Ecdsa), longAgo);
            await System.IO.File.WriteAllTextAsync(Path("expired-ca.crt"), oldCa.ExportCertificatePem());
            await System.IO.File.WriteAllTextAsync(Path("expired.crt"), expired.ExportCertificatePem());
            await System.IO.File.WriteAllTextAsync(Path("expired.key"), CertificateMaker.PrivateKeyPem(expired));
            using var other = CertificateMaker.CreateServer(oldCa, new ServerCertificateSpec(["other.test"], [], false, 1000, CertificateKeyKind.Rsa), DateTimeOffset.UtcNow);
            await System.IO.File.WriteAllTextAsync(Path("other.crt"), other.ExportCertificatePem());
            await System.IO.File.WriteAllTextAsync(Path("other.key"), CertificateMaker.PrivateKeyPem(other));
            await WriteChainAsync(Path);
        }

        /// <summary>root.crt, and chain.crt (server certificate, then an intermediate CA) with chain.key: what a public CA hands out.</summary>
        private static async Task WriteChainAsync(Func<string, string> path)
        {
            var now = DateTimeOffset.UtcNow;
            using var rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var rootRequest = new CertificateRequest("CN=Test Root", rootKey, HashAlgorithmName.SHA256);
            rootRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 1, true));
            rootRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
            using var root = rootRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(100));
            using var middleKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var middleRequest = new CertificateRequest("CN=Test Intermediate", middleKey, HashAlgorithmName.SHA256);
            middleRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
            middleRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
            using var middlePublic = middleRequest.Create(root, now.AddDays(-1), now.AddDays(90), [1, 2, 3]);
            using var middle = middlePublic.CopyWithPrivateKey(middleKey);
            using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var leafRequest = new CertificateRequest("CN=127.0.0.1", leafKey, HashAlgorithmName.SHA256);
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            leafRequest.CertificateExtensions.Add(names.Build());
            using var leaf = leafRequest.Create(middle, now.AddDays(-1), now.AddDays(80), [4, 5, 6]);
            await System.IO.File.WriteAllTextAsync(path("root.crt"), root.ExportCertificatePem());
            await System.IO.File.WriteAllTextAsync(path("chain.crt"), leaf.ExportCertificatePem() + "\n" + middle.ExportCertificatePem() + "\n");
            await System.IO.File.WriteAllTextAsync(path("chain.key"), leafKey.ExportPkcs8PrivateKeyPem());
        }

        public Task DisposeAsync()
        {
            Tls.Dispose();
            return Task.CompletedTask;
        }
    }
}
