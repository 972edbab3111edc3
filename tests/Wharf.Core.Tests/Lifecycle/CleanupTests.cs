using System.Text;
using Wharf.Core.Docker.V1;
using Wharf.Core.Docker.V2;
using Wharf.Core.Lifecycle;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Tests.Support;

namespace Wharf.Core.Tests.Lifecycle;

/// <summary>
/// Cleanup.RunAllAsync with the default settings (grace period 1 h, stale uploads 24 h, empty
/// folders 60 s), every age measured on the fake clock, which also stamps the byte store's files.
/// </summary>
public sealed class CleanupTests : IAsyncLifetime
{
    private const string Repo = RegistryFixture.V2Repo;
    private static readonly byte[] Bytes = Encoding.UTF8.GetBytes("bytes nothing will reference");
    private static readonly Digest BytesDigest = Digest.OfSha256(Sha256Hex.Of(Bytes));

    private RegistryFixture _r = null!;

    public async Task InitializeAsync() => _r = await RegistryFixture.CreateAsync();

    public async Task DisposeAsync() => await _r.DisposeAsync();

    private TimeSpan Grace => _r.Settings.GracePeriod;

    private TimeSpan Stale => _r.Settings.StaleUploadAge;

    private async Task<CleanupReport> RunAsync()
    {
        var report = await _r.Cleanup.RunAllAsync(default);
        await _r.AssertIndexConsistentAsync();
        return report;
    }

    private async Task<V2Upload> SessionWithOneChunkAsync()
    {
        var upload = await _r.Uploads.StartUploadAsync(Repo, "app", default);
        var (outcome, appended) = await _r.Uploads.AppendAsync(upload, 0, new MemoryStream(Bytes), Bytes.Length, default);
        Assert.Equal(V2Outcome.Ok, outcome);
        return appended;
    }

    private async Task UnreferencedBlobAsync()
    {
        await _r.PushBlobAsync("app", Bytes);
        Assert.Equal(V2Outcome.Ok, (await _r.Blobs.DeleteBlobAsync(Repo, "app", BytesDigest, RegistryFixture.AllowAll, default)).Outcome);
    }

    [Fact]
    public async Task A_v2_upload_session_is_purged_with_its_chunks_only_after_the_stale_upload_age()
    {
        var upload = await SessionWithOneChunkAsync();

        _r.Clock.Advance(Stale - TimeSpan.FromSeconds(1));
        await RunAsync();
        Assert.NotNull(await _r.Uploads.FindUploadAsync(Repo, "app", upload.Id, default));
        Assert.Single(_r.StoredFiles("uploads"));

        _r.Clock.Advance(TimeSpan.FromSeconds(2));
        var report = await RunAsync();
        Assert.Null(await _r.Uploads.FindUploadAsync(Repo, "app", upload.Id, default));
        Assert.Empty(_r.StoredFiles("uploads"));
        Assert.Equal(1, report.Uploads.Removed);
        Assert.Equal((1, (long)Bytes.Length), (report.Uploads.FilesRemoved, report.Uploads.BytesRemoved));
    }

    [Fact]
    public async Task A_session_appended_to_recently_keeps_its_old_chunks_and_still_completes()
    {
        var upload = await SessionWithOneChunkAsync();
        _r.Clock.Advance(Stale - TimeSpan.FromHours(1));
        var second = "and more"u8.ToArray();
        (_, upload) = await _r.Uploads.AppendAsync(upload, Bytes.Length, new MemoryStream(second), second.Length, default);
        _r.Clock.Advance(TimeSpan.FromHours(2));

        var report = await RunAsync();

        Assert.Equal(0, report.Uploads.FilesRemoved);
        Assert.Single(_r.StoredFiles("uploads")); // both chunks, appended to the session's one object
        Assert.Equal(V2Outcome.Created, await _r.Uploads.CompleteAsync(upload, Digest.OfSha256(Sha256Hex.Of([.. Bytes, .. second])), RegistryFixture.User, default));
    }

