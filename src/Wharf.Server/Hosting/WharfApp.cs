using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Wharf.Core.Docker;
using Wharf.Core.Docker.V1;
using Wharf.Core.Lifecycle;
using Wharf.Core.Metadata;
using Wharf.Core.Repositories;
using Wharf.Core.Security;
using Wharf.Core.Storage;
using Wharf.Data.Sqlite;
using Wharf.Server.Api;
using Wharf.Server.Api.Rest;
using Wharf.Server.Api.V1;
using Wharf.Server.Api.V2;
using Wharf.Server.Auth;
using Wharf.Server.Http;
using Wharf.Server.Telemetry;
using Wharf.Server.Ui;

namespace Wharf.Server.Hosting;

/// <summary>Builds the Wharf web application; Program and the end-to-end tests share it.</summary>
internal static class WharfApp
{
    public const string DefaultUrl = "http://127.0.0.1:8081";

    /// <summary>Thrown when the settings are invalid; the message lists every problem.</summary>
    internal sealed class InvalidSettingsException(IReadOnlyList<string> problems)
        : Exception("Wharf cannot start because of invalid settings:" + string.Concat(problems.Select(p => Environment.NewLine + "  - " + p)))
    {
        public IReadOnlyList<string> Problems { get; } = problems;
    }

