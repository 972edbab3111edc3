using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Wharf.Server.Hosting;

namespace Wharf.Server.Http;

/// <summary>
/// Every absolute URL Wharf emits is built here (rest-api §1.1), so reverse proxies, per-repository
/// ports and host names need no change in the endpoints.
/// </summary>
internal sealed class PublicUrls(IOptions<WharfOptions> options)
{
    public const string ContextPath = "/artifactory";

    /// <summary>
    /// The public base URL including the context path, without a trailing slash; always a valid
    /// absolute http(s) URL (callers parse it, e.g. for the V2 challenge's service). From a trusted
    /// proxy (<see cref="ProxyPeer"/>), its JFrog override headers, then its forwarded scheme and host
    /// (already applied to the request) with <c>X-Forwarded-Port</c>, come before
    /// <c>Wharf:BaseUrl</c>; from anyone else those headers are ignored. A forwarded value that forms
    /// no such URL (a scheme other than http or https, a host and port that are no authority) is
    /// ignored as if it had not been sent, and the connection's own scheme and host take its place.
    /// </summary>
    public string BaseUrl(HttpRequest request)
    {
        var context = request.HttpContext;
        var proxy = ProxyPeer.Of(context);
        var ownScheme = HttpScheme(proxy?.OwnScheme ?? request.Scheme) ?? "http";
        var ownHost = proxy?.OwnHost ?? request.Host;
        if (proxy is not null)
        {
            foreach (var header in new[] { "X-JFrog-Override-Base-Url", "X-Artifactory-Override-Base-Url" })
            {
                if (request.Headers[header].ToString() is { Length: > 0 } overridden && IsBaseUrl(overridden))
                {
                    return overridden.TrimEnd('/');
                }
            }

            var scheme = proxy.ForwardedProto ? HttpScheme(request.Scheme) : null;
            var host = proxy.ForwardedHost && Url(scheme ?? ownScheme, request.Host.Host, request.Host.Port) is not null ? request.Host : (HostString?)null;
            if (host is { } forwarded)
            {
                // A forwarded host keeps its own port unless X-Forwarded-Port names one.
                return Url(scheme ?? ownScheme, forwarded.Host, proxy.ForwardedPort ?? forwarded.Port)!;
            }

            if (scheme is not null)
            {
                // The request's own Host names the proxy's side of the connection, so only X-Forwarded-Port counts.
                var (name, _) = OwnAuthority(context, ownScheme, ownHost);
                return Url(scheme, name, proxy.ForwardedPort) ?? Url(scheme, name, null)!;
            }
        }

        if (options.Value.BaseUrl is { } configured)
        {
            return configured.TrimEnd('/');
        }

        var (ownName, ownPort) = OwnAuthority(context, ownScheme, ownHost);
        return Url(ownScheme, ownName, ownPort)!;
    }

    /// <summary>
    /// The <c>X-Docker-Endpoints</c> value: the request's Host header verbatim, never a scheme,
    /// path or configured URL (docker-v1-protocol §6.3.1); without one, the local address (an IPv6
    /// one in brackets) and port.
    /// </summary>
    public static string DockerEndpoint(HttpContext context) =>
        context.Request.Host.HasValue
            ? context.Request.Host.Value!
            : $"{LocalAddress(context)}:{context.Connection.LocalPort}";

    /// <summary>
    /// The host and port the connection names itself by: its Host header when that forms a URL, else
    /// (HTTP/1.0 may come without Host; Kestrel checks a Host's characters, not its port's range) the
    /// address the request arrived on.
    /// </summary>
    private static (string Host, int? Port) OwnAuthority(HttpContext context, string scheme, HostString host) =>
        Url(scheme, host.Host, host.Port) is not null ? (host.Host, host.Port)
        : Url(scheme, LocalAddress(context), context.Connection.LocalPort) is not null ? (LocalAddress(context), context.Connection.LocalPort)
        : ("localhost", null);

    /// <summary>The local address as a URL host: IPv6 literals in brackets (RFC 3986 §3.2.2); <c>localhost</c> when there is none (not a TCP connection).</summary>
    private static string LocalAddress(HttpContext context)
    {
        var address = context.Connection.LocalIpAddress;
        if (address is { IsIPv4MappedToIPv6: true })
        {
            address = address.MapToIPv4();
        }

        return address is null ? "localhost" : address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
    }

    /// <summary>
    /// <c>scheme://host[:port]/artifactory</c> when that is a valid absolute URL whose authority is
    /// exactly a DNS name or IP literal and that port (1–65535; left out when the scheme's default);
    /// else null. An IPv6 literal may come with or without its brackets.
    /// </summary>
    private static string? Url(string scheme, string host, int? port)
    {
        if (host.Length == 0 || port is < 1 or > 65535)
        {
            return null;
        }

        var literal = host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]" : host;
        var authority = port is { } p && !IsDefaultPort(scheme, p) ? $"{literal}:{p}" : literal;
        var url = $"{scheme}://{authority}{ContextPath}";
        return Uri.TryCreate(url, UriKind.Absolute, out var uri)
            && uri.HostNameType is UriHostNameType.Dns or UriHostNameType.IPv4 or UriHostNameType.IPv6
            && uri.UserInfo.Length == 0 && uri.AbsolutePath == ContextPath && uri.Query.Length == 0 && uri.Fragment.Length == 0
            && uri.Port == (port ?? (scheme == "https" ? 443 : 80))
            ? url
            : null;
    }

    /// <summary>Whether an override header names a usable base: an absolute http(s) URL without user, query or fragment.</summary>
    private static bool IsBaseUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
        && uri.HostNameType is UriHostNameType.Dns or UriHostNameType.IPv4 or UriHostNameType.IPv6
        && uri.UserInfo.Length == 0 && uri.Query.Length == 0 && uri.Fragment.Length == 0;

    /// <summary>The scheme, lower-case, when it is http or https (schemes compare case-insensitively); else null.</summary>
    private static string? HttpScheme(string scheme) =>
        scheme.Equals("http", StringComparison.OrdinalIgnoreCase) ? "http"
        : scheme.Equals("https", StringComparison.OrdinalIgnoreCase) ? "https"
        : null;

    private static bool IsDefaultPort(string scheme, int port) => (scheme, port) is ("http", 80) or ("https", 443);
}
