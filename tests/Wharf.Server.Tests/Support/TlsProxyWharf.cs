using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Wharf.Server.Tests.Support;

public enum WebServerKind
{
    Nginx,
    Apache,
}

/// <summary>The suites that share <see cref="TlsProxyWharf"/>: they run one after another, so one web server holds the ports at a time.</summary>
[CollectionDefinition(Name)]
public sealed class TlsProxySuites : ICollectionFixture<TlsProxyWharf>
{
    public const string Name = "TLS reverse proxies";
}

/// <summary>
/// One Wharf as it runs behind a web server on the same machine (plain HTTP on loopback,
/// <c>Wharf__Docker__RepositoryListeners=false</c>, <c>Wharf__Http__TrustedProxies=127.0.0.1</c>),
/// a CA and server certificate from <c>certificate create --host wharf.test --wildcard --ip 127.0.0.1</c>,
/// a V1 and a V2 repository with a <c>registryPort</c> each, and the files Wharf generates for
/// NGINX and Apache under two access methods: <c>PORTPERREPO</c> (its main server on
/// <see cref="PortMethodPort"/>, the repositories on their ports) and <c>SUBDOMAIN</c> (on
/// <see cref="SubdomainPort"/>), both TLS only. A web server runs both files at once.
/// </summary>
public sealed class TlsProxyWharf : IAsyncLifetime
{
    public const string ServerName = "wharf.test";
    public const string V1Key = "proxied-v1";
    public const string V2Key = "proxied-v2";

    private readonly Dictionary<WebServerKind, List<string>> _sites = [];

    public WharfServer Server { get; } = new()
    {
        ExtraSettings = new Dictionary<string, string?>
        {
            ["Wharf:Docker:RepositoryListeners"] = "false",
            ["Wharf:Http:TrustedProxies"] = "127.0.0.1",
        },
    };

    public TlsFiles Tls { get; private set; } = null!;

    public int V1Port { get; } = WebServers.FreePort();

    public int V2Port { get; } = WebServers.FreePort();

    public int PortMethodPort { get; } = WebServers.FreePort();

    public int SubdomainPort { get; } = WebServers.FreePort();

    /// <summary>Every port the generated files listen on.</summary>
    public IReadOnlyList<int> Ports => [PortMethodPort, V1Port, V2Port, SubdomainPort];

    /// <summary>The generated files for <paramref name="kind"/>: the port method's, then the subdomain method's.</summary>
    public IReadOnlyList<string> Sites(WebServerKind kind) => _sites[kind];

    public async Task InitializeAsync()
    {
        Tls = await TlsFiles.CreateAsync("--host", ServerName, "--wildcard");
        await Server.InitializeAsync();
        using var admin = Server.Admin();
        foreach (var (key, version, port) in new[] { (V1Key, "V1", V1Port), (V2Key, "V2", V2Port) })
        {
            using var created = await admin.PutAsync($"/api/repositories/{key}", Json(
                $$"""{"key":"{{key}}","rclass":"local","packageType":"docker","dockerApiVersion":"{{version}}","registryPort":{{port}}}"""));
            Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        }

        foreach (var (method, sslPort) in new[] { ("PORTPERREPO", PortMethodPort), ("SUBDOMAIN", SubdomainPort) })
        {
            using var post = await admin.PostAsync("/api/system/configuration/webServer", Json(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["serverName"] = ServerName,
                ["dockerReverseProxyMethod"] = method,
                ["artifactoryServerName"] = "127.0.0.1",
                ["artifactoryPort"] = Server.BaseAddress.Port,
                ["useHttp"] = false,
                ["useHttps"] = true,
                ["sslPort"] = sslPort,
                ["sslCertificate"] = Path.Combine(Tls.Directory, "server.crt"),
                ["sslKey"] = Path.Combine(Tls.Directory, "server.key"),
            })));
            Assert.True(post.StatusCode == HttpStatusCode.OK, await post.Content.ReadAsStringAsync());
            foreach (var kind in Enum.GetValues<WebServerKind>())
            {
                var site = await admin.GetStringAsync($"/api/system/configuration/reverseProxy/{kind.ToString().ToLowerInvariant()}");
                (_sites.TryGetValue(kind, out var list) ? list : _sites[kind] = []).Add(site);
            }
        }
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Tls?.Dispose();
    }

    /// <summary>
    /// <paramref name="site"/> as generated, but bound to 127.0.0.1 (tests never listen on other
    /// addresses): the only change, and each listen line it touches must be there as generated.
    /// </summary>
    public string OnLoopback(WebServerKind kind, string site)
    {
        foreach (var port in Ports.Where(p => site.Contains(Listen(kind, p.ToString(CultureInfo.InvariantCulture)), StringComparison.Ordinal)))
        {
            var number = port.ToString(CultureInfo.InvariantCulture);
            site = site.Replace(Listen(kind, number), Listen(kind, "127.0.0.1:" + number), StringComparison.Ordinal);
        }

        Assert.DoesNotMatch(kind == WebServerKind.Nginx ? @"listen [0-9]+ " : @"Listen [0-9]+ ", site);
        return site;
    }

    private static string Listen(WebServerKind kind, string address) =>
        kind == WebServerKind.Nginx ? $"listen {address} ssl;\n" : $"Listen {address} https\n";

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