    /// <summary>
    /// Creates the application, validates the settings, migrates the database and seeds defaults.
    /// <paramref name="configure"/> lets tests add settings (in-memory configuration) before binding.
    /// </summary>
    public static async Task<WebApplication> BuildAsync(string[] args, Action<WebApplicationBuilder>? configure = null, CancellationToken cancellationToken = default)
    {
        // Settings are validated once at start-up, so configuration files are not watched: the
        // watcher would otherwise follow every write below the content root (the default data
        // directory is there) and cost a core's fraction on busy pushes. First, so that an
        // operator's own --hostBuilder:reloadConfigOnChange still wins.
        var builder = WebApplication.CreateSlimBuilder(["--hostBuilder:reloadConfigOnChange=false", .. args]);
        configure?.Invoke(builder);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        // The repositories' ports are Kestrel endpoints of a configuration of Wharf's own, re-bound
        // as repositories change (RepositoryListeners), on the main listener's hosts and scheme.
        var listenerConfiguration = new ListenerConfiguration(ListenerConfiguration.MainUrls(builder.Configuration["urls"], DefaultUrl));

        var options = builder.Configuration.GetSection(WharfOptions.Section).Get<WharfOptions>() ?? new WharfOptions();
        var problems = options.Validate();
        var tls = ServerTls.Load(options.Tls, string.Join(';', listenerConfiguration.Urls), TimeProvider.System.GetUtcNow());
        problems = [.. problems, .. tls.Problems];
        if (problems.Count > 0)
        {
            throw new InvalidSettingsException(problems);
        }

        // First, so that every endpoint bound in Kestrel's configuration finds the default certificate in place.
        tls.Apply(builder);

        var dataDir = Path.GetFullPath(options.DataDir);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;

            // Layers are unbounded and streamed; small documents are capped where they are read.
            // Bodies have a minimum average rate and headers a deadline, so that clients that
            // trickle (or stop) cannot hold connections open forever (WharfOptions.Http).
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Limits.MinRequestBodyDataRate = options.Http.MinRequestBodyBytesPerSecond == 0 ? null
                : new Microsoft.AspNetCore.Server.Kestrel.Core.MinDataRate(options.Http.MinRequestBodyBytesPerSecond, TimeSpan.FromSeconds(options.Http.MinRequestBodyGraceSeconds));
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(options.Http.RequestHeadersTimeoutSeconds);
            kestrel.Configure(new ConfigurationBuilder().Add(listenerConfiguration).Build(), reloadOnChange: true);
        });

        var services = builder.Services;
        services.AddSingleton<IOptions<WharfOptions>>(Options.Create(options));
        // Tests put their own clock in first; everything that reads the time takes this one.
        services.TryAddSingleton(TimeProvider.System);
        services.AddMemoryCache(cache => cache.SizeLimit = 10_000);
        services.AddSingleton<IBlobDriver>(provider => new FileSystemBlobDriver(Path.Join(dataDir, "storage"), provider.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ContentStore>();
        // Created by the container so that it is disposed with the application (its open connections closed).
        services.AddSingleton(_ => new SqliteMetadataStore(Path.Join(dataDir, "wharf.db")));
        // Every write goes through the registry index's upkeep (IndexedMetadataStore).
        services.AddSingleton<IMetadataStore>(provider => new Wharf.Core.Docker.IndexedMetadataStore(
            provider.GetRequiredService<SqliteMetadataStore>(), provider.GetRequiredService<ContentStore>()));
        services.AddSingleton<Wharf.Core.Docker.RegistryIndexCheck>();
        services.AddSingleton<IPasswordHasher<UserRecord>, PasswordHasher<UserRecord>>();
        services.AddSingleton<AccessPolicy>();
        services.AddSingleton<KnownSources>();
        services.AddSingleton<PasswordCheckGate>();
        services.AddSingleton<LoginThrottle>();
        services.AddSingleton<UserAuthenticator>();
        services.AddSingleton<RestAuthenticator>();
        services.AddSingleton<PublicUrls>();
        services.AddSingleton(listenerConfiguration);
        services.AddSingleton<RepositoryListeners>();
        services.AddHostedService(provider => provider.GetRequiredService<RepositoryListeners>());
        var proxies = TrustedProxies.Parse(options.Http.TrustedProxies, out _);
        services.AddSingleton(proxies);
        services.Configure<ForwardedHeadersOptions>(proxies.Configure);
        services.AddSingleton(new CleanupSettings(
            TimeSpan.FromSeconds(options.Cleanup.GracePeriodSeconds),
            TimeSpan.FromHours(options.Cleanup.StaleUploadHours),
            TimeSpan.FromSeconds(options.Cleanup.EmptyFolderMinAgeSeconds)));
        services.AddSingleton<V1Images>();
        services.AddSingleton<V1Tags>();
        services.AddSingleton<V1Repositories>();
        services.AddSingleton<V1Collector>();
        services.AddSingleton<V1Search>();
        services.AddSingleton<V1Promotion>();
        services.AddSingleton<Wharf.Core.Docker.V2.V2Blobs>();
        services.AddSingleton<Wharf.Core.Docker.V2.V2UploadSessions>();
        services.AddSingleton<Wharf.Core.Docker.V2.V2Manifests>();
        services.AddSingleton<Wharf.Core.Docker.V2.V2Discovery>();
        services.AddSingleton<Wharf.Core.Docker.V2.V2Promotion>();
        services.AddSingleton<Wharf.Core.Docker.V2.V1Migration>();
        services.AddSingleton<Cleanup>();
        services.AddSingleton<TreeOperations>();
        services.AddSingleton<RepositoryService>();
        services.AddSingleton(provider => new Wharf.Core.WebServer.WebServerSettings(
            provider.GetRequiredService<IMetadataStore>(), provider.GetRequiredService<TimeProvider>(), () => MainListener.Port(provider)));
        services.AddSingleton<SearchService>();
        services.AddHostedService<CleanupJob>();
        services.AddSingleton<V1RepositoryOperations>();
        services.AddSingleton<V1Gate>();
        services.AddSingleton<StorageReads>();
        services.AddSingleton<RestGate>();
        services.AddSingleton<SecurityService>();
        services.AddSingleton<CredentialService>();
        services.AddSingleton<RepositoryLookup>();
        services.AddSingleton<UrlBuilder>();
        services.AddSingleton<V2Operations>();
        services.AddSingleton<V2Gate>();
        services.AddSingleton<SigningKeys>();
        services.AddSingleton(provider => new DockerTokens(
            provider.GetRequiredService<SigningKeys>().Docker,
            provider.GetRequiredService<TimeProvider>(),
            TimeSpan.FromSeconds(options.Docker.TokenLifetimeSeconds)));
        services.AddSingleton<Bootstrap>();
        services.AddSingleton(provider => new V1Tokens(
            provider.GetRequiredService<SigningKeys>().V1,
            provider.GetRequiredService<TimeProvider>(),
            TimeSpan.FromSeconds(options.Docker.TokenLifetimeSeconds)));
        builder.AddWharfTelemetry(dataDir);
        services.AddWharfUi(dataDir);

        var app = builder.Build();
        await app.Services.GetRequiredService<Bootstrap>().RunAsync(cancellationToken);
        var listeners = app.Services.GetRequiredService<RepositoryListeners>();
        await listeners.LoadAsync(cancellationToken);
        _ = app.Services.GetRequiredService<IBlobDriver>();
        _ = app.Services.GetRequiredService<V1Tokens>();
        _ = app.Services.GetRequiredService<DockerTokens>();

        // The access log and metrics first, so that they see every request whole.
        app.UseWharfTelemetry();

        // Forwarded headers count only from trusted proxies: the peer is checked (and marked) before
        // ASP.NET Core's middleware replaces the connection's remote address with the client's.
        app.Use(proxies.MarkAsync);
        app.UseForwardedHeaders();
        app.Use(listeners.MarkAsync);
        app.UseWharfErrorBodies();
        V1Endpoints.Map(app);
        StorageEndpoints.Map(app);
        StorageWriteEndpoints.Map(app);
        RepositoryEndpoints.Map(app);
        SearchEndpoints.Map(app);
        DockerManagementEndpoints.Map(app);
        SystemEndpoints.Map(app);
        WebServerEndpoints.Map(app);
        OpsEndpoints.Map(app, options.Metrics);
        SecurityEndpoints.Map(app);
        CredentialEndpoints.Map(app);
        V2AuthEndpoints.Map(app);
        V2Endpoints.Map(app);
        app.MapWharfUi();
        return app;
    }
}