    [Fact]
    public async Task A_blob_name_in_uploads_that_no_manifest_took_up_is_removed_after_the_stale_upload_age()
    {
        await _r.PushBlobAsync("app", Bytes);

        _r.Clock.Advance(Stale - TimeSpan.FromSeconds(1));
        await RunAsync();
        Assert.NotNull(await _r.Blobs.FindBlobAsync(Repo, "app", BytesDigest, RegistryFixture.AllowAll, default));

        _r.Clock.Advance(TimeSpan.FromSeconds(2));
        var report = await RunAsync();
        Assert.Null(await _r.Blobs.FindBlobAsync(Repo, "app", BytesDigest, RegistryFixture.AllowAll, default));
        Assert.Equal(1, report.Uploads.Removed);

        // No longer named, and written long before the grace period: collected in the same run.
        Assert.Equal(1, report.Gc.BlobsRemoved);
        Assert.Null(await _r.Content.SizeOfAsync(BytesDigest.Hex, default));
    }

    [Fact]
    public async Task A_v1_image_upload_never_completed_is_forgotten_after_the_stale_upload_age()
    {
        var id = RegistryFixture.ImageIdOf("abandoned");
        await _r.V1.Images.PutImageJsonAsync(RegistryFixture.V1Repo, id, RegistryFixture.V1ImageJson(id, null), default);

        _r.Clock.Advance(Stale - TimeSpan.FromSeconds(1));
        await RunAsync();
        Assert.Equal(V1Outcome.ImageUploading, (await _r.V1.Images.GetImageAsync(RegistryFixture.V1Repo, id, default)).Outcome);

        _r.Clock.Advance(TimeSpan.FromSeconds(2));
        await RunAsync();
        Assert.Equal(V1Outcome.ImageNotFound, (await _r.V1.Images.GetImageAsync(RegistryFixture.V1Repo, id, default)).Outcome);
    }

    [Fact]
    public async Task A_v1_layer_waiting_for_its_checksum_is_kept_past_the_grace_period()
    {
        var id = RegistryFixture.ImageIdOf("slow");
        var json = RegistryFixture.V1ImageJson(id, null);
        var layer = Encoding.UTF8.GetBytes("layer of a slow push");
        await _r.V1.Images.PutImageJsonAsync(RegistryFixture.V1Repo, id, json, default);
        await _r.V1.Images.PutLayerAsync(RegistryFixture.V1Repo, id, new MemoryStream(layer), default);

        _r.Clock.Advance(Grace * 3);
        Assert.Equal(0, (await RunAsync()).Gc.BlobsRemoved);

        Assert.Equal(V1Outcome.Ok, await _r.V1.Images.PutChecksumAsync(RegistryFixture.V1Repo, id, RegistryFixture.PayloadChecksum(json, layer), null, RegistryFixture.User, default));
        Assert.Equal(layer, await _r.Content.ReadAllBytesAsync(Sha256Hex.Of(layer), default));
    }

    [Fact]
    public async Task An_unreferenced_blob_is_kept_within_the_grace_period_and_collected_after_it()
    {
        await UnreferencedBlobAsync();

        _r.Clock.Advance(Grace - TimeSpan.FromSeconds(1));
        var within = await RunAsync();
        Assert.Equal(0, within.Gc.BlobsRemoved);
        Assert.Equal(Bytes.Length, await _r.Content.SizeOfAsync(BytesDigest.Hex, default));

        _r.Clock.Advance(TimeSpan.FromSeconds(2));
        var after = await RunAsync();
        Assert.Equal(1, after.Gc.BlobsRemoved);
        Assert.Equal(Bytes.Length, after.Gc.BytesRemoved);
        Assert.Null(await _r.Content.SizeOfAsync(BytesDigest.Hex, default));
        Assert.Empty(_r.StoredFiles("blobs"));
        Assert.Equal(after.Finished, _r.Clock.GetUtcNow());
        Assert.Same(after, _r.Cleanup.LastRun);
    }

