using Microsoft.Extensions.Configuration.Memory;
using Wharf.Core.Metadata;

namespace Wharf.Server.Telemetry;

/// <summary>Wires the access log, the metrics and the health probe into the application (<see cref="Hosting.WharfApp"/>).</summary>
internal static class TelemetrySetup
{
    /// <summary>
    /// Log levels unless configured otherwise (<c>Logging:LogLevel:…</c>, e.g. the environment
    /// variable <c>Logging__LogLevel__Microsoft=Information</c>): ASP.NET Core and the runtime write
    /// several Information lines per request, which the access log replaces, so their categories
    /// start at Warning, except the host's lifetime lines (listening addresses, start and stop).
    /// Wharf's own categories, the access log included, follow <c>Logging:LogLevel:Default</c>
    /// (Information), so that <c>Default=Warning</c> quiets Wharf's lines as it always did.
    /// </summary>
    private static readonly Dictionary<string, string?> LoggingDefaults = new()
    {
        ["Logging:LogLevel:Microsoft"] = "Warning",
        ["Logging:LogLevel:System"] = "Warning",
        ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
    };

    public static void AddWharfTelemetry(this WebApplicationBuilder builder, string dataDir)
    {
        // First source: every other one (appsettings, environment, command line) overrides these.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = LoggingDefaults });

        var services = builder.Services;
        services.AddMetrics();
        services.AddSingleton<WharfMetrics>();
        services.AddSingleton<StoreGauges>();

        // The same folder and file WharfApp gives the blob driver and the metadata store.
        services.AddSingleton(provider => new HealthProbe(
            Path.Join(dataDir, "storage"),
            Path.Join(dataDir, "wharf.db"),
            provider.GetRequiredService<IMetadataStore>(),
            provider.GetRequiredService<TimeProvider>(),
            provider.GetRequiredService<ILogger<HealthProbe>>()));
    }

    /// <summary>The access log, first of all middleware so that it sees every request whole.</summary>
    public static void UseWharfTelemetry(this WebApplication app)
    {
        _ = app.Services.GetRequiredService<StoreGauges>();
        app.UseMiddleware<AccessLog>();
    }
}
