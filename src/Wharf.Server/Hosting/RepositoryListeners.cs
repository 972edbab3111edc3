using System.Collections.Frozen;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.WebServer;
using Wharf.Server.Http;

namespace Wharf.Server.Hosting;

/// <summary>
/// The listeners of repositories with a <c>registryPort</c> (rest-api §3.1, port method): each
/// port is a Kestrel endpoint beside the main listener's, on the same addresses and scheme, opened
/// when a repository is created or updated with the port and closed when the port is cleared or
/// the repository deleted, with no restart. Kestrel re-binds the endpoints of a configuration it
/// was given with <c>reloadOnChange</c> (<see cref="ListenerConfiguration"/>), so Wharf keeps the
/// repositories' ports there. Requests that arrive on a repository's port, or under the subdomain
/// method with its host name, carry its <see cref="RepositoryAddress"/>. Off (no listener, no port check against other
/// processes) with <see cref="DockerOptions.RepositoryListeners"/> false, when a web server owns
/// the ports.
/// </summary>
internal sealed class RepositoryListeners(
    ListenerConfiguration configuration,
    IMetadataStore store,
    IServer server,
    WebServerSettings webServer,
    IOptions<WharfOptions> options,
    ILogger<RepositoryListeners> logger) : IHostedLifecycleService, IDisposable
{
    /// <summary>How long a create, update or delete waits for Kestrel to open or close a port.</summary>
    private static readonly TimeSpan RebindWait = TimeSpan.FromSeconds(10);

    private readonly SemaphoreSlim _changing = new(1, 1);

    /// <summary>Port → repository key of the listeners Wharf has asked Kestrel for.</summary>
    private FrozenDictionary<int, string> _keys = FrozenDictionary<int, string>.Empty;

    public bool Enabled => options.Value.Docker.RepositoryListeners;

    public void Dispose() => _changing.Dispose();

    /// <summary>The repository whose port a connection arrived on; null on the main listener.</summary>
    public string? KeyOfPort(int localPort) => _keys.GetValueOrDefault(localPort);

    /// <summary>
    /// Marks requests that came by a repository's port, or under the subdomain method by its host
    /// name <c>&lt;key&gt;.&lt;serverName&gt;</c> (rest-api §3.1), before routing. The host is the
    /// request's after a trusted proxy's forwarded headers; an unknown key is marked too, so that
    /// it answers as an unknown repository, not as the main listener.
    /// </summary>
    public async Task MarkAsync(HttpContext context, RequestDelegate next)
    {
        var key = _keys.Count > 0 ? KeyOfPort(context.Connection.LocalPort) : null;
        key ??= await KeyOfHostAsync(context.Request.Host, context.RequestAborted);
        if (key is not null)
        {
            context.Features.Set(new RepositoryAddress(key));
            Telemetry.RequestRecord.Of(context)?.Address(key);
        }

        await next(context);
    }

    /// <summary>The repository key a host name names under the subdomain method: its first label, when the rest is the server name.</summary>
    private async ValueTask<string?> KeyOfHostAsync(HostString host, CancellationToken cancellationToken)
    {
        if (!host.HasValue || await webServer.FindStoredAsync(cancellationToken) is not { DockerReverseProxyMethod: DockerAccessMethod.Subdomain } stored)
        {
            return null;
        }

        var name = host.Host.TrimEnd('.');
        var suffix = "." + stored.ServerName;
        if (name.Length <= suffix.Length || !name.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var label = name[..^suffix.Length];
        return DnsName.IsLabel(label) ? label : null;
    }

    /// <summary>
    /// Before the server starts: which repositories' ports to open once it has. A port another
    /// process holds is left out with a warning (Wharf still starts); the next change of any
    /// repository tries it again.
    /// </summary>
    public async Task LoadAsync(CancellationToken cancellationToken) =>
        _keys = (await WantedAsync(cancellationToken)).ToFrozenDictionary();

    /// <summary>Once the main listener is bound (Kestrel binds the <c>urls</c> only while its own configuration names no endpoint): the repositories' ports, open when the host's start returns.</summary>
    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        if (_keys.Count > 0)
        {
            configuration.Replace(_keys, notify: true);
            await WaitForAsync([.. _keys.Keys], [], cancellationToken);
            LogOpened(_keys.Keys);
        }
    }

    private void LogOpened(IEnumerable<int> ports)
    {
        foreach (var port in ports)
        {
            Log.RepositoryListening(logger, _keys[port], configuration.Scheme, port);
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Why <paramref name="key"/> cannot have <paramref name="port"/>, or null when it can: the main
    /// listener's port, or (with native listeners) a port some other process listens on. Another
    /// repository's port is the repository service's own check.
    /// </summary>
    public string? PortProblem(string key, int port)
    {
        if (MainPorts().Contains(port))
        {
            return $"Port {port} is Wharf's own main listener.";
        }

        // A port another repository holds is the repository service's conflict to report.
        if (!Enabled || KeyOfPort(port) is not null)
        {
            return null;
        }

        return configuration.Hosts.Any(host => !IsFree(host, port)) ? $"Port {port} is in use by another program." : null;
    }

    /// <summary>
    /// After a repository was created, updated or deleted: opens the ports now wanted, closes the
    /// others, and waits (a few seconds at most) until Kestrel has done so.
    /// </summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        if (!Enabled)
        {
            return;
        }

        await _changing.WaitAsync(cancellationToken);
        try
        {
            var wanted = await WantedAsync(cancellationToken);
            if (wanted.Count == _keys.Count && wanted.All(w => _keys.TryGetValue(w.Key, out var k) && k == w.Value))
            {
                return;
            }

            var opened = wanted.Keys.Except(_keys.Keys).ToList();
            var closed = _keys.Keys.Except(wanted.Keys).ToList();
            _keys = wanted.ToFrozenDictionary();
            configuration.Replace(_keys, notify: true);
            await WaitForAsync(opened, closed, cancellationToken);
            LogOpened(opened);
        }
        finally
        {
            _changing.Release();
        }
    }

    /// <summary>Every repository port that can be listened on now, with its key.</summary>
    private async Task<Dictionary<int, string>> WantedAsync(CancellationToken cancellationToken)
    {
        var wanted = new Dictionary<int, string>();
        if (!Enabled)
        {
            return wanted;
        }

        await using var session = await store.OpenAsync(cancellationToken);
        var main = MainPorts();
        foreach (var repository in await session.Repositories.ListAsync(cancellationToken))
        {
            if (repository.RegistryPort is not { } port || wanted.ContainsKey(port))
            {
                continue;
            }

            if (main.Contains(port) || (!_keys.ContainsKey(port) && configuration.Hosts.Any(host => !IsFree(host, port))))
            {
                Log.RepositoryPortUnavailable(logger, repository.Key, port);
                continue;
            }

            wanted[port] = repository.Key;
        }

        return wanted;
    }

    /// <summary>The ports the main listener is bound to (known once the server has started), or configured with.</summary>
    private HashSet<int> MainPorts()
    {
        var ports = configuration.MainPorts.Where(p => p > 0).ToHashSet();
        foreach (var address in server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [])
        {
            if (BindingAddress.Parse(address) is { Port: > 0 } bound && !_keys.ContainsKey(bound.Port))
            {
                ports.Add(bound.Port);
            }
        }

        return ports;
    }

    private async Task WaitForAsync(IReadOnlyList<int> opened, IReadOnlyList<int> closed, CancellationToken cancellationToken)
    {
        var probe = configuration.Hosts.Select(ProbeAddress).First();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(RebindWait);
        try
        {
            foreach (var port in opened)
            {
                while (!await AcceptsAsync(probe, port, deadline.Token))
                {
                    await Task.Delay(25, deadline.Token);
                }
            }

            foreach (var port in closed)
            {
                while (await AcceptsAsync(probe, port, deadline.Token))
                {
                    await Task.Delay(25, deadline.Token);
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Log.RepositoryListenersSlow(logger, RebindWait.TotalSeconds);
        }
    }

    private static async Task<bool> AcceptsAsync(IPAddress address, int port, CancellationToken cancellationToken)
    {
        using var client = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await client.ConnectAsync(new IPEndPoint(address, port), cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Whether nothing listens on <paramref name="port"/> at <paramref name="host"/> (a listener would be refused the address).</summary>
    private static bool IsFree(string host, int port)
    {
        foreach (var address in BindAddresses(host))
        {
            using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Bind(new IPEndPoint(address, port));
                socket.Listen(1);
            }
            catch (SocketException)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The addresses a Kestrel URL host binds: <c>localhost</c> both loopbacks, a wildcard every address.</summary>
    private static IPAddress[] BindAddresses(string host) => host switch
    {
        "localhost" => Socket.OSSupportsIPv6 ? [IPAddress.Loopback, IPAddress.IPv6Loopback] : [IPAddress.Loopback],
        "*" or "+" or "0.0.0.0" => [IPAddress.Any],
        "[::]" or "::" => [IPAddress.IPv6Any],
        _ => IPAddress.TryParse(host.Trim('[', ']'), out var address) ? [address] : [IPAddress.Any],
    };

    /// <summary>Where a port of <paramref name="host"/> can be reached from this machine.</summary>
    private static IPAddress ProbeAddress(string host) => BindAddresses(host)[0] switch
    {
        var any when any.Equals(IPAddress.Any) => IPAddress.Loopback,
        var any when any.Equals(IPAddress.IPv6Any) => IPAddress.IPv6Loopback,
        var address => address,
    };
}
