using System.Security.Cryptography;
using Wharf.Core.Naming;
using Wharf.Core.Repositories;
using Wharf.Core.Security;
using Wharf.Core.Storage;
using Wharf.Core.Tree;

namespace Wharf.Core.Docker.V2;

internal enum V2Outcome
{
    Ok,
    Created,
    BlobUnknown,
    UploadUnknown,
    RangeInvalid,
    DigestInvalid,
    SizeInvalid,
    BodyIncomplete,
    ManifestUnknown,
    ManifestInvalid,
    ManifestUnsupported,
    ManifestBlobUnknown,
    BlobInUse,
    Denied,

    /// <summary>An item of the tree (a copy may put one under any name) is in the way of a file the request writes; nothing was written.</summary>
    PathBlocked,
}

/// <summary>A stored manifest as GET and HEAD answer it.</summary>
internal sealed record StoredManifest(string Sha256Hex, long Size, string MediaType, Digest Digest, string? Subject, string Path);

/// <summary>
/// The OCI distribution semantics over the V2 tree (rest-api §8.2). Blobs are content-addressed in
/// the content store; the tree names them per image: uploads land in <c>&lt;image&gt;/_uploads/</c>,
/// and a manifest push names its blobs again in its tag (or digest) folder. Content first,
/// metadata second: every row is committed after the bytes it names are durable.
/// </summary>
internal sealed partial class V2Registry(IMetadataStore store, ContentStore content, TimeProvider time)
{
    /// <summary>Largest manifest whose bytes stay in memory; they are content-addressed, so never stale.</summary>
    private const int CachedManifestBytes = 64 * 1024;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte[]> _manifestBytes = new(StringComparer.Ordinal);
    private long _manifestBytesTotal;

    /// <summary>Most manifest bytes kept in memory at once.</summary>
    private const long ManifestBytesBudget = 8 << 20;

    private const string JsonMime = "application/json";
    private const string OctetStream = "application/octet-stream";

    // ---------------------------------------------------------------- blobs

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
    private static async Task<TreeItem?> FindBlobAsync(IMetadataSession session, string repo, string image, Digest digest, ItemAccess access, CancellationToken cancellationToken)
    {
        foreach (var link in await session.V2Index.BlobLinksAsync(repo, image, digest.ToString(), cancellationToken))
        {
            if (await access(link.Path, AccessActions.Read) && await CarriesAsync(session, link.Sha256, digest, cancellationToken))
            {
                return link.ToItem();
            }
        }

        return null;
    }

    /// <summary>The blob where any image of the repository names it and the caller may read it (see <see cref="FindBlobAsync(IMetadataSession, string, string, Digest, ItemAccess, CancellationToken)"/>).</summary>
    private static async Task<TreeItem?> FindBlobInRepositoryAsync(IMetadataSession session, string repo, Digest digest, ItemAccess access, CancellationToken cancellationToken)
    {
        foreach (var link in await session.V2Index.BlobLinksInRepositoryAsync(repo, digest.ToString(), cancellationToken))
        {
            if (await access(link.Path, AccessActions.Read) && await CarriesAsync(session, link.Sha256, digest, cancellationToken))
            {
                return link.ToItem();
            }
        }

        return null;
    }

    private static async Task<bool> CarriesAsync(IMetadataSession session, string sha256, Digest digest, CancellationToken cancellationToken) =>
        digest.Algorithm == Digest.Sha256 ? sha256 == digest.Hex : await session.Blobs.GetSha512Async(sha256, cancellationToken) == digest.Hex;

    /// <summary>Names content by <paramref name="digest"/> (verified by the caller) and, for sha512, records that digest of it.</summary>
    private static async Task NameBlobAsync(IMetadataTransaction tx, string repo, string path, Digest digest, StoredBlob blob, string mime, string user, DateTimeOffset now, CancellationToken cancellationToken)
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
    private static bool Matches(Digest digest, StoredBlob blob, IncrementalHash? sha512) =>
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

