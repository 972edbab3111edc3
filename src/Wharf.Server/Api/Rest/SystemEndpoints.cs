using Wharf.Core.Lifecycle;
using Wharf.Core.Metadata;
using Wharf.Server.Hosting;
using Wharf.Server.Http;

namespace Wharf.Server.Api.Rest;

/// <summary>On-demand cleanup and storage summary (rest-api §3.7; the storage summary is Wharf's choice of fields).</summary>
internal static class SystemEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var prefix in new[] { "/artifactory/api/system", "/api/system" })
        {
            var admin = RestRequirement.Admin("Only administrators may do this.");
            app.MapPost(prefix + "/cleanup", CleanupAsync).WithRestGate(admin);
            app.MapGet(prefix + "/storage", StorageAsync).WithRestGate(admin);
            app.MapGet(prefix + "/consistency", ConsistencyAsync).WithRestGate(admin);
        }
    }

    private static async Task<IResult> CleanupAsync(HttpContext context, Cleanup cleanup, CancellationToken cancellationToken)
    {
        var report = await cleanup.RunAllAsync(cancellationToken);
        Log.CleanupFinished(context.RequestServices.GetRequiredService<ILogger<Cleanup>>(), report);
        Log.Audit(context, "system.cleanup", $"{report.Gc.BlobsRemoved} blobs, {report.Gc.BytesRemoved} bytes");
        return Results.Json(Describe(report));
    }

    private static async Task<IResult> StorageAsync(Cleanup cleanup, IMetadataStore store, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        var blobs = await session.Blobs.TotalsAsync(cancellationToken);
        var usage = await session.Tree.UsageAsync(cancellationToken);
        return Results.Json(new
        {
            binaries = new { count = blobs.Count, bytes = blobs.Bytes, reclaimableCount = blobs.UnreferencedCount, reclaimableBytes = blobs.UnreferencedBytes },
            repositories = usage.Select(u => new { key = u.Repo, files = u.Files, folders = u.Folders, usedBytes = u.UsedBytes }),
            lastCleanup = cleanup.LastRun is { } run ? Describe(run) : null,
            lastEmptyFolderPrune = cleanup.LastPrune is { } pruned ? new { finished = WireTime.Iso(pruned), removed = cleanup.LastPruneRemoved } : null,
        });
    }

    /// <summary>Compares the registry's index with the trees and the content store; every difference is listed (none on a healthy instance).</summary>
    private static async Task<IResult> ConsistencyAsync(Wharf.Core.Docker.RegistryIndexCheck check, CancellationToken cancellationToken)
    {
        var report = await check.CheckAsync(cancellationToken);
        return Results.Json(new
        {
            consistent = report.Problems.Count == 0,
            repositories = report.Repositories,
            files = report.Files,
            problems = report.Problems.Select(p => new { repo = p.Repo, path = p.Path, problem = p.Problem }),
        });
    }

    private static object Describe(CleanupReport report) => new
    {
        gc = new { blobsRemoved = report.Gc.BlobsRemoved, bytesRemoved = report.Gc.BytesRemoved, blobsKeptInGracePeriod = report.Gc.BlobsKeptFresh },
        emptyFolders = new { removed = report.EmptyFoldersRemoved },
        uploads = new { removed = report.Uploads.Removed, filesRemoved = report.Uploads.FilesRemoved, bytesRemoved = report.Uploads.BytesRemoved },
        dockerV1Images = new { removed = report.V1ImagesRemoved },
        finished = WireTime.Iso(report.Finished),
    };
}
