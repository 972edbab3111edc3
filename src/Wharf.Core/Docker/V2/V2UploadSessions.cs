using System.Security.Cryptography;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Storage;

namespace Wharf.Core.Docker.V2;

/// <summary>
/// Upload sessions (OCI "pushing a blob in chunks"): chunks written durably as they arrive, the
/// blob published when the session completes with a matching digest, in the transaction that
/// ends the session.
/// </summary>
internal sealed class V2UploadSessions(IMetadataStore store, ContentStore content, TimeProvider time)
{

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

        if (!V2Blobs.Matches(digest, chunk, sha512))
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

        if (!V2Blobs.Matches(digest, blob, sha512))
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

        await V2Blobs.NameBlobAsync(tx, upload.Repo, path, digest, blob, V2Blobs.OctetStream, user, time.GetUtcNow(), CancellationToken.None);
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
}