    // ---------------------------------------------------------------- upload sessions

    public async Task<V2Upload> StartUploadAsync(string repo, string image, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var upload = new V2Upload(Guid.NewGuid().ToString("N"), repo, image, 0, 0, null, now, now);
        await using var tx = await store.BeginAsync(cancellationToken);
        await tx.V2Uploads.UpsertAsync(upload, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return upload;
    }

    /// <summary>The session, if it belongs to this repository and image.</summary>
    public async Task<V2Upload?> FindUploadAsync(string repo, string image, string id, CancellationToken cancellationToken)
    {
        if (id.Length != 32 || !id.All(char.IsAsciiHexDigitLower))
        {
            return null;
        }

        await using var session = await store.OpenAsync(cancellationToken);
        var upload = await session.V2Uploads.GetAsync(id, cancellationToken);
        return upload is not null && upload.Repo.Equals(repo, StringComparison.OrdinalIgnoreCase) && upload.Image == image ? upload : null;
    }

    /// <summary>
    /// Appends a chunk (PATCH). <paramref name="rangeStart"/>, when the client sent Content-Range,
    /// must equal the bytes received so far; otherwise 416 and the session is unchanged.
    /// </summary>
    public async Task<(V2Outcome Outcome, V2Upload Upload)> AppendAsync(V2Upload upload, long? rangeStart, Stream body, long? length, CancellationToken cancellationToken)
    {
        if (rangeStart is { } start && start != upload.Size)
        {
            return (V2Outcome.RangeInvalid, upload);
        }

        var key = StoragePaths.UploadChunk(upload.Id, upload.Chunks, Guid.NewGuid());
        var written = await content.WriteChunkAsync(key, body, long.MaxValue, cancellationToken, length);
        if (written.Blob is not { } chunk)
        {
            await content.DeleteKeysAsync([key], CancellationToken.None);
            return (V2Outcome.BodyIncomplete, upload);
        }

        if (chunk.Size == 0)
        {
            await content.DeleteKeysAsync([key], CancellationToken.None);
            return (V2Outcome.Ok, upload);
        }

        return await RecordChunkAsync(upload, key, chunk, cancellationToken);
    }

    /// <summary>Adds a written chunk to the session; the chunk is deleted when it cannot be (the session moved on).</summary>
    private async Task<(V2Outcome Outcome, V2Upload Upload)> RecordChunkAsync(V2Upload upload, string key, StoredBlob chunk, CancellationToken cancellationToken)
    {
        var recorded = false;
        try
        {
            await using var tx = await store.BeginAsync(cancellationToken);
            var current = await tx.V2Uploads.GetAsync(upload.Id, cancellationToken);
            if (current is null || current.Chunks != upload.Chunks)
            {
                // Cancelled, completed or appended to by another request meanwhile.
                return (current is null ? V2Outcome.UploadUnknown : V2Outcome.RangeInvalid, current ?? upload);
            }

            var next = current with
            {
                Size = current.Size + chunk.Size,
                Chunks = current.Chunks + 1,
                SingleChunkSha256 = current.Chunks == 0 ? chunk.Sha256 : null,
                Updated = time.GetUtcNow(),
                ChunkKeys = [.. current.ChunkKeys, key],
            };
            await tx.V2Uploads.UpsertAsync(next, cancellationToken);
            await tx.CommitAsync(cancellationToken);
            recorded = true;
            return (V2Outcome.Ok, next);
        }
        finally
        {
            if (!recorded)
            {
                // This attempt's object is its own: deleting it cannot touch what another request recorded.
                await content.DeleteKeysAsync([key], CancellationToken.None);
            }
        }
    }

    /// <summary>
    /// Completes a session with the PUT's own body as its last (or only) chunk. A session that has
    /// no bytes yet (POST, then PUT with the whole blob: what most clients send for small blobs)
    /// is published straight from the body with one commit; its chunk is recorded only when the
    /// digest does not match, so the client may retry the PUT without a body.
    /// </summary>
    public async Task<(V2Outcome Outcome, V2Upload Upload)> CompleteWithBodyAsync(
        V2Upload upload, long? rangeStart, Stream body, long? length, Digest digest, string user, CancellationToken cancellationToken)
    {
        if (upload.Chunks > 0 || length == 0)
        {
            var (appended, current) = await AppendAsync(upload, rangeStart, body, length, cancellationToken);
            return appended == V2Outcome.Ok ? (await CompleteAsync(current, digest, user, cancellationToken), current) : (appended, current);
        }

        if (rangeStart is { } start && start != 0)
        {
            return (V2Outcome.RangeInvalid, upload);
        }

        var key = StoragePaths.UploadChunk(upload.Id, 0, Guid.NewGuid());
        using var sha512 = digest.Algorithm == Digest.Sha512 ? IncrementalHash.CreateHash(HashAlgorithmName.SHA512) : null;
        var written = await content.WriteChunkAsync(key, body, long.MaxValue, cancellationToken, length, sha512);
        if (written.Blob is not { } chunk || chunk.Size == 0)
        {
            await content.DeleteKeysAsync([key], CancellationToken.None);
            return written.Blob is null ? (V2Outcome.BodyIncomplete, upload) : (await CompleteAsync(upload, digest, user, cancellationToken), upload);
        }

        if (!Matches(digest, chunk, sha512))
        {
            var (recorded, current) = await RecordChunkAsync(upload, key, chunk, cancellationToken);
            return (recorded == V2Outcome.Ok ? V2Outcome.DigestInvalid : recorded, current);
        }

        // Published before the session row goes (content first).
        if (!await content.TryPublishChunkAsync(key, chunk.Sha256, CancellationToken.None))
        {
            return (V2Outcome.UploadUnknown, upload);
        }

        var (finished, latest) = await FinishUploadAsync(upload, digest, chunk, user);
        return (finished, latest ?? upload);
    }

    /// <summary>
    /// Completes a session (PUT with <c>?digest=</c>, after an optional last chunk). A digest that does
    /// not match keeps the session, so the client may retry.
    /// </summary>
    public async Task<V2Outcome> CompleteAsync(V2Upload upload, Digest digest, string user, CancellationToken cancellationToken)
    {
        var keys = upload.ChunkKeys;
        if (digest.Algorithm == Digest.Sha256 && upload.Chunks == 1 && upload.SingleChunkSha256 is { } known && keys.Count == 1)
        {
            // The chunk was hashed while this session's own attempt wrote it, so it becomes the blob
            // by a rename, decided in the transaction that ends the session (FinishUploadAsync).
            return known == digest.Hex ? (await FinishUploadAsync(upload, digest, new StoredBlob(known, upload.Size), user, publishChunk: keys[0])).Outcome : V2Outcome.DigestInvalid;
        }

        using var sha512 = digest.Algorithm == Digest.Sha512 ? IncrementalHash.CreateHash(HashAlgorithmName.SHA512) : null;
        var put = await content.PutConcatenatedAsync(keys, sha512, cancellationToken);
        if (put.Blob is not { } blob)
        {
            return V2Outcome.UploadUnknown;
        }

        if (!Matches(digest, blob, sha512))
        {
            return V2Outcome.DigestInvalid;
        }

        var (finished, _) = await FinishUploadAsync(upload, digest, blob, user);
        if (finished == V2Outcome.Created)
        {
            await content.DeleteKeysAsync(keys, CancellationToken.None);
        }

        return finished;
    }

    /// <summary>
    /// Names the published blob in the image and ends the session, in one transaction, unless the
    /// session was cancelled or appended to meanwhile (the blob is then unreferenced and collected).
    /// <paramref name="publishChunk"/>, the session's only chunk, is renamed into the blob store only
    /// inside that transaction, after the check: chunks are recorded under the same write lock
    /// (RecordChunkAsync), so a racing PATCH either lands first (this answers 416 and moves nothing)
    /// or finds the session gone (it answers BLOB_UPLOAD_UNKNOWN and deletes its own chunk), and no
    /// session ever names a chunk that became a blob. Past this point the work finishes even if the
    /// client goes away.
    /// </summary>
    private async Task<(V2Outcome Outcome, V2Upload? Latest)> FinishUploadAsync(V2Upload upload, Digest digest, StoredBlob blob, string user, string? publishChunk = null)
    {
        await using var tx = await store.BeginAsync(CancellationToken.None);
        var latest = await tx.V2Uploads.GetAsync(upload.Id, CancellationToken.None);
        if (latest is null || latest.Chunks != upload.Chunks)
        {
            return (latest is null ? V2Outcome.UploadUnknown : V2Outcome.RangeInvalid, latest);
        }

        // An item in the way of the blob's name refuses the completion before anything moves: the
        // session keeps every chunk it names, for a retry once the item is gone.
        var path = V2Layout.UploadedBlob(upload.Image, digest);
        if (await tx.Tree.FindObstacleAsync(upload.Repo, path, folder: false, CancellationToken.None) is not null)
        {
            return (V2Outcome.PathBlocked, latest);
        }

        // Content first: the rename (and its directory fsync) completes before the row naming the blob commits.
        if (publishChunk is not null && !await content.TryPublishChunkAsync(publishChunk, blob.Sha256, CancellationToken.None))
        {
            // Neither the chunk nor the blob it became is stored (collected after a crash long ago):
            // the session cannot complete any more, so it ends.
            await tx.V2Uploads.DeleteAsync(upload.Id, CancellationToken.None);
            await tx.CommitAsync(CancellationToken.None);
            return (V2Outcome.UploadUnknown, null);
        }

        await NameBlobAsync(tx, upload.Repo, path, digest, blob, OctetStream, user, time.GetUtcNow(), CancellationToken.None);
        await tx.V2Uploads.DeleteAsync(upload.Id, CancellationToken.None);
        await tx.CommitAsync(CancellationToken.None);
        return (V2Outcome.Created, latest);
    }

    public async Task CancelUploadAsync(V2Upload upload, CancellationToken cancellationToken)
    {
        await using (var tx = await store.BeginAsync(cancellationToken))
        {
            await tx.V2Uploads.DeleteAsync(upload.Id, cancellationToken);
            await tx.CommitAsync(cancellationToken);
        }

        await content.DeleteKeysAsync(upload.ChunkKeys, CancellationToken.None);
    }

    // ---------------------------------------------------------------- manifests

    /// <summary>
    /// Stores a manifest under a tag or its digest (OCI "pushing manifests"): every blob it names
    /// must be in the image already, and every manifest an index names must be in the repository,
    /// each where the caller may read it. The caller must be able to deploy every file the push
    /// writes, and to delete the files of a tag it replaces with other content (rest-api §3.2).
    /// </summary>
    public async Task<(V2Outcome Outcome, Digest? Digest, Digest? Subject, string Message)> PutManifestAsync(
        RepositoryConfig repository, string image, string reference, byte[] bytes, string? contentType, string user, ItemAccess access, CancellationToken cancellationToken)
    {
        var (manifest, problem, message) = Manifests.Parse(bytes, contentType, repository.BlockPushingSchema1);
        if (manifest is null)
        {
            return (problem == ManifestProblem.Unsupported ? V2Outcome.ManifestUnsupported : V2Outcome.ManifestInvalid, null, null, message);
        }

        var hex = Sha256Hex.Of(bytes);
        var byDigest = Digest.TryParse(reference, out var referenced);

        // Pushed by a sha512 digest, the manifest is known by that digest (its folder, header and
        // properties); otherwise by its SHA-256.
        var digest = referenced?.Algorithm == Digest.Sha512 ? new Digest(Digest.Sha512, Convert.ToHexStringLower(SHA512.HashData(bytes))) : Digest.OfSha256(hex);
        if (byDigest && referenced != digest)
        {
            return (V2Outcome.DigestInvalid, null, null, $"the manifest's digest is {digest}, not {reference}");
        }

        var repo = repository.Key;
        var folder = byDigest ? V2Layout.DigestFolder(image, digest) : V2Layout.TagFolder(image, reference);
        var file = manifest.IsIndex ? V2Layout.ListManifestFile : V2Layout.ManifestFile;
        foreach (var written in manifest.Blobs.Select(b => $"{folder}/{V2Layout.BlobName(b.Digest)}").Prepend($"{folder}/{file}"))
        {
            if (!await access(written, AccessActions.Deploy))
            {
                return (V2Outcome.Denied, null, null, $"deploying {written} is not permitted");
            }
        }

        var stored = await content.PutBytesAsync(bytes, cancellationToken);
        var now = time.GetUtcNow();
        await using var tx = await store.BeginAsync(cancellationToken);
        var (references, refused, why) = await CheckReferencesAsync(tx, repo, image, manifest, access, cancellationToken);
        if (references is not { Blobs: var blobs, Labels: var labels })
        {
            return (refused, null, null, why);
        }

        // The same manifest again: the tag or digest folder keeps its names, properties and
        // creation time (nothing is replaced, so nothing needs delete or annotate).
        if ((await ManifestFileInAsync(tx, repo, folder, cancellationToken))?.Sha256 == hex)
        {
            return (V2Outcome.Created, digest, manifest.Subject?.Digest, "");
        }

        // Replacing a tag with other content needs delete permission (rest-api §3.2), decided in
        // this transaction so that a tag pushed meanwhile by someone else is not overwritten.
        var previous = byDigest ? null : await FindManifestAsync(tx, repo, image, reference, null, cancellationToken);

        if (previous is not null)
        {
            if (!await MayOnFilesInAsync(tx, repo, folder, access, AccessActions.Delete, cancellationToken))
            {
                return (V2Outcome.Denied, null, null, "replacing an existing tag needs delete permission");
            }

            var retained = await RetainRevisionAsync(tx, repository, image, reference, previous, user, now, access, cancellationToken);
            if (retained != V2Outcome.Ok)
            {
                return (retained, null, null, retained == V2Outcome.PathBlocked
                    ? "an item of the tree is in the way of the revision dockerTagRetention keeps"
                    : $"dockerTagRetention keeps the replaced manifest in {image}/{Digest.OfSha256(previous.Sha256Hex)}, which needs deploy, annotate and delete permission there");
            }
        }

        // A tag folder holds one manifest: a re-push replaces what was there (rest-api §3.7: the
        // blobs stay in the store until nothing names them).
        await ClearManifestFolderAsync(tx, repo, folder, cancellationToken);

        var properties = ManifestProperties(byDigest ? digest.ToString() : reference, digest, stored.Sha256, manifest.MediaType, image, manifest.Subject?.Digest, manifest.ArtifactType, labels);
        // An item in the way (put there by a copy) refuses the push whole: returning uncommitted undoes the above.
        if (!await tx.Tree.TryPutFileAsync(repo, new NewFile($"{folder}/{file}", stored.Sha256, stored.Size, manifest.MediaType, properties), user, now, cancellationToken))
        {
            return (V2Outcome.PathBlocked, null, null, $"an item of the tree is in the way of {folder}/{file}");
        }

        if (digest.Algorithm == Digest.Sha512)
        {
            await tx.Blobs.RecordSha512Async(stored.Sha256, digest.Hex, cancellationToken);
        }

        foreach (var (blobDigest, blob) in blobs)
        {
            if (!await tx.Tree.TryPutFileAsync(repo, new NewFile($"{folder}/{V2Layout.BlobName(blobDigest)}", blob.Sha256!, blob.Size, blob.MimeType ?? OctetStream), user, now, cancellationToken))
            {
                return (V2Outcome.PathBlocked, null, null, $"an item of the tree is in the way of {folder}/{V2Layout.BlobName(blobDigest)}");
            }
        }

        if (!byDigest && previous is null && repository.MaxUniqueTags > 0
            && !await DropOldestTagsAsync(tx, repo, image, reference, repository.MaxUniqueTags, access, cancellationToken))
        {
            return (V2Outcome.Denied, null, null, $"a new tag beyond maxUniqueTags ({repository.MaxUniqueTags}) removes the oldest tags of {image}, which needs delete permission on them");
        }

        await tx.CommitAsync(cancellationToken);
        return (V2Outcome.Created, digest, manifest.Subject?.Digest, "");
    }

    /// <summary>
    /// Removes the manifest and blob names directly in a tag or digest folder, and the folder when
    /// nothing else is in it. Never its subfolders: tag <c>b</c> of image <c>a</c> shares its path
    /// with the image <c>a/b</c>, whose tags live below it.
    /// </summary>
    internal static async Task ClearManifestFolderAsync(IMetadataTransaction tx, string repo, string folder, CancellationToken cancellationToken)
    {
        var children = await tx.Tree.ListChildrenAsync(repo, folder, cancellationToken);
        foreach (var file in children.Where(c => !c.IsFolder))
        {
            await tx.Tree.DeleteAsync(repo, file.Path, cancellationToken);
        }

        if (children.Count > 0 && children.All(c => !c.IsFolder))
        {
            await tx.Tree.DeleteAsync(repo, folder, cancellationToken);
        }
    }

    /// <summary>The V2 properties of a manifest file (rest-api §8.3), with Wharf's subject and artifact type.</summary>
    public static Dictionary<string, IReadOnlyList<string>> ManifestProperties(
        string manifestName, Digest digest, string sha256Hex, string mediaType, string image, Digest? subject, string? artifactType, IReadOnlyDictionary<string, string> labels)
    {
        var properties = new Dictionary<string, IReadOnlyList<string>>
        {
            [V2Properties.Manifest] = [manifestName],
            [V2Properties.ManifestDigest] = [digest.ToString()],
            [V2Properties.ManifestType] = [mediaType],
            [V2Properties.RepoName] = [image],
            [V2Properties.Sha256] = [sha256Hex],
            [V2Properties.ContentType] = [mediaType],
        };
        if (subject is not null)
        {
            properties[V2Properties.Subject] = [subject.ToString()];
        }

        if (artifactType is not null)
        {
            properties[V2Properties.ArtifactType] = [artifactType];
        }

        foreach (var (key, value) in labels)
        {
            if (PropertyString.ValidateKey(V2Properties.LabelPrefix + key) is null && value.Length <= PropertyString.MaxValueLength)
            {
                properties[V2Properties.LabelPrefix + key] = [value];
            }
        }

        return properties;
    }

    /// <summary>A manifest by tag or digest, where the caller may read it (by digest: any place of the image).</summary>
    public async ValueTask<StoredManifest?> GetManifestAsync(string repo, string image, string reference, ItemAccess access, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        return await FindManifestAsync(session, repo, image, reference, access, cancellationToken);
    }

    /// <summary>The bytes of a stored manifest (small ones served from memory).</summary>
    public async Task<byte[]?> ReadManifestAsync(StoredManifest manifest, CancellationToken cancellationToken)
    {
        if (_manifestBytes.TryGetValue(manifest.Sha256Hex, out var cached))
        {
            return cached;
        }

        var bytes = await content.ReadAllBytesAsync(manifest.Sha256Hex, cancellationToken);
        if (bytes is { Length: <= CachedManifestBytes })
        {
            // Bounded by bytes, not entries: ten thousand large manifests would otherwise hold
            // hundreds of megabytes. Starting over is cheap; the bytes are content-addressed.
            if (Interlocked.Read(ref _manifestBytesTotal) + bytes.Length > ManifestBytesBudget)
            {
                _manifestBytes.Clear();
                Interlocked.Exchange(ref _manifestBytesTotal, 0);
            }

            if (_manifestBytes.TryAdd(manifest.Sha256Hex, bytes))
            {
                Interlocked.Add(ref _manifestBytesTotal, bytes.Length);
            }
        }

        return bytes;
    }

    /// <summary>
    /// By tag: the tag folder's manifest; by digest: any manifest of the image with that digest.
    /// With <paramref name="access"/>, only a place the caller may read counts.
    /// </summary>
    private static async Task<StoredManifest?> FindManifestAsync(IMetadataSession session, string repo, string image, string reference, ItemAccess? access, CancellationToken cancellationToken)
    {
        IReadOnlyList<V2ManifestRow> candidates;
        if (!Digest.TryParse(reference, out var digest))
        {
            candidates = V2Name.IsValidTag(reference) ? await session.V2Index.ManifestsInFolderAsync(repo, image, reference, cancellationToken) : [];
        }
        else if (digest.Algorithm == Digest.Sha256)
        {
            candidates = await session.V2Index.ManifestsWithContentAsync(repo, image, digest.Hex, cancellationToken);
        }
        else
        {
            // Known by a sha512 digest only where it was pushed by it (see PutManifestAsync).
            candidates = await session.V2Index.ManifestsInFolderAsync(repo, image, digest.ToString(), cancellationToken);
        }

        // By tag or sha512 digest the folder's first manifest file answers; by sha256 digest any
        // place of the image the caller may read.
        foreach (var row in digest?.Algorithm == Digest.Sha256 ? candidates : candidates.Take(1))
        {
            if (access is not null && !await access(row.Path, AccessActions.Read))
            {
                continue;
            }

            if (digest?.Algorithm == Digest.Sha512 && !await CarriesAsync(session, row.Sha256, digest, cancellationToken))
            {
                return null;
            }

            var known = digest?.Algorithm == Digest.Sha512 ? digest : Digest.OfSha256(row.Sha256);
            return new StoredManifest(row.Sha256, row.Size, row.MediaType, known, row.Subject, row.Path);
        }

        return null;
    }

    /// <summary>The manifest file of a tag or digest folder (<c>manifest.json</c> or <c>list.manifest.json</c>).</summary>
    internal static async Task<TreeItem?> ManifestFileInAsync(IMetadataSession session, string repo, string folder, CancellationToken cancellationToken) =>
        (await session.V2Index.ManifestsInFolderAsync(repo, ItemPath.Parent(folder), ItemPath.Name(folder), cancellationToken)) is [var first, ..] ? first.ToItem() : null;

    /// <summary>Every manifest file in the folders directly below the image (tags and digests), manifests before lists.</summary>
    internal static async Task<IReadOnlyList<TreeItem>> ListManifestFilesAsync(IMetadataSession session, string repo, string image, CancellationToken cancellationToken) =>
        [.. (await session.V2Index.ManifestsOfImageAsync(repo, image, cancellationToken)).Select(r => r.ToItem())];

    /// <summary>
    /// By tag: that tag folder; by digest: every folder of the image holding that manifest. A
    /// manifest the caller may read nowhere is unknown to them; every file removed must be one
    /// the caller may delete, or nothing is.
    /// </summary>
    public async Task<V2Outcome> DeleteManifestAsync(string repo, string image, string reference, ItemAccess access, CancellationToken cancellationToken)
    {
        await using var tx = await store.BeginAsync(cancellationToken);
        var folders = new List<string>();
        if (Digest.TryParse(reference, out var digest))
        {
            if (digest.Algorithm == Digest.Sha512)
            {
                if (await FindManifestAsync(tx, repo, image, reference, access, cancellationToken) is not null)
                {
                    folders.Add(V2Layout.DigestFolder(image, digest));
                }
            }
            else if (await FindManifestAsync(tx, repo, image, reference, access, cancellationToken) is not null)
            {
                folders.AddRange((await tx.V2Index.ManifestsWithContentAsync(repo, image, digest.Hex, cancellationToken)).Select(r => ItemPath.Parent(r.Path)));
            }
        }
        else if (V2Name.IsValidTag(reference) && await FindManifestAsync(tx, repo, image, reference, access, cancellationToken) is not null)
        {
            folders.Add(V2Layout.TagFolder(image, reference));
        }

        if (folders.Count == 0)
        {
            return V2Outcome.ManifestUnknown;
        }

        folders = [.. folders.Distinct(StringComparer.Ordinal)];
        foreach (var folder in folders)
        {
            if (!await MayOnFilesInAsync(tx, repo, folder, access, AccessActions.Delete, cancellationToken))
            {
                return V2Outcome.Denied;
            }
        }

        foreach (var folder in folders)
        {
            await ClearManifestFolderAsync(tx, repo, folder, cancellationToken);
        }

        await tx.CommitAsync(cancellationToken);
        return V2Outcome.Ok;
    }

    // ---------------------------------------------------------------- discovery

    /// <summary>
    /// The tags of an image whose manifest the caller may read, in lexical order; null when the
    /// image does not exist (an image without tags the caller may read lists none, and so does
    /// one whose last tag is gone while it still holds blobs or digest pushes: the spec answers
    /// its tags list with 200, not NAME_UNKNOWN).
    /// </summary>
    public async ValueTask<IReadOnlyList<string>?> ListTagsAsync(string repo, string image, ItemAccess access, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        var tags = await session.V2Index.TagsAsync(repo, image, cancellationToken);
        if (tags.Count == 0)
        {
            return await session.V2Index.ImageExistsAsync(repo, image, cancellationToken) ? [] : null;
        }

        var readable = new List<string>(tags.Count);
        foreach (var tag in tags.DistinctBy(t => t.Folder, StringComparer.Ordinal))
        {
            if (await access(tag.Path, AccessActions.Read))
            {
                readable.Add(tag.Folder);
            }
        }

        return readable;
    }

    /// <summary>
    /// Every image of the repository with at least one tag, in lexical order, that the caller may
    /// read at that depth: the image folder itself (a pattern covering it, not only a path below
    /// it), or else one of its manifests.
    /// </summary>
    public async Task<IReadOnlyList<string>> CatalogAsync(string repo, ItemAccess access, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        var readable = new List<string>();
        foreach (var image in await session.V2Index.TaggedImagesAsync(repo, cancellationToken))
        {
            if (await access(image, AccessActions.Read) || await AnyManifestReadableAsync(session, repo, image, access, cancellationToken))
            {
                readable.Add(image);
            }
        }

        return readable;
    }

    private static async Task<bool> AnyManifestReadableAsync(IMetadataSession session, string repo, string image, ItemAccess access, CancellationToken cancellationToken)
    {
        foreach (var manifest in await session.V2Index.ManifestsOfImageAsync(repo, image, cancellationToken))
        {
            if (await access(manifest.Path, AccessActions.Read))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Manifests of the image whose subject is <paramref name="subject"/> (OCI referrers API), where the caller may read them.</summary>
    public async Task<IReadOnlyList<Descriptor>> ReferrersAsync(string repo, string image, Digest subject, string? artifactType, ItemAccess access, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        var result = new Dictionary<string, Descriptor>(StringComparer.Ordinal);
        foreach (var row in await session.V2Index.ReferrersAsync(repo, image, subject.ToString(), cancellationToken))
        {
            if ((artifactType is null || row.ArtifactType == artifactType) && await access(row.Path, AccessActions.Read))
            {
                result.TryAdd(row.Sha256, new Descriptor(row.MediaType, Digest.OfSha256(row.Sha256), row.Size, row.ArtifactType));
            }
        }

        return [.. result.Values];
    }

    public Task<Stream?> OpenBlobAsync(string sha256Hex, long offset, CancellationToken cancellationToken) =>
        content.OpenReadAsync(sha256Hex, offset, cancellationToken);

    public Task<byte[]?> ReadBlobAsync(string sha256Hex, CancellationToken cancellationToken) => content.ReadAllBytesAsync(sha256Hex, cancellationToken);
}
