using System.Security.Cryptography;
using System.Text;
using Wharf.Core.Docker.V2;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Tests.Support;
using Wharf.Core.Tree;

namespace Wharf.Core.Tests.Docker;

/// <summary>V2Blobs: monolithic push, mount with and without a source image, delete (OCI "pushing", "mounting", "deleting blobs").</summary>
public sealed class V2BlobTests : IAsyncLifetime
{
    private const string Repo = RegistryFixture.V2Repo;
    private static readonly byte[] Bytes = Encoding.UTF8.GetBytes("a blob of some layer");
    private static readonly Digest BytesDigest = Digest.OfSha256(Sha256Hex.Of(Bytes));

    private RegistryFixture _r = null!;

    public async Task InitializeAsync() => _r = await RegistryFixture.CreateAsync();

    public async Task DisposeAsync() => await _r.DisposeAsync();

    [Fact]
    public async Task A_pushed_blob_is_named_in_the_images_uploads_folder_and_found_by_its_digest()
    {
        await _r.PushBlobAsync("team/app", Bytes);

        var found = await _r.Blobs.FindBlobAsync(Repo, "team/app", BytesDigest, RegistryFixture.AllowAll, default);
        Assert.NotNull(found);
        Assert.Equal($"team/app/_uploads/sha256__{BytesDigest.Hex}", found.Path);
        Assert.Equal(Bytes.Length, found.Size);
        Assert.Equal(Bytes, await _r.Blobs.ReadBlobAsync(found.Sha256!, default));
        Assert.Equal(RegistryFixture.Start, (await _r.ItemAsync(Repo, found.Path))!.Created);
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task A_blob_whose_bytes_do_not_match_its_digest_is_refused_and_not_named()
    {
        var wrong = Digest.OfSha256(Sha256Hex.Of("other bytes"u8));

        Assert.Equal(V2Outcome.DigestInvalid, await _r.Blobs.PutBlobAsync(Repo, "app", wrong, new MemoryStream(Bytes), Bytes.Length, RegistryFixture.User, default));

        Assert.Null(await _r.Blobs.FindBlobAsync(Repo, "app", wrong, RegistryFixture.AllowAll, default));
        Assert.Null(await _r.Blobs.FindBlobAsync(Repo, "app", BytesDigest, RegistryFixture.AllowAll, default));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task A_blob_of_one_image_is_unknown_to_another_image_until_mounted()
    {
        await _r.PushBlobAsync("source", Bytes);

        Assert.Null(await _r.Blobs.FindBlobAsync(Repo, "target", BytesDigest, RegistryFixture.AllowAll, default));
    }

    [Fact]
    public async Task A_mount_from_a_named_image_names_the_blob_in_the_target_image()
    {
        await _r.PushBlobAsync("source", Bytes);

        Assert.Equal(V2Outcome.Created, await _r.Blobs.MountAsync(Repo, "target", "source", BytesDigest, RegistryFixture.User, RegistryFixture.AllowAll, default));

        var mounted = await _r.Blobs.FindBlobAsync(Repo, "target", BytesDigest, RegistryFixture.AllowAll, default);
        Assert.Equal($"target/_uploads/sha256__{BytesDigest.Hex}", mounted?.Path);
        Assert.Equal(BytesDigest.Hex, mounted?.Sha256);
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task A_mount_from_an_image_that_lacks_the_blob_is_unknown_even_when_another_image_has_it()
    {
        await _r.PushBlobAsync("holder", Bytes);
        await _r.PushBlobAsync("other", "other"u8.ToArray());

        Assert.Equal(V2Outcome.BlobUnknown, await _r.Blobs.MountAsync(Repo, "target", "other", BytesDigest, RegistryFixture.User, RegistryFixture.AllowAll, default));
        Assert.Null(await _r.Blobs.FindBlobAsync(Repo, "target", BytesDigest, RegistryFixture.AllowAll, default));
    }

    [Fact]
    public async Task A_mount_without_a_source_image_discovers_the_blob_in_any_image_of_the_repository()
    {
        await _r.PushBlobAsync("deep/nested/holder", Bytes);

        Assert.Equal(V2Outcome.Created, await _r.Blobs.MountAsync(Repo, "target", null, BytesDigest, RegistryFixture.User, RegistryFixture.AllowAll, default));

        Assert.NotNull(await _r.Blobs.FindBlobAsync(Repo, "target", BytesDigest, RegistryFixture.AllowAll, default));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task A_mount_without_a_source_finds_nothing_in_another_repository()
    {
        var other = await _r.CreateRepositoryAsync(new("docker-v2-other", DockerApiVersion.V2));
        await _r.PushBlobAsync("holder", Bytes, other.Key);

        Assert.Equal(V2Outcome.BlobUnknown, await _r.Blobs.MountAsync(Repo, "target", null, BytesDigest, RegistryFixture.User, RegistryFixture.AllowAll, default));
    }

    [Fact]
    public async Task A_mount_only_from_places_the_caller_cannot_read_is_unknown()
    {
        await _r.PushBlobAsync("secret", Bytes);
        var cannotReadSecret = RegistryFixture.Refusing(AccessActions.Read, p => p.StartsWith("secret/", StringComparison.Ordinal));

        Assert.Equal(V2Outcome.BlobUnknown, await _r.Blobs.MountAsync(Repo, "target", "secret", BytesDigest, RegistryFixture.User, cannotReadSecret, default));
        Assert.Equal(V2Outcome.BlobUnknown, await _r.Blobs.MountAsync(Repo, "target", null, BytesDigest, RegistryFixture.User, cannotReadSecret, default));
        Assert.Null(await _r.Blobs.FindBlobAsync(Repo, "target", BytesDigest, RegistryFixture.AllowAll, default));
    }

    [Fact]
    public async Task Deleting_an_upload_only_blob_removes_its_name_and_leaves_the_content_for_the_collector()
    {
        await _r.PushBlobAsync("app", Bytes);

        var (outcome, usedBy) = await _r.Blobs.DeleteBlobAsync(Repo, "app", BytesDigest, RegistryFixture.AllowAll, default);

        Assert.Equal(V2Outcome.Ok, outcome);
        Assert.Null(usedBy);
        Assert.Null(await _r.Blobs.FindBlobAsync(Repo, "app", BytesDigest, RegistryFixture.AllowAll, default));
        Assert.Equal(Bytes.Length, await _r.Content.SizeOfAsync(BytesDigest.Hex, default));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task Deleting_a_blob_a_manifest_names_is_refused_and_names_the_manifest_folder()
    {
        var pushed = await _r.PushImageAsync("app", "1.0", "in use");

        var (outcome, usedBy) = await _r.Blobs.DeleteBlobAsync(Repo, "app", pushed.Layer, RegistryFixture.AllowAll, default);

        Assert.Equal(V2Outcome.BlobInUse, outcome);
        Assert.Equal("1.0", usedBy);
        Assert.NotNull(await _r.ItemAsync(Repo, $"app/_uploads/sha256__{pushed.Layer.Hex}"));
        Assert.NotNull(await _r.ItemAsync(Repo, $"app/1.0/sha256__{pushed.Layer.Hex}"));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task A_blob_in_use_where_the_caller_cannot_read_is_refused_without_naming_the_folder()
    {
        var pushed = await _r.PushImageAsync("app", "hidden", "in use");
        var cannotReadTag = RegistryFixture.Refusing(AccessActions.Read, p => p.StartsWith("app/hidden/", StringComparison.Ordinal));

        Assert.Equal((V2Outcome.BlobInUse, null), await _r.Blobs.DeleteBlobAsync(Repo, "app", pushed.Layer, cannotReadTag, default));
    }

    [Fact]
    public async Task Deleting_a_blob_the_image_does_not_hold_is_unknown()
    {
        await _r.PushBlobAsync("other", Bytes);

        Assert.Equal((V2Outcome.BlobUnknown, null), await _r.Blobs.DeleteBlobAsync(Repo, "app", BytesDigest, RegistryFixture.AllowAll, default));
        Assert.NotNull(await _r.Blobs.FindBlobAsync(Repo, "other", BytesDigest, RegistryFixture.AllowAll, default));
    }

    [Fact]
    public async Task Deleting_a_blob_without_delete_permission_is_denied_and_keeps_it()
    {
        await _r.PushBlobAsync("app", Bytes);
        var cannotDelete = RegistryFixture.Refusing(AccessActions.Delete, _ => true);

        Assert.Equal((V2Outcome.Denied, null), await _r.Blobs.DeleteBlobAsync(Repo, "app", BytesDigest, cannotDelete, default));
        Assert.NotNull(await _r.Blobs.FindBlobAsync(Repo, "app", BytesDigest, RegistryFixture.AllowAll, default));
    }

    [Fact]
    public async Task A_blob_pushed_by_a_sha512_digest_answers_by_it_is_mounted_by_it_and_stored_once()
    {
        var sha512 = new Digest(Digest.Sha512, Convert.ToHexStringLower(SHA512.HashData(Bytes)));

        Assert.Equal(V2Outcome.Created, await _r.Blobs.PutBlobAsync(Repo, "app", sha512, new MemoryStream(Bytes), Bytes.Length, RegistryFixture.User, default));
        Assert.Equal(V2Outcome.Created, await _r.Blobs.MountAsync(Repo, "other", null, sha512, RegistryFixture.User, RegistryFixture.AllowAll, default));

        var found = await _r.Blobs.FindBlobAsync(Repo, "other", sha512, RegistryFixture.AllowAll, default);
        Assert.Equal($"other/_uploads/sha512__{sha512.Hex}", found?.Path);
        Assert.Equal(BytesDigest.Hex, found?.Sha256);
        Assert.Single(_r.StoredFiles("blobs"));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task A_sha512_name_copied_onto_other_content_does_not_make_it_answer_to_that_digest()
    {
        var sha512 = new Digest(Digest.Sha512, Convert.ToHexStringLower(SHA512.HashData(Bytes)));
        var other = await _r.Content.PutBytesAsync("other content"u8.ToArray(), default);

        await RegistryFixture.WriteAsync(_r.Store, tx => tx.Tree.PutFileAsync(
            Repo, new NewFile($"app/_uploads/sha512__{sha512.Hex}", other.Sha256, other.Size, "application/octet-stream"), RegistryFixture.User, _r.Clock.GetUtcNow(), default));

        Assert.Null(await _r.Blobs.FindBlobAsync(Repo, "app", sha512, RegistryFixture.AllowAll, default));
        Assert.Equal(V2Outcome.BlobUnknown, await _r.Blobs.MountAsync(Repo, "target", "app", sha512, RegistryFixture.User, RegistryFixture.AllowAll, default));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task An_upload_session_completes_by_a_sha512_digest()
    {
        var sha512 = new Digest(Digest.Sha512, Convert.ToHexStringLower(SHA512.HashData(Bytes)));
        var upload = await _r.Uploads.StartUploadAsync(Repo, "app", default);
        (_, upload) = await _r.Uploads.AppendAsync(upload, 0, new MemoryStream(Bytes), Bytes.Length, default);

        Assert.Equal(V2Outcome.DigestInvalid, await _r.Uploads.CompleteAsync(upload, new Digest(Digest.Sha512, new string('0', 128)), RegistryFixture.User, default));
        Assert.Equal(V2Outcome.Created, await _r.Uploads.CompleteAsync(upload, sha512, RegistryFixture.User, default));

        Assert.NotNull(await _r.Blobs.FindBlobAsync(Repo, "app", sha512, RegistryFixture.AllowAll, default));
    }
}
