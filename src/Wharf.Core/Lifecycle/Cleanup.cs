using System.Diagnostics.Metrics;
using Wharf.Core.Docker;
using Wharf.Core.Docker.V1;
using Wharf.Core.Metadata;
using Wharf.Core.Storage;

namespace Wharf.Core.Lifecycle;

internal sealed record GcReport(int BlobsRemoved, long BytesRemoved, int BlobsKeptFresh);

internal sealed record UploadPurgeReport(int Removed, int FilesRemoved, long BytesRemoved);

internal sealed record CleanupReport(GcReport Gc, int EmptyFoldersRemoved, UploadPurgeReport Uploads, int V1ImagesRemoved, DateTimeOffset Finished);

/// <summary>
/// The lifecycle jobs: stale uploads, unreachable V1 images, empty folders, and content no
/// repository references (rest-api §3.7). Each is safe while pushes continue: whatever a push in
/// flight may still commit is younger than the grace period, and every delete decision is taken
/// under the metadata write lock, where no reference can appear or vanish meanwhile. Each finished
/// job counts one run on <see cref="RunsInstrument"/> (tag <c>job</c>) of the meter
/// <see cref="MeterName"/>, when a meter factory is given (the server exports it).
/// </summary>
internal sealed class Cleanup(IMetadataStore store, ContentStore content, V1Collector v1Collector, TimeProvider time, CleanupSettings settings, IMeterFactory? meterFactory = null) : IDisposable
{
    public const string MeterName = "Wharf.Lifecycle";
    public const string RunsInstrument = "wharf.cleanup.runs";
    public const string JobUploads = "uploads";
    public const string JobV1Images = "v1_images";
    public const string JobEmptyFolders = "empty_folders";
    public const string JobGc = "gc";

    private const int Batch = 256;

    private readonly Counter<long>? _runs = meterFactory?.Create(MeterName).CreateCounter<long>(RunsInstrument, description: "Completed runs of each lifecycle job.");

    /// <summary>One run at a time in this process; a second caller waits for the first.</summary>
    private readonly SemaphoreSlim _running = new(1, 1);

    public CleanupReport? LastRun { get; private set; }

    public void Dispose() => _running.Dispose();

    public DateTimeOffset? LastPrune { get; private set; }

    public int LastPruneRemoved { get; private set; }

    /// <summary>Every job, in the order that lets each free what the next collects.</summary>
    public async Task<CleanupReport> RunAllAsync(CancellationToken cancellationToken)
    {
        await _running.WaitAsync(cancellationToken);
        try
        {
            var uploads = await PurgeStaleUploadsAsync(cancellationToken);
            Ran(JobUploads);
            var images = await RemoveUnreachableV1ImagesAsync(cancellationToken);
            Ran(JobV1Images);
            var folders = await PruneCoreAsync(cancellationToken);
            var gc = await CollectBlobsAsync(cancellationToken);
            Ran(JobGc);
            LastRun = new CleanupReport(gc, folders, uploads, images, time.GetUtcNow());
            return LastRun;
        }
        finally
        {
            _running.Release();
        }
    }

    public async Task<int> PruneEmptyFoldersAsync(CancellationToken cancellationToken)
    {
        await _running.WaitAsync(cancellationToken);
        try
        {
            return await PruneCoreAsync(cancellationToken);
        }
        finally
        {
            _running.Release();
        }
    }

    private async Task<int> PruneCoreAsync(CancellationToken cancellationToken)
    {
        int removed;
        await using (var tx = await store.BeginAsync(cancellationToken))
        {
            removed = await tx.Tree.PruneEmptyFoldersAsync(time.GetUtcNow() - settings.EmptyFolderMinAge, cancellationToken);
            await tx.CommitAsync(cancellationToken);
        }

        (LastPrune, LastPruneRemoved) = (time.GetUtcNow(), removed);
        Ran(JobEmptyFolders);
        return removed;
    }

    private void Ran(string job) => _runs?.Add(1, new KeyValuePair<string, object?>("job", job));

