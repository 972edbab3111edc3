using Prometheus;
using Wharf.Core.Metadata;

namespace Wharf.Server.Telemetry;

/// <summary>
/// The storage gauges of <c>/metrics</c>, read from the metadata store when a scrape asks and
/// then kept for <see cref="CacheFor"/>, so that scrapes in quick succession cost one query:
/// files and bytes per repository (every repository, 0 when empty; a deleted one's series go), and
/// the content store's blobs and bytes. A failing read leaves the last values and is logged.
/// </summary>
internal sealed partial class StoreGauges : IDisposable
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(10);

    private readonly IMetadataStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger<StoreGauges> _logger;
    private readonly Gauge _artifacts;
    private readonly Gauge _bytes;
    private readonly Gauge _blobstoreBytes;
    private readonly Gauge _blobstoreBlobs;
    private readonly Gauge _reclaimableBytes;
    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private HashSet<string> _repos = new(StringComparer.Ordinal);
    private DateTimeOffset _refreshed = DateTimeOffset.MinValue;

    public StoreGauges(WharfMetrics metrics, IMetadataStore store, TimeProvider time, ILogger<StoreGauges> logger)
    {
        (_store, _time, _logger) = (store, time, logger);
        var factory = Metrics.WithCustomRegistry(metrics.Registry);
        _artifacts = factory.CreateGauge("wharf_repository_artifacts", "Files in each repository's tree.", ["repo"]);
        _bytes = factory.CreateGauge("wharf_repository_bytes", "Bytes of the files in each repository's tree (shared content counts in each).", ["repo"]);
        _blobstoreBytes = factory.CreateGauge("wharf_blobstore_bytes", "Bytes of the content store: each stored content once.");
        _blobstoreBlobs = factory.CreateGauge("wharf_blobstore_blobs", "Contents in the content store.");
        _reclaimableBytes = factory.CreateGauge("wharf_blobstore_reclaimable_bytes", "Bytes of stored content that nothing references (the collector's next harvest, after the grace period).");
        metrics.Registry.AddBeforeCollectCallback(RefreshAsync);
    }

    public void Dispose() => _refreshing.Dispose();

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        if (_time.GetUtcNow() - _refreshed < CacheFor)
        {
            return;
        }

        await _refreshing.WaitAsync(cancellationToken);
        try
        {
            if (_time.GetUtcNow() - _refreshed < CacheFor)
            {
                return;
            }

            await using var session = await _store.OpenAsync(cancellationToken);
            var repositories = await session.Repositories.ListAsync(cancellationToken);
            var usage = (await session.Tree.UsageAsync(cancellationToken)).ToDictionary(u => u.Repo, StringComparer.Ordinal);
            var blobs = await session.Blobs.TotalsAsync(cancellationToken);
            var current = new HashSet<string>(StringComparer.Ordinal);
            foreach (var repository in repositories)
            {
                current.Add(repository.Key);
                var used = usage.GetValueOrDefault(repository.Key);
                _artifacts.WithLabels(repository.Key).Set(used?.Files ?? 0);
                _bytes.WithLabels(repository.Key).Set(used?.UsedBytes ?? 0);
            }

            foreach (var gone in _repos.Except(current))
            {
                _artifacts.RemoveLabelled(gone);
                _bytes.RemoveLabelled(gone);
            }

            _repos = current;
            _blobstoreBytes.Set(blobs.Bytes);
            _blobstoreBlobs.Set(blobs.Count);
            _reclaimableBytes.Set(blobs.UnreferencedBytes);
            _refreshed = _time.GetUtcNow();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A scrape still answers, with the last values: the ping tells whether the store is down.
            StoreUnreadable(_logger, e);
        }
        finally
        {
            _refreshing.Release();
        }
    }

    [LoggerMessage(42, LogLevel.Warning, "Metrics: the metadata store could not be read; the storage gauges keep their last values")]
    private static partial void StoreUnreadable(ILogger logger, Exception exception);
}