    [Fact]
    public async Task Content_written_again_by_a_push_in_flight_is_kept_fresh_though_its_catalogue_row_is_old()
    {
        await UnreferencedBlobAsync();
        _r.Clock.Advance(Grace * 2);

        // A push writes the same bytes and has not yet committed the name that will reference them.
        await _r.Content.PutBytesAsync(Bytes, default);
        var report = await RunAsync();

        Assert.Equal(0, report.Gc.BlobsRemoved);
        Assert.Equal(1, report.Gc.BlobsKeptFresh);
        Assert.Equal(Bytes.Length, await _r.Content.SizeOfAsync(BytesDigest.Hex, default));
    }

    [Fact]
    public async Task Blobs_a_tag_names_are_never_collected()
    {
        var pushed = await _r.PushImageAsync("app", "1", "kept");
        _r.Clock.Advance(TimeSpan.FromDays(60));

        var report = await RunAsync();

        Assert.Equal(2, report.Uploads.Removed); // the upload names of config and layer
        Assert.Equal(0, report.Gc.BlobsRemoved);
        var manifest = await _r.Manifests.GetManifestAsync(Repo, "app", "1", RegistryFixture.AllowAll, default);
        Assert.Equal(pushed.Manifest, await _r.Manifests.ReadManifestAsync(manifest!, default));
        Assert.NotNull(await _r.Blobs.FindBlobAsync(Repo, "app", pushed.Layer, RegistryFixture.AllowAll, default));
        Assert.NotNull(await _r.Content.SizeOfAsync(pushed.Layer.Hex, default));
    }

    [Fact]
    public async Task A_deleted_tags_content_is_collected_once_its_upload_names_are_stale()
    {
        var pushed = await _r.PushImageAsync("app", "1", "gone");
        await _r.Manifests.DeleteManifestAsync(Repo, "app", "1", RegistryFixture.AllowAll, default);

        // Past the grace period only the manifest's bytes are unnamed: config and layer are still uploads.
        _r.Clock.Advance(Grace + TimeSpan.FromSeconds(1));
        Assert.Equal(1, (await RunAsync()).Gc.BlobsRemoved);
        Assert.Null(await _r.Content.SizeOfAsync(Sha256Hex.Of(pushed.Manifest), default));
        Assert.NotNull(await _r.Content.SizeOfAsync(pushed.Layer.Hex, default));

        _r.Clock.Advance(Stale);
        var report = await RunAsync();
        Assert.Equal(2, report.Gc.BlobsRemoved);
        Assert.Null(await _r.Content.SizeOfAsync(pushed.Config.Hex, default));
        Assert.Null(await _r.Content.SizeOfAsync(pushed.Layer.Hex, default));
    }

    [Fact]
    public async Task An_unreachable_v1_image_and_its_layer_go_after_the_grace_period()
    {
        var id = RegistryFixture.ImageIdOf("loose");
        var layer = Encoding.UTF8.GetBytes("loose layer");
        await _r.PublishV1ImageAsync(id, null, layer);

        _r.Clock.Advance(Grace - TimeSpan.FromSeconds(1));
        Assert.Equal(0, (await RunAsync()).V1ImagesRemoved);

        _r.Clock.Advance(TimeSpan.FromSeconds(2));
        var report = await RunAsync();
        Assert.Equal(1, report.V1ImagesRemoved);
        Assert.Equal(V1Outcome.ImageNotFound, (await _r.V1.Images.GetImageAsync(RegistryFixture.V1Repo, id, default)).Outcome);
        Assert.Null(await _r.Content.SizeOfAsync(Sha256Hex.Of(layer), default));
    }

    [Fact]
    public async Task Empty_folders_are_pruned_only_once_older_than_the_minimum_age()
    {
        await UnreferencedBlobAsync();
        Assert.Equal(["_uploads"], await _r.ChildrenAsync(Repo, "app"));

        Assert.Equal(0, (await RunAsync()).EmptyFoldersRemoved);

        _r.Clock.Advance(_r.Settings.EmptyFolderMinAge + TimeSpan.FromSeconds(1));
        Assert.Equal(2, (await RunAsync()).EmptyFoldersRemoved);
        Assert.Null(await _r.ItemAsync(Repo, "app"));
    }
}
