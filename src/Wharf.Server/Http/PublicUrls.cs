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
    /// The public base URL including the context path, without a trailing slash. From a trusted
    /// proxy (<see cref="ProxyPeer"/>), its JFrog override headers, then its forwarded scheme and host
    /// (already applied to the request) with <c>X-Forwarded-Port</c>, come before
    /// <c>Wharf:BaseUrl</c>; from anyone else those headers are ignored.
    /// </summary>
    public string BaseUrl(HttpRequest request)
    {
        if (ProxyPeer.Of(request.HttpContext) is { } proxy)
        {
            foreach (var header in new[] { "X-JFrog-Override-Base-Url", "X-Artifactory-Override-Base-Url" })
            {
                if (request.Headers[header].ToString() is { Length: > 0 } overridden
                    && Uri.TryCreate(overridden, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
                {
                    return overridden.TrimEnd('/');
                }
            }

            if ((proxy.ForwardedProto || proxy.ForwardedHost) && request.Scheme is "http" or "https" && request.Host.HasValue)
            {
                // A forwarded host keeps its own port unless X-Forwarded-Port names one; the request's
                // own Host names the proxy's side of the connection, so only X-Forwarded-Port counts.
                var port = proxy.ForwardedPort ?? (proxy.ForwardedHost ? request.Host.Port : null);
                var host = request.Host.Host;
                var authority = port is { } p && !IsDefaultPort(request.Scheme, p) ? $"{host}:{p}" : host;
                return $"{request.Scheme}://{authority}{ContextPath}";
            }
        }

        if (options.Value.BaseUrl is { } configured)
        {
            return configured.TrimEnd('/');
        }

        // HTTP/1.0 may come without Host: use the address the request arrived on.
        var own = request.Host.HasValue ? request.Host.Value : $"{request.HttpContext.Connection.LocalIpAddress}:{request.HttpContext.Connection.LocalPort}";
        return $"{request.Scheme}://{own}{ContextPath}";
    }

    /// <summary>
    /// The <c>X-Docker-Endpoints</c> value: the request's Host header verbatim, never a scheme,
    /// path or configured URL (docker-v1-protocol §6.3.1); without one, the local address and port.
    /// </summary>
    public static string DockerEndpoint(HttpContext context) =>
        context.Request.Host.HasValue
            ? context.Request.Host.Value!
            : $"{context.Connection.LocalIpAddress}:{context.Connection.LocalPort}";

    private static bool IsDefaultPort(string scheme, int port) => (scheme, port) is ("http", 80) or ("https", 443);
}
