using Microsoft.Extensions.Options;
using Wharf.Core.Lifecycle;

namespace Wharf.Server.Hosting;

/// <summary>
/// Runs the lifecycle jobs in the background: empty-folder pruning (with stale-upload purging)
/// every <c>EmptyFolderPruneIntervalMinutes</c>, and the full cleanup, which also collects
/// unreferenced content, every <c>GarbageCollectionIntervalMinutes</c>.
/// </summary>
internal sealed class CleanupJob(Cleanup cleanup, IOptions<WharfOptions> options, TimeProvider time, ILogger<CleanupJob> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value.Cleanup;
        var prune = settings.EmptyFolderPruneIntervalMinutes > 0 ? TimeSpan.FromMinutes(settings.EmptyFolderPruneIntervalMinutes) : (TimeSpan?)null;
        var collect = settings.GarbageCollectionIntervalMinutes > 0 ? TimeSpan.FromMinutes(settings.GarbageCollectionIntervalMinutes) : (TimeSpan?)null;
        if (prune is null && collect is null)
        {
            return;
        }

        var nextPrune = time.GetUtcNow() + prune;
        var nextCollect = time.GetUtcNow() + collect;
        while (!stoppingToken.IsCancellationRequested)
        {
            var next = new[] { nextPrune, nextCollect }.Where(t => t is not null).Min()!.Value;
            var wait = next - time.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                if (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
            }

            var now = time.GetUtcNow();
            try
            {
                if (nextCollect <= now)
                {
                    var report = await cleanup.RunAllAsync(stoppingToken);
                    Log.CleanupFinished(logger, report);
                    nextCollect = now + collect;
                    nextPrune = now + prune;
                }
                else if (nextPrune <= now)
                {
                    var pruned = await cleanup.PruneEmptyFoldersAsync(stoppingToken);
                    Log.FoldersPruned(logger, pruned);
                    nextPrune = now + prune;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // An outage (disk, database) must not stop the job for good; the next run retries.
                Log.CleanupFailed(logger, e);
                nextPrune = now + prune;
                nextCollect = now + collect;
            }
        }
    }
}
