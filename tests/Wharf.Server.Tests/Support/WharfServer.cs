using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Wharf.Core.Metadata;
using Wharf.Core.Security;
using Wharf.Server.Hosting;

namespace Wharf.Server.Tests.Support;

/// <summary>
/// A real Wharf on a real Kestrel listener at 127.0.0.1 (ephemeral port), with its own data
/// directory and SQLite database, removed on dispose.
/// </summary>
public sealed class WharfServer : IAsyncLifetime
{
    public const string AdminPassword = "admin-password-1";
    public const string AlicePassword = "alice-password-1";

    private WebApplication? _app;

    /// <summary>A new folder by default; a suite may start on a data directory it prepared (it is removed on dispose all the same).</summary>
    public string DataDir { get; init; } = Path.Combine(Path.GetTempPath(), "wharf-e2e-" + Guid.NewGuid().ToString("N"));

    /// <summary>
    /// Whether to add the users, repositories and permission targets below after the start; off
    /// for a suite that must see a data directory exactly as it found it.
    /// </summary>
    public bool AddTestAccounts { get; init; } = true;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>
    /// A folder the <c>certificate create</c> command wrote (server.crt, server.key): the server then
    /// listens on https://127.0.0.1 beside http://127.0.0.1 and serves that certificate
    /// (<see cref="HttpsAddress"/>); <see cref="BaseAddress"/> stays the http one.
    /// </summary>
    public string? TlsDirectory { get; init; }

    /// <summary>The https:// listen address when <see cref="TlsDirectory"/> is set.</summary>
    public Uri? HttpsAddress { get; private set; }

    /// <summary>Every line the server logged, for tests about what logs hold.</summary>
    public CollectingLoggerProvider Logs { get; } = new();

    internal IServiceProvider Services => _app!.Services;

    /// <summary>Settings added to (or overriding) the defaults below, for suites that need other ones.</summary>
    public IReadOnlyDictionary<string, string?> ExtraSettings { get; init; } = new Dictionary<string, string?>();

    /// <summary>The server's clock, for suites about time; the system clock when null.</summary>
    public TimeProvider? Clock { get; init; }

