using Wharf.Core.Metadata;

namespace Wharf.Server.Telemetry;

/// <summary>A health answer: null <see cref="Problem"/> when storage and database work, else a sentence a client may read.</summary>
internal sealed record Health(string? Problem)
{
    public bool Healthy => Problem is null;
}

/// <summary>
/// Whether the storage and the database can serve, as <c>GET /api/system/ping</c> asks (rest-api
/// §7.1): the storage folder is a directory in which a file can be created (and is deleted at
/// once), and the database file exists and answers a query. A probe runs at most once per
/// <see cref="CacheFor"/> however many pings arrive (concurrent pings share it), gives up after
/// <see cref="Timeout"/> (a hung disk answers "did not answer" instead of holding pings), and never
/// throws. Clients get a short reason; the detail (paths, errors) goes to the log, once per change.
/// </summary>
internal sealed partial class HealthProbe(string storageRoot, string databasePath, IMetadataStore store, TimeProvider time, ILogger<HealthProbe> logger)
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>The probe file's name ends like a driver's temp file, so that one a crash left behind is deleted at the next start.</summary>
    private static readonly string ProbeName = ".health-probe.partial";

    private readonly Lock _lock = new();
    private Task<Health>? _probe;
    private DateTimeOffset _probed = DateTimeOffset.MinValue;
    private string? _lastLogged;

    public async Task<Health> CheckAsync(CancellationToken cancellationToken)
    {
        Task<Health> probe;
        lock (_lock)
        {
            if (_probe is null || (_probe.IsCompleted && time.GetUtcNow() - _probed >= CacheFor))
            {
                _probed = time.GetUtcNow();
                _probe = Task.Run(ProbeAsync, CancellationToken.None);
            }

            probe = _probe;
        }

        try
        {
            return await probe.WaitAsync(Timeout, time, cancellationToken);
        }
        catch (TimeoutException)
        {
            return new Health("Storage or database did not answer within 5 seconds.");
        }
    }

    private async Task<Health> ProbeAsync()
    {
        var failure = ProbeStorage() ?? await ProbeDatabaseAsync();
        var detail = failure?.Detail;
        lock (_lock)
        {
            if (detail != _lastLogged)
            {
                _lastLogged = detail;
                if (detail is null)
                {
                    Recovered(logger);
                }
                else
                {
                    Unhealthy(logger, detail);
                }
            }
        }

        return new Health(failure?.Problem);
    }

    private (string Problem, string Detail)? ProbeStorage()
    {
        const string problem = "Storage is unavailable.";
        try
        {
            if (!Directory.Exists(storageRoot))
            {
                // Checked before anything is written: the blob driver would create a missing folder anew.
                return (problem, $"storage folder {storageRoot} is missing or not a directory");
            }

            using (new FileStream(Path.Join(storageRoot, ProbeName), FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }

            return null;
        }
        catch (Exception e)
        {
            return (problem, $"storage folder {storageRoot} is not writable: {e.Message}");
        }
    }

    private async Task<(string Problem, string Detail)?> ProbeDatabaseAsync()
    {
        const string problem = "Database is unavailable.";
        try
        {
            if (!File.Exists(databasePath))
            {
                // Checked before a connection opens: SQLite would create an empty database in its place.
                return (problem, $"database {databasePath} is missing");
            }

            await using var session = await store.OpenAsync(CancellationToken.None);
            await session.Settings.GetAsync("health-probe", CancellationToken.None);
            return null;
        }
        catch (Exception e)
        {
            return (problem, $"database {databasePath} cannot be queried: {e.Message}");
        }
    }

    [LoggerMessage(40, LogLevel.Warning, "Health check failed: {Detail}")]
    private static partial void Unhealthy(ILogger logger, string detail);

    [LoggerMessage(41, LogLevel.Information, "Health check passes")]
    private static partial void Recovered(ILogger logger);
}