    private async Task<UploadPurgeReport> PurgeStaleUploadsAsync(CancellationToken cancellationToken)
    {
        var cutoff = time.GetUtcNow() - settings.StaleUploadAge;
        int records;
        await using (var tx = await store.BeginAsync(cancellationToken))
        {
            records = await tx.V1Uploads.DeleteStaleAsync(cutoff, cancellationToken);
            records += (await tx.V2Uploads.DeleteStaleAsync(cutoff, cancellationToken)).Count;

            // Blob names in V2 _uploads folders no manifest took up (the index knows which are
            // V2 uploads: a V1 tree may hold a tag or a repository named _uploads).
            foreach (var upload in await tx.V2Index.StaleUploadsAsync(cutoff, int.MaxValue, cancellationToken))
            {
                records += await tx.Tree.DeleteAsync(upload.Repo, upload.Path, cancellationToken);
            }

            await tx.CommitAsync(cancellationToken);
        }

        // A chunk of a live V2 session stays however old it is: the session may still complete.
        var live = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        await using (var session = await store.OpenAsync(cancellationToken))
        {
            var (files, bytes) = await content.PurgeUploadsAsync(cutoff, async key =>
            {
                if (StoragePaths.UploadIdOfChunk(key) is not { } id)
                {
                    return false;
                }

                if (!live.TryGetValue(id, out var keys))
                {
                    live[id] = keys = (await session.V2Uploads.GetAsync(id, cancellationToken))?.ChunkKeys ?? [];
                }

                return keys.Contains(key, StringComparer.Ordinal);
            }, cancellationToken);
            return new UploadPurgeReport(records, files, bytes);
        }
    }

    private async Task<int> RemoveUnreachableV1ImagesAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<RepositoryConfig> repositories;
        await using (var session = await store.OpenAsync(cancellationToken))
        {
            repositories = await session.Repositories.ListAsync(cancellationToken);
        }

        var removed = 0;
        foreach (var repository in repositories.Where(r => r.DockerApiVersion == DockerApiVersion.V1))
        {
            removed += await v1Collector.RemoveUnreachableImagesAsync(repository.Key, time.GetUtcNow() - settings.GracePeriod, cancellationToken);
        }

        return removed;
    }

    /// <summary>
    /// Mark and sweep: candidates are blobs written before the grace period began (from the byte
    /// store) and catalogue rows nothing references; each is re-checked and reclaimed under the
    /// write lock, in batches so pushes are held up only briefly.
    /// </summary>
    private async Task<GcReport> CollectBlobsAsync(CancellationToken cancellationToken)
    {
        var cutoff = time.GetUtcNow() - settings.GracePeriod;
        await content.PurgeLeftAsideAsync(cancellationToken);
        var candidates = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var (sha256, stat) in content.WalkBlobsAsync(cancellationToken))
        {
            if (stat.Modified < cutoff)
            {
                candidates.Add(sha256);
            }
        }

        await using (var session = await store.OpenAsync(cancellationToken))
        {
            foreach (var row in await session.Blobs.ListUnreferencedAsync(cutoff, int.MaxValue, cancellationToken))
            {
                candidates.Add(row.Sha256);
            }
        }

        var (removed, bytes, kept) = (0, 0L, 0);
        foreach (var chunk in candidates.Chunk(Batch))
        {
            await using var tx = await store.BeginAsync(cancellationToken);
            foreach (var sha256 in chunk)
            {
                if (await tx.Blobs.IsReferencedAsync(sha256, cancellationToken))
                {
                    continue;
                }

                var outcome = await content.ReclaimAsync(sha256, cutoff, cancellationToken);
                switch (outcome.Result)
                {
                    case ReclaimResult.KeptFresh:
                        kept++;
                        continue;
                    case ReclaimResult.Removed:
                        removed++;
                        bytes += outcome.Bytes;
                        break;
                }

                await tx.Blobs.DeleteAsync(sha256, cancellationToken);
            }

            await tx.CommitAsync(cancellationToken);
        }

        return new GcReport(removed, bytes, kept);
    }
}
