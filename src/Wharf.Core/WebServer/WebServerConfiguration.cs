using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;

namespace Wharf.Core.WebServer;

/// <summary>The web server a generated snippet is for (rest-api §7.2 <c>webServerType</c>).</summary>
internal enum WebServerType
{
    Nginx,
    Apache,
}

/// <summary>How docker clients name a repository (rest-api §3.1 <c>dockerReverseProxyMethod</c>).</summary>
internal enum DockerAccessMethod
{
    /// <summary><c>host/&lt;repoKey&gt;/&lt;image&gt;</c>: the first segment after <c>/v2/</c> is the key.</summary>
    RepoPathPrefix,

    /// <summary><c>&lt;repoKey&gt;.&lt;serverName&gt;/&lt;image&gt;</c>: the leftmost DNS label of <c>Host</c> is the key.</summary>
    Subdomain,

    /// <summary><c>host:&lt;registryPort&gt;/&lt;image&gt;</c>: the local port names the key.</summary>
    PortPerRepo,
}

/// <summary>
/// The stored web-server configuration (rest-api §7.2): what a reverse proxy in front of Wharf
/// listens on and forwards to, and the Docker access method, which Wharf's own routing follows too.
/// Every value here ends up verbatim in a web server's configuration file, so <see cref="Problems"/>
/// admits only values that cannot break out of the directive they are written into.
/// </summary>
internal sealed record WebServerConfiguration
{
    /// <summary>Wharf's context path (without slashes); it is fixed, so the upstream context is too.</summary>
    public const string WharfContext = "artifactory";

    public const int MaxPathLength = 4096;

    public string Key { get; init; } = "nginx";

    public WebServerType WebServerType { get; init; } = WebServerType.Nginx;

    /// <summary>The context path on Wharf's side of the proxy: always <see cref="WharfContext"/>.</summary>
    public string ArtifactoryAppContext { get; init; } = WharfContext;

    /// <summary>The context path clients see (one path segment); the proxy maps it onto Wharf's.</summary>
    public string PublicAppContext { get; init; } = WharfContext;

    /// <summary>The public host name (lower case); under <see cref="DockerAccessMethod.Subdomain"/> repositories are <c>&lt;key&gt;.&lt;ServerName&gt;</c>.</summary>
    public string ServerName { get; init; } = "localhost";

    /// <summary>Where the proxy reaches Wharf: a host name or IP address.</summary>
    public string ArtifactoryServerName { get; init; } = "127.0.0.1";

    public int ArtifactoryPort { get; init; } = 8081;

    /// <summary>Absolute path of the PEM certificate (chain) on the web server's machine.</summary>
    public string? SslCertificate { get; init; }

    /// <summary>Absolute path of the PEM private key on the web server's machine.</summary>
    public string? SslKey { get; init; }

    public DockerAccessMethod DockerReverseProxyMethod { get; init; } = DockerAccessMethod.RepoPathPrefix;

    public bool UseHttps { get; init; }

    public bool UseHttp { get; init; } = true;

    public int SslPort { get; init; } = 443;

    public int HttpPort { get; init; } = 80;

    /// <summary>The host names of the subdomain method; always derived from <see cref="ServerName"/>, so the proxy and Wharf agree.</summary>
    public string ServerNameExpression => "*." + ServerName;

    /// <summary>The configuration of an instance where none was stored (rest-api §7.2 defaults).</summary>
    public static WebServerConfiguration Defaults(string serverName, int artifactoryPort) =>
        new() { ServerName = DnsName.IsName(serverName) ? serverName.ToLowerInvariant() : "localhost", ArtifactoryPort = artifactoryPort };

    /// <summary>The ports the web server's main listeners take (plain first).</summary>
    public IEnumerable<int> MainPorts()
    {
        if (UseHttp)
        {
            yield return HttpPort;
        }

        if (UseHttps)
        {
            yield return SslPort;
        }
    }

    /// <summary>Every rule the configuration breaks, as sentences naming the field; empty when it is valid.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (Key.Length is 0 or > 64 || !Key.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
        {
            problems.Add("Field 'key' must be 1 to 64 letters, digits, '.', '_' or '-'.");
        }

        if (ArtifactoryAppContext != WharfContext)
        {
            problems.Add($"Field 'artifactoryAppContext' must be '{WharfContext}': Wharf serves its API and content below /{WharfContext}.");
        }

