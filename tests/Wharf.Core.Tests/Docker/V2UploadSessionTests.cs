using System.Text;
using Wharf.Core.Docker.V2;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Tests.Support;

namespace Wharf.Core.Tests.Docker;

/// <summary>V2UploadSessions: resumable uploads (OCI "pushing a blob in chunks"), their ranges, completion and cancellation.</summary>
public sealed class V2UploadSessionTests : IAsyncLifetime
{
    private const string Repo = RegistryFixture.V2Repo;
    private const string Image = "team/app";
    private static readonly byte[] First = Encoding.UTF8.GetBytes("first chunk, ");
    private static readonly byte[] Second = Encoding.UTF8.GetBytes("second chunk");
    private static readonly byte[] Both = [.. First, .. Second];
    private static readonly Digest Whole = Digest.OfSha256(Sha256Hex.Of(Both));
    private static readonly Digest Wrong = Digest.OfSha256(Sha256Hex.Of("not these bytes"u8));

    private RegistryFixture _r = null!;

    public async Task InitializeAsync() => _r = await RegistryFixture.CreateAsync();

    public async Task DisposeAsync() => await _r.DisposeAsync();

    private Task<(V2Outcome Outcome, V2Upload Upload)> AppendAsync(V2Upload upload, byte[] chunk, long? rangeStart) =>
        _r.Uploads.AppendAsync(upload, rangeStart, new MemoryStream(chunk), chunk.Length, default);

    private Task<V2Upload?> ReloadAsync(V2Upload upload) => _r.Uploads.FindUploadAsync(Repo, Image, upload.Id, default);

