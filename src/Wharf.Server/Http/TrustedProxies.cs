using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using IPNetwork = System.Net.IPNetwork;

namespace Wharf.Server.Http;

/// <summary>
/// The proxies whose forwarded headers Wharf believes (<c>Wharf:Http:TrustedProxies</c>): their
/// <c>X-Forwarded-For</c>, <c>-Proto</c> and <c>-Host</c> through ASP.NET Core's forwarded-headers
/// middleware (so <c>RemoteIpAddress</c>, <c>Scheme</c> and <c>Host</c> are the client's), and their
/// <c>X-Forwarded-Port</c> and JFrog base-URL overrides through <see cref="ProxyPeer"/>. Anyone
/// else's are ignored: they would let any client choose the URLs Wharf hands out (token realms,
/// <c>uri</c> fields) and the address its login throttle counts.
/// </summary>
internal sealed class TrustedProxies
{
    /// <summary>Loopback: a reverse proxy on the same machine.</summary>
    public const string Default = "127.0.0.0/8,::1";

    private readonly IReadOnlyList<IPNetwork> _networks;

    private TrustedProxies(IReadOnlyList<IPNetwork> networks) => _networks = networks;

    /// <summary>
    /// Parses comma-separated addresses (<c>10.0.0.5</c>, <c>::1</c>) and CIDR networks
    /// (<c>10.0.0.0/8</c>; bits past the prefix are ignored, as <see cref="IPNetwork"/> does); <paramref name="invalid"/>
    /// holds the entries that are neither. Empty entries are skipped; an empty value trusts no one.
    /// </summary>
    public static TrustedProxies Parse(string? value, out IReadOnlyList<string> invalid)
    {
        var networks = new List<IPNetwork>();
        var wrong = new List<string>();
        foreach (var entry in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (entry.Contains('/', StringComparison.Ordinal) ? IPNetwork.TryParse(entry, out var network) : TryParseAddress(entry, out network))
            {
                networks.Add(network);
            }
            else
            {
                wrong.Add(entry);
            }
        }

        invalid = wrong;
        return new TrustedProxies(networks);
    }

    private static bool TryParseAddress(string entry, out IPNetwork network)
    {
        network = default;
        if (!IPAddress.TryParse(entry, out var address))
        {
            return false;
        }

        network = new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
        return true;
    }

    /// <summary>The one check: whether <paramref name="peer"/> (a connection's remote address) is a trusted proxy.</summary>
    public bool Contains(IPAddress? peer)
    {
        if (peer is null)
        {
            return false;
        }

        var address = peer.IsIPv4MappedToIPv6 ? peer.MapToIPv4() : peer;
        foreach (var network in _networks)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Makes ASP.NET Core's middleware trust these networks and nothing else (it trusts loopback by default).</summary>
    public void Configure(ForwardedHeadersOptions options)
    {
        options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost;
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
        foreach (var network in _networks)
        {
            options.KnownIPNetworks.Add(network);
        }
    }

    /// <summary>
    /// Middleware, placed before <c>UseForwardedHeaders</c> (which replaces the connection's remote
    /// address, scheme and host with the forwarded ones): marks a request whose peer is a trusted
    /// proxy with a <see cref="ProxyPeer"/> feature, holding what that proxy forwarded and what the
    /// connection itself said.
    /// </summary>
    public Task MarkAsync(HttpContext context, RequestDelegate next)
    {
        if (Contains(context.Connection.RemoteIpAddress))
        {
            var request = context.Request;
            var headers = request.Headers;
            var port = int.TryParse(headers["X-Forwarded-Port"].ToString(), out var p) && p is > 0 and < 65536 ? p : (int?)null;
            var proto = headers.ContainsKey("X-Forwarded-Proto");
            var host = headers.ContainsKey("X-Forwarded-Host");
            context.Features.Set(new ProxyPeer(proto, host, port, request.Scheme, request.Host));
        }

        return next(context);
    }
}

/// <summary>
/// Present on a request whose connection's peer is a trusted proxy (absent otherwise): whether it
/// forwarded the original scheme and host (already applied to the request by then) and the port,
/// and the connection's own scheme and Host header, which a forwarded value that forms no URL
/// gives way to.
/// </summary>
internal sealed record ProxyPeer(bool ForwardedProto, bool ForwardedHost, int? ForwardedPort, string OwnScheme, HostString OwnHost)
{
    public static ProxyPeer? Of(HttpContext context) => context.Features.Get<ProxyPeer>();
}
