using System.Security.Cryptography;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Security;
using Wharf.Core.Storage;
using Wharf.Core.Tree;

namespace Wharf.Core.Docker.V2;

/// <summary>
/// Blobs of V2 images (OCI "pulling blobs", "pushing blobs", "mounting", "deleting blobs").
/// Content-addressed in the content store, named per image in the tree: uploads land in
/// <c>&lt;image&gt;/_uploads/</c>, and a manifest push names its blobs again in its tag or digest
/// folder. Content first, metadata second: a row is committed after the bytes it names are durable.
/// </summary>
internal sealed class V2Blobs(IMetadataStore store, ContentStore content, TimeProvider time)
{
    internal const string OctetStream = "application/octet-stream";


    /// <summary>The blob as the image names it anywhere in its tree where the caller may read it; null when there is no such place.</summary>
    public async Task<TreeItem?> FindBlobAsync(string repo, string image, Digest digest, ItemAccess access, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        return await FindBlobAsync(session, repo, image, digest, access, cancellationToken);
    }

    /// <summary>
    /// The item must carry the digest, not only its name (names can be copied): a sha256 name its
    /// checksum, a sha512 name the SHA-512 recorded for its content when that was verified. Only
    /// a place the caller may read counts: a blob is served, mounted or named by a manifest only
    /// through a path the storage API would serve it from.
    /// </summary>
    internal static async Task<TreeItem?> FindBlobAsync(IMetadataSession session, string repo, string image, Digest digest, ItemAccess access, CancellationToken cancellationToken) =>
        await FirstReadableAsync(session, await session.V2Index.BlobLinksAsync(repo, image, digest.ToString(), cancellationToken), digest, access, cancellationToken);

    /// <summary>The blob where any image of the repository names it and the caller may read it (see <see cref="FindBlobAsync(IMetadataSession, string, string, Digest, ItemAccess, CancellationToken)"/>).</summary>
    private static async Task<TreeItem?> FindBlobInRepositoryAsync(IMetadataSession session, string repo, Digest digest, ItemAccess access, CancellationToken cancellationToken) =>
        await FirstReadableAsync(session, await session.V2Index.BlobLinksInRepositoryAsync(repo, digest.ToString(), cancellationToken), digest, access, cancellationToken);

    /// <summary>The first of <paramref name="links"/> the caller may read whose content the digest really names.</summary>
    private static async Task<TreeItem?> FirstReadableAsync(IMetadataSession session, IReadOnlyList<V2BlobLinkRow> links, Digest digest, ItemAccess access, CancellationToken cancellationToken)
    {
        foreach (var link in links)
        {
            if (await access(link.Path, AccessActions.Read) && await CarriesAsync(session, link.Sha256, digest, cancellationToken))
            {
                return link.ToItem();
            }
        }

        return null;
    }

    internal static async Task<bool> CarriesAsync(IMetadataSession session, string sha256, Digest digest, CancellationToken cancellationToken) =>
        digest.Algorithm == Digest.Sha256 ? sha256 == digest.Hex : await session.Blobs.GetSha512Async(sha256, cancellationToken) == digest.Hex;

    /// <summary>Names content by <paramref name="digest"/> (verified by the caller) and, for sha512, records that digest of it.</summary>
    internal static async Task NameBlobAsync(IMetadataTransaction tx, string repo, string path, Digest digest, StoredBlob blob, string mime, string user, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await tx.Tree.PutFileAsync(repo, new NewFile(path, blob.Sha256, blob.Size, mime), user, now, cancellationToken);
        if (digest.Algorithm == Digest.Sha512)
        {
            await tx.Blobs.RecordSha512Async(blob.Sha256, digest.Hex, cancellationToken);
        }
    }

    /// <summary>Monolithic upload (POST with <c>?digest=</c>, or PUT with the whole body).</summary>
    public async Task<V2Outcome> PutBlobAsync(string repo, string image, Digest digest, Stream body, long? length, string user, CancellationToken cancellationToken)
    {
        using var sha512 = digest.Algorithm == Digest.Sha512 ? IncrementalHash.CreateHash(HashAlgorithmName.SHA512) : null;
        var put = await content.PutAsync(body, long.MaxValue, sha512, cancellationToken, length);
        if (put.Blob is not { } blob)
        {
            return V2Outcome.BodyIncomplete;
        }

        if (!Matches(digest, blob, sha512))
        {
            return V2Outcome.DigestInvalid;
        }

        return await RecordUploadedBlobAsync(repo, image, digest, blob, user, cancellationToken) ? V2Outcome.Created : V2Outcome.PathBlocked;
    }