    /// <summary>Same session state: the record compares its chunk list by reference, so that is compared apart.</summary>
    private static void AssertSameSession(V2Upload expected, V2Upload? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected with { ChunkKeys = [] }, actual with { ChunkKeys = [] });
        Assert.Equal(expected.ChunkKeys, actual.ChunkKeys);
    }

    private int ChunkFilesOnDisk() => _r.StoredFiles("uploads").Count;

    [Fact]
    public async Task A_started_session_is_found_only_under_its_own_repository_and_image()
    {
        var upload = await _r.Uploads.StartUploadAsync(Repo, Image, default);

        AssertSameSession(upload, await ReloadAsync(upload));
        Assert.Equal(RegistryFixture.Start, upload.Created);
        Assert.Null(await _r.Uploads.FindUploadAsync(Repo, "other", upload.Id, default));
        Assert.Null(await _r.Uploads.FindUploadAsync("docker-v1", Image, upload.Id, default));
        Assert.Null(await _r.Uploads.FindUploadAsync(Repo, Image, upload.Id.ToUpperInvariant(), default));
    }

    [Fact]
    public async Task Chunks_appended_in_order_complete_into_one_blob_named_in_the_image()
    {
        var upload = await _r.Uploads.StartUploadAsync(Repo, Image, default);
        _r.Clock.Advance(TimeSpan.FromMinutes(5));

        (var outcome, upload) = await AppendAsync(upload, First, rangeStart: 0);
        Assert.Equal(V2Outcome.Ok, outcome);
        (outcome, upload) = await AppendAsync(upload, Second, rangeStart: First.Length);
        Assert.Equal(V2Outcome.Ok, outcome);
        Assert.Equal(First.Length + Second.Length, upload.Size);
        Assert.Equal(2, upload.Chunks);
        Assert.Equal(RegistryFixture.Start.AddMinutes(5), (await ReloadAsync(upload))!.Updated);

        Assert.Equal(V2Outcome.Created, await _r.Uploads.CompleteAsync(upload, Whole, RegistryFixture.User, default));

        Assert.Null(await ReloadAsync(upload));
        var blob = await _r.Blobs.FindBlobAsync(Repo, Image, Whole, RegistryFixture.AllowAll, default);
        Assert.Equal($"{Image}/_uploads/sha256__{Whole.Hex}", blob?.Path);
        Assert.Equal(Both, await _r.Content.ReadAllBytesAsync(Whole.Hex, default));
        Assert.Equal(0, ChunkFilesOnDisk());
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task A_chunk_that_does_not_start_where_the_upload_ends_is_refused_and_changes_nothing()
    {
        var upload = await _r.Uploads.StartUploadAsync(Repo, Image, default);
        (_, upload) = await AppendAsync(upload, First, rangeStart: 0);

        var (outcome, after) = await AppendAsync(upload, Second, rangeStart: First.Length + 1);

        Assert.Equal(V2Outcome.RangeInvalid, outcome);
        AssertSameSession(upload, after);
        AssertSameSession(upload, await ReloadAsync(upload));
        Assert.Equal(1, ChunkFilesOnDisk());
    }

    [Fact]
    public async Task An_append_from_a_stale_view_of_the_session_is_refused()
    {
        var start = await _r.Uploads.StartUploadAsync(Repo, Image, default);
        var (_, current) = await AppendAsync(start, First, rangeStart: null);

        // The stale view still believes the session is empty: its chunk would overlap the first.
        Assert.Equal(V2Outcome.RangeInvalid, (await AppendAsync(start, Second, rangeStart: null)).Outcome);

        AssertSameSession(current, await ReloadAsync(start));
        Assert.Equal(1, ChunkFilesOnDisk());
    }

    [Fact]
    public async Task Completing_a_single_chunk_session_with_a_wrong_digest_keeps_it_for_a_retry()
    {
        var upload = await _r.Uploads.StartUploadAsync(Repo, Image, default);
        (_, upload) = await AppendAsync(upload, First, rangeStart: 0);

        Assert.Equal(V2Outcome.DigestInvalid, await _r.Uploads.CompleteAsync(upload, Wrong, RegistryFixture.User, default));

        AssertSameSession(upload, await ReloadAsync(upload));
        Assert.Null(await _r.Blobs.FindBlobAsync(Repo, Image, Wrong, RegistryFixture.AllowAll, default));
        var right = Digest.OfSha256(Sha256Hex.Of(First));
        Assert.Equal(V2Outcome.Created, await _r.Uploads.CompleteAsync(upload, right, RegistryFixture.User, default));
        Assert.NotNull(await _r.Blobs.FindBlobAsync(Repo, Image, right, RegistryFixture.AllowAll, default));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task Completing_a_chunked_session_with_a_wrong_digest_keeps_every_chunk_for_a_retry()
    {
        var upload = await _r.Uploads.StartUploadAsync(Repo, Image, default);
        (_, upload) = await AppendAsync(upload, First, rangeStart: 0);
        (_, upload) = await AppendAsync(upload, Second, rangeStart: First.Length);

        Assert.Equal(V2Outcome.DigestInvalid, await _r.Uploads.CompleteAsync(upload, Wrong, RegistryFixture.User, default));

        AssertSameSession(upload, await ReloadAsync(upload));
        Assert.Equal(1, ChunkFilesOnDisk()); // chunks are appended to the session's one object
        Assert.Equal(V2Outcome.Created, await _r.Uploads.CompleteAsync(upload, Whole, RegistryFixture.User, default));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task A_whole_blob_sent_with_the_completing_put_is_published_at_once()
    {
        var upload = await _r.Uploads.StartUploadAsync(Repo, Image, default);
        var (outcome, _) = await _r.Uploads.CompleteWithBodyAsync(upload, null, new MemoryStream(Both), Both.Length, Whole, RegistryFixture.User, default);

        Assert.Equal(V2Outcome.Created, outcome);
        Assert.Null(await ReloadAsync(upload));
        Assert.NotNull(await _r.Blobs.FindBlobAsync(Repo, Image, Whole, RegistryFixture.AllowAll, default));
        Assert.Equal(0, ChunkFilesOnDisk());
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task A_completing_put_whose_body_has_a_wrong_digest_records_the_body_so_a_bodiless_retry_succeeds()
    {
        var upload = await _r.Uploads.StartUploadAsync(Repo, Image, default);

        var (outcome, kept) = await _r.Uploads.CompleteWithBodyAsync(upload, null, new MemoryStream(First), First.Length, Wrong, RegistryFixture.User, default);

        Assert.Equal(V2Outcome.DigestInvalid, outcome);
        Assert.Equal(First.Length, kept.Size);
        AssertSameSession(kept, await ReloadAsync(upload));
        var right = Digest.OfSha256(Sha256Hex.Of(First));
        var (retried, _) = await _r.Uploads.CompleteWithBodyAsync(kept, null, new MemoryStream(), 0, right, RegistryFixture.User, default);
        Assert.Equal(V2Outcome.Created, retried);
        Assert.NotNull(await _r.Blobs.FindBlobAsync(Repo, Image, right, RegistryFixture.AllowAll, default));
    }

    [Fact]
    public async Task A_last_chunk_with_the_completing_put_joins_the_earlier_ones()
    {
        var upload = await _r.Uploads.StartUploadAsync(Repo, Image, default);
        (_, upload) = await AppendAsync(upload, First, rangeStart: 0);

        var (outcome, _) = await _r.Uploads.CompleteWithBodyAsync(upload, First.Length, new MemoryStream(Second), Second.Length, Whole, RegistryFixture.User, default);

        Assert.Equal(V2Outcome.Created, outcome);
        Assert.Equal(Both, await _r.Content.ReadAllBytesAsync(Whole.Hex, default));
    }

    [Fact]
    public async Task A_completing_put_with_a_range_that_does_not_follow_the_upload_is_refused()
    {
        var upload = await _r.Uploads.StartUploadAsync(Repo, Image, default);

        var (outcome, _) = await _r.Uploads.CompleteWithBodyAsync(upload, 5, new MemoryStream(First), First.Length, Whole, RegistryFixture.User, default);

        Assert.Equal(V2Outcome.RangeInvalid, outcome);
        AssertSameSession(upload, await ReloadAsync(upload));
        Assert.Equal(0, ChunkFilesOnDisk());
    }

    [Fact]
    public async Task Cancelling_ends_the_session_and_deletes_its_chunks()
    {
        var upload = await _r.Uploads.StartUploadAsync(Repo, Image, default);
        (_, upload) = await AppendAsync(upload, First, rangeStart: 0);
        (_, upload) = await AppendAsync(upload, Second, rangeStart: First.Length);
        Assert.Equal(1, ChunkFilesOnDisk()); // chunks are appended to the session's one object

        await _r.Uploads.CancelUploadAsync(upload, default);

        Assert.Null(await ReloadAsync(upload));
        Assert.Equal(0, ChunkFilesOnDisk());
        Assert.Equal(V2Outcome.UploadUnknown, (await AppendAsync(upload, Second, rangeStart: null)).Outcome);
        Assert.Equal(0, ChunkFilesOnDisk());
        Assert.Null(await _r.Blobs.FindBlobAsync(Repo, Image, Whole, RegistryFixture.AllowAll, default));
    }
}