        if (PublicAppContext.Length is 0 or > 64 || PublicAppContext is "." or ".." || PublicAppContext.ToLowerInvariant() is "v1" or "v2" or "api"
            || !PublicAppContext.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '~'))
        {
            problems.Add("Field 'publicAppContext' must be one path segment of 1 to 64 letters, digits, '.', '_', '-' or '~' (not 'v1', 'v2' or 'api', which docker and the API use at the root).");
        }

        if (!DnsName.IsName(ServerName))
        {
            problems.Add($"Field 'serverName' ('{ServerName}') must be a DNS name: labels of letters, digits and '-' joined by dots.");
        }

        if (!IsHost(ArtifactoryServerName))
        {
            problems.Add($"Field 'artifactoryServerName' ('{ArtifactoryServerName}') must be a DNS name or an IP address.");
        }

        foreach (var (name, port) in new[] { ("artifactoryPort", ArtifactoryPort), ("httpPort", HttpPort), ("sslPort", SslPort) })
        {
            if (port is < 1 or > 65535)
            {
                problems.Add($"Field '{name}' must be a port from 1 to 65535.");
            }
        }

        if (!UseHttp && !UseHttps)
        {
            problems.Add("At least one of 'useHttp' and 'useHttps' must be true.");
        }

        if (UseHttp && UseHttps && HttpPort == SslPort)
        {
            problems.Add($"Fields 'httpPort' and 'sslPort' must differ (both are {HttpPort}).");
        }

        if (UseHttps && (string.IsNullOrEmpty(SslCertificate) || string.IsNullOrEmpty(SslKey)))
        {
            problems.Add("Fields 'sslCertificate' and 'sslKey' are required when 'useHttps' is true.");
        }

        foreach (var (name, path) in new[] { ("sslCertificate", SslCertificate), ("sslKey", SslKey) })
        {
            if (!string.IsNullOrEmpty(path) && !IsPath(path))
            {
                problems.Add($"Field '{name}' must be an absolute path of at most {MaxPathLength} characters made of letters, digits and / . _ - + @ = , : ~.");
            }
        }

        return problems;
    }

    /// <summary>
    /// What the repositories make of this configuration: under the subdomain method every key must
    /// be a DNS label; under the port method no repository port may be a main listener's port.
    /// </summary>
    public IReadOnlyList<string> RepositoryProblems(IEnumerable<RepositoryConfig> repositories)
    {
        var problems = new List<string>();
        if (DockerReverseProxyMethod == DockerAccessMethod.Subdomain
            && repositories.Where(r => !DnsName.IsLabel(r.Key)).Select(r => r.Key).Order(StringComparer.Ordinal).ToList() is { Count: > 0 } keys)
        {
            problems.Add($"The access method SUBDOMAIN needs every Docker repository key to be a DNS label (at most {DnsName.MaxLabelLength} letters, digits and '-', no '.'); "
                + $"these are not: {string.Join(", ", keys.Select(k => $"'{k}'"))}.");
        }

        if (DockerReverseProxyMethod == DockerAccessMethod.PortPerRepo)
        {
            var main = MainPorts().ToHashSet();
            foreach (var repository in repositories.Where(r => r.RegistryPort is { } port && main.Contains(port)).OrderBy(r => r.Key, StringComparer.Ordinal))
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"Repository '{repository.Key}' has registryPort {repository.RegistryPort}, which the web server's main listener takes."));
            }
        }

        return problems;
    }

    /// <summary>The problem a repository key makes under this configuration, or null.</summary>
    public string? KeyProblem(string key) =>
        DockerReverseProxyMethod == DockerAccessMethod.Subdomain && !DnsName.IsLabel(key)
            ? $"Repository key '{key}' cannot be used while the Docker access method is SUBDOMAIN: the key becomes the host name '{key}.{ServerName}', "
              + $"so it must be a DNS label (at most {DnsName.MaxLabelLength} lower-case letters, digits and '-', no '.', not ending with '-')."
            : null;

    /// <summary>The upstream's host as a URL authority part: IPv6 literals in brackets.</summary>
    public string UpstreamHost =>
        IPAddress.TryParse(ArtifactoryServerName.Trim('[', ']'), out var address) && address.AddressFamily == AddressFamily.InterNetworkV6
            ? $"[{ArtifactoryServerName.Trim('[', ']')}]"
            : ArtifactoryServerName;

    /// <summary>A DNS name, or an IP literal as written in a URL or without its brackets (no IPv6 zone: it has no place in a URL).</summary>
    private static bool IsHost(string host)
    {
        var literal = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        return DnsName.IsName(host)
            || (literal.All(c => char.IsAsciiHexDigit(c) || c is ':' or '.') && IPAddress.TryParse(literal, out var address)
                && (address.AddressFamily == AddressFamily.InterNetworkV6 || literal == host));
    }

    private static bool IsPath(string path) =>
        path.Length <= MaxPathLength && path.StartsWith('/')
        && path.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '_' or '-' or '+' or '@' or '=' or ',' or ':' or '~');
}