    /// <summary>Whether stored content is what <paramref name="digest"/> names; <paramref name="sha512"/> saw the same bytes.</summary>
    internal static bool Matches(Digest digest, StoredBlob blob, IncrementalHash? sha512) =>
        digest.Algorithm == Digest.Sha512
            ? sha512 is not null && Convert.ToHexStringLower(sha512.GetHashAndReset()) == digest.Hex
            : blob.Sha256 == digest.Hex;

    /// <summary>False, with nothing written, when an item of the tree is in the way of the blob's name.</summary>
    private async Task<bool> RecordUploadedBlobAsync(string repo, string image, Digest digest, StoredBlob blob, string user, CancellationToken cancellationToken)
    {
        await using var tx = await store.BeginAsync(cancellationToken);
        var path = V2Layout.UploadedBlob(image, digest);
        if (await tx.Tree.FindObstacleAsync(repo, path, folder: false, cancellationToken) is not null)
        {
            return false;
        }

        await NameBlobAsync(tx, repo, path, digest, blob, OctetStream, user, time.GetUtcNow(), cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>
    /// Cross-repository mount: names a blob another image of the same repository holds where the
    /// caller may read it (Created); BlobUnknown when it holds none there, PathBlocked when an item
    /// of the tree is in the way of the name. Without <paramref name="fromImage"/> (automatic
    /// content discovery) any image of the repository may be the source.
    /// </summary>
    public async Task<V2Outcome> MountAsync(string repo, string image, string? fromImage, Digest digest, string user, ItemAccess access, CancellationToken cancellationToken)
    {
        await using var tx = await store.BeginAsync(cancellationToken);
        var source = fromImage is null
            ? await FindBlobInRepositoryAsync(tx, repo, digest, access, cancellationToken)
            : await FindBlobAsync(tx, repo, fromImage, digest, access, cancellationToken);
        if (source is null)
        {
            return V2Outcome.BlobUnknown;
        }

        if (!await tx.Tree.TryPutFileAsync(repo, new NewFile(V2Layout.UploadedBlob(image, digest), source.Sha256!, source.Size, OctetStream), user, time.GetUtcNow(), cancellationToken))
        {
            return V2Outcome.PathBlocked;
        }

        await tx.CommitAsync(cancellationToken);
        return V2Outcome.Created;
    }

    /// <summary>
    /// Deletes a blob from an image unless one of its manifests names it. The caller must be able
    /// to read one of its places (else it is unknown to them) and delete each upload entry removed;
    /// the manifest folder that still uses it is named only when the caller may read it.
    /// </summary>
    public async Task<(V2Outcome Outcome, string? UsedBy)> DeleteBlobAsync(string repo, string image, Digest digest, ItemAccess access, CancellationToken cancellationToken)
    {
        await using var tx = await store.BeginAsync(cancellationToken);
        var named = await tx.V2Index.BlobLinksAsync(repo, image, digest.ToString(), cancellationToken);
        if (await FindBlobAsync(tx, repo, image, digest, access, cancellationToken) is null)
        {
            return (V2Outcome.BlobUnknown, null);
        }

        if (named.FirstOrDefault(i => i.Folder != V2Layout.UploadsFolder) is { } used)
        {
            return (V2Outcome.BlobInUse, await access(used.Path, AccessActions.Read) ? used.Folder : null);
        }

        foreach (var item in named)
        {
            if (!await access(item.Path, AccessActions.Delete))
            {
                return (V2Outcome.Denied, null);
            }
        }

        foreach (var item in named)
        {
            await tx.Tree.DeleteAsync(repo, item.Path, cancellationToken);
        }

        await tx.CommitAsync(cancellationToken);
        return (V2Outcome.Ok, null);
    }

    public Task<Stream?> OpenBlobAsync(string sha256Hex, long offset, CancellationToken cancellationToken) =>
        content.OpenReadAsync(sha256Hex, offset, cancellationToken);

    public Task<byte[]?> ReadBlobAsync(string sha256Hex, CancellationToken cancellationToken) => content.ReadAllBytesAsync(sha256Hex, cancellationToken);
}