    public async Task InitializeAsync()
    {
        _app = await WharfApp.BuildAsync([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["urls"] = "http://127.0.0.1:0",
                ["Wharf:DataDir"] = DataDir,
                ["Wharf:Admin:Password"] = AdminPassword,
                // Test servers run side by side: docker-local gets no port of its own unless a test asks.
                ["Wharf:Docker:V1Port"] = "0",
                ["Logging:LogLevel:Default"] = "Warning",
                ["Logging:LogLevel:Wharf"] = "Information",
            });
            if (TlsDirectory is not null)
            {
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["urls"] = "https://127.0.0.1:0;http://127.0.0.1:0",
                    ["Wharf:Tls:Certificate"] = Path.Combine(TlsDirectory, "server.crt"),
                    ["Wharf:Tls:Key"] = Path.Combine(TlsDirectory, "server.key"),
                });
            }

            builder.Configuration.AddInMemoryCollection(ExtraSettings);
            builder.Logging.AddProvider(Logs);
            if (Clock is not null)
            {
                builder.Services.AddSingleton(Clock);
            }
        });
        await _app.StartAsync();
        var addresses = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a)).ToList();
        BaseAddress = addresses.FirstOrDefault(a => a.Scheme == Uri.UriSchemeHttp) ?? addresses[0];
        HttpsAddress = addresses.FirstOrDefault(a => a.Scheme == Uri.UriSchemeHttps);
        if (!AddTestAccounts)
        {
            return;
        }

        // Fixtures every suite may use: a plain user and repositories with other settings.
        await using var tx = await Store.BeginAsync(default);
        var hasher = Services.GetRequiredService<IPasswordHasher<UserRecord>>();
        var alice = new UserRecord("alice", "", false, false);
        await tx.Users.TryCreateAsync(alice with { PasswordHash = hasher.HashPassword(alice, AlicePassword) }, default);
        var disabled = new UserRecord("mallory", "", false, true);
        await tx.Users.TryCreateAsync(disabled with { PasswordHash = hasher.HashPassword(disabled, AlicePassword) }, default);
        await tx.Repositories.TryCreateAsync(new RepositoryConfig("docker-public", DockerApiVersion.V1, "public", AnonymousRead: true), default);
        await tx.Repositories.TryCreateAsync(new RepositoryConfig("docker-forced", DockerApiVersion.V1, "forced", ForceDockerAuthentication: true, AnonymousRead: true), default);

        // A valid key that also names a V1 route segment, to keep path-mode routing honest.
        await tx.Repositories.TryCreateAsync(new RepositoryConfig("repositories", DockerApiVersion.V1), default);

        // alice deploys and deletes everywhere. Anonymous access is on, but the default "Anything"
        // target grants only readers, so anonymous callers read just docker-public (anonymousRead).
        var alicePermissions = new Dictionary<string, AccessActions>(StringComparer.OrdinalIgnoreCase)
        {
            ["alice"] = AccessActions.Read | AccessActions.Annotate | AccessActions.Deploy | AccessActions.Delete,
        };
        await tx.Permissions.UpsertAsync(new PermissionTarget("alice-everywhere", "**", "", [PermissionTarget.AnyLocal], alicePermissions, new Dictionary<string, AccessActions>()), default);
        await tx.Permissions.UpsertAsync(new PermissionTarget("Anything", "**", "", [PermissionTarget.AnyRepository], new Dictionary<string, AccessActions>(),
            new Dictionary<string, AccessActions>(StringComparer.OrdinalIgnoreCase) { ["readers"] = AccessActions.Read }), default);
        await tx.Settings.SetAsync(AccessPolicy.AnonymousAccessSetting, "true", default);
        await tx.CommitAsync(default);
        Services.GetRequiredService<AccessPolicy>().Invalidate();
    }

    internal IMetadataStore Store => Services.GetRequiredService<IMetadataStore>();

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(DataDir))
        {
            Directory.Delete(DataDir, recursive: true);
        }
    }

    public HttpClient Client(string? user = null, string? password = null)
    {
        var client = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = BaseAddress };
        if (user is not null)
        {
            client.DefaultRequestHeaders.Authorization = Basic(user, password ?? "");
        }

        return client;
    }

    public HttpClient Admin() => Client("admin", AdminPassword);

    /// <summary>A client of another port of this server (a repository's <c>registryPort</c>).</summary>
    public HttpClient ClientOnPort(int port, string? user = null, string? password = null)
    {
        var client = Client(user, password);
        client.BaseAddress = new UriBuilder(BaseAddress) { Port = port }.Uri;
        return client;
    }

    /// <summary>A loopback port nothing listens on right now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The repository's <c>registryPort</c>, given a free one first if it has none (the listener is open on return).</summary>
    public async Task<int> OwnPortAsync(string key)
    {
        using var admin = Admin();
        using var config = JsonDocument.Parse(await admin.GetStringAsync($"/api/repositories/{key}"));
        if (config.RootElement.TryGetProperty("registryPort", out var current) && current.ValueKind == JsonValueKind.Number)
        {
            return current.GetInt32();
        }

        var port = FreePort();
        using var body = new StringContent($"{{\"registryPort\":{port}}}", Encoding.UTF8, "application/json");
        using var response = await admin.PostAsync($"/api/repositories/{key}", body);
        response.EnsureSuccessStatusCode();
        return port;
    }

    /// <summary>
    /// A client whose connections leave from <paramref name="local"/> (a loopback address such as
    /// 127.0.0.2), so that the server sees another real source address.
    /// </summary>
    public HttpClient ClientFrom(IPAddress local, string? user = null, string? password = null)
    {
        var handler = new SocketsHttpHandler
        {
            UseCookies = false,
            AllowAutoRedirect = false,
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(local, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        var client = new HttpClient(handler) { BaseAddress = BaseAddress };
        if (user is not null)
        {
            client.DefaultRequestHeaders.Authorization = Basic(user, password ?? "");
        }

        return client;
    }

    public static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    /// <summary>Every file below the data directory, to prove a request wrote nothing outside it (or at all).</summary>
    public IReadOnlyList<string> StoredFiles() =>
        [.. Directory.EnumerateFiles(Path.Combine(DataDir, "storage"), "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)];
}
