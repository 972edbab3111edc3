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
    /// <summary>Per session: the lock its writers take, and its running hash.</summary>
    private readonly RunningUploads _running = new();

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

        using var lease = await _running.AcquireAsync(upload.Id, cancellationToken);
        return await AppendLockedAsync(lease, upload, body, length, cancellationToken);
    }

    /// <summary>
    /// The session's bytes are one object, written once: the first chunk is staged and moved into
    /// place (its name durable before the session records it), later ones are appended to it in
    /// place, each made durable before the session's new size is recorded. The session's lock keeps
    /// every other writer out meanwhile, and its size in the database is the truth: the bytes of an
    /// append that fails are cut off by the next one (and before the object is published). The
    /// running SHA-256 is fed a copy of itself, kept only once the chunk is recorded. Sessions from
    /// before this scheme that already hold several chunk objects go on adding one object per chunk.
    /// </summary>
    private async Task<(V2Outcome Outcome, V2Upload Upload)> AppendLockedAsync(RunningUploads.Lease lease, V2Upload upload, Stream body, long? length, CancellationToken cancellationToken)
    {
        // Another request may have appended to, completed or cancelled the session while this one waited.
        var current = await ReadAsync(upload.Id, cancellationToken);
        if (current is null || current.Chunks != upload.Chunks)
        {
            return (current is null ? V2Outcome.UploadUnknown : V2Outcome.RangeInvalid, current ?? upload);
        }

        if (length == 0)
        {
            return (V2Outcome.Ok, current);
        }

        if (current.ChunkKeys.Count != 1)
        {
            using var first = current.ChunkKeys.Count == 0 ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
            var key = StoragePaths.UploadChunk(current.Id, current.Chunks, Guid.NewGuid());
            var written = await content.WriteChunkAsync(key, body, long.MaxValue, cancellationToken, length, sha256: first);
            if (written.Blob is not { } chunk || chunk.Size == 0)
            {
                await content.DeleteKeysAsync([key], CancellationToken.None);
                return (written.Blob is null ? V2Outcome.BodyIncomplete : V2Outcome.Ok, current);
            }

            var (outcome, next) = await RecordChunkAsync(current, chunk.Size, chunk.Sha256, [.. current.ChunkKeys, key], ownKey: key, cancellationToken);
            if (outcome == V2Outcome.Ok && first is not null)
            {
                lease.Keep(first.Clone(), next.Size);
            }

            return (outcome, next);
        }

        var running = lease.CloneHashAt(current.Size);
        try
        {
            var (appended, failure) = await content.AppendChunkAsync(current.ChunkKeys[0], current.Size, body, running, length, cancellationToken);
            if (failure != PutBlobFailure.None || appended == 0)
            {
                // A session whose object is gone was purged or cancelled meanwhile.
                return (failure switch { PutBlobFailure.None => V2Outcome.Ok, PutBlobFailure.Missing => V2Outcome.UploadUnknown, _ => V2Outcome.BodyIncomplete }, current);
            }

            var (outcome, next) = await RecordChunkAsync(current, appended, null, current.ChunkKeys, ownKey: null, cancellationToken);
            if (outcome == V2Outcome.Ok && running is not null)
            {
                lease.Keep(running, next.Size);
                running = null;
            }

            return (outcome, next);
        }
        finally
        {
            running?.Dispose();
        }
    }

    private async Task<V2Upload?> ReadAsync(string id, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        return await session.V2Uploads.GetAsync(id, cancellationToken);
    }

    /// <summary>
    /// Records <paramref name="size"/> more bytes in the session, now held by <paramref name="keys"/>.
    /// <paramref name="ownKey"/>, a new object this request wrote, is deleted when the session cannot
    /// take it (it moved on); appended bytes belong to the session's object and go with it.
    /// </summary>
    private async Task<(V2Outcome Outcome, V2Upload Upload)> RecordChunkAsync(
        V2Upload upload, long size, string? chunkSha256, IReadOnlyList<string> keys, string? ownKey, CancellationToken cancellationToken)
    {
        var recorded = false;
        try
        {
            await using var tx = await store.BeginAsync(cancellationToken);
            var current = await tx.V2Uploads.GetAsync(upload.Id, cancellationToken);
            if (current is null || current.Chunks != upload.Chunks)
            {
                // Cancelled, completed or purged meanwhile.
                return (current is null ? V2Outcome.UploadUnknown : V2Outcome.RangeInvalid, current ?? upload);
            }

            var next = current with
            {
                Size = current.Size + size,
                Chunks = current.Chunks + 1,
                SingleChunkSha256 = current.Chunks == 0 ? chunkSha256 : null,
                Updated = time.GetUtcNow(),
                ChunkKeys = keys,
            };
            await tx.V2Uploads.UpsertAsync(next, cancellationToken);
            await tx.CommitAsync(cancellationToken);
            recorded = true;
            return (V2Outcome.Ok, next);
        }
        finally
        {
            if (!recorded && ownKey is not null)
            {
                // This attempt's object is its own: deleting it cannot touch what another request recorded.
                await content.DeleteKeysAsync([ownKey], CancellationToken.None);
            }
        }
    }

    /// <summary>
    /// Completes a session with the PUT's own body as its last (or only) chunk. A session that has
    /// no bytes yet (POST, then PUT with the whole blob: what most clients send for small blobs)
    /// is published straight from the staged body with one commit; the body becomes the session's
    /// chunk only when the digest does not match, so the client may retry the PUT without a body.
    /// </summary>
    public async Task<(V2Outcome Outcome, V2Upload Upload)> CompleteWithBodyAsync(
        V2Upload upload, long? rangeStart, Stream body, long? length, Digest digest, string user, CancellationToken cancellationToken)
    {
        if (upload.Chunks > 0 || length == 0)
        {
            if (rangeStart is { } at && at != upload.Size)
            {
                return (V2Outcome.RangeInvalid, upload);
            }

            using var lease = await _running.AcquireAsync(upload.Id, cancellationToken);
            var (appended, current) = await AppendLockedAsync(lease, upload, body, length, cancellationToken);
            return appended == V2Outcome.Ok ? (await CompleteLockedAsync(lease, current, digest, user, cancellationToken), current) : (appended, current);
        }

        if (rangeStart is { } start && start != 0)
        {
            return (V2Outcome.RangeInvalid, upload);
        }

        using var sha512 = digest.Algorithm == Digest.Sha512 ? IncrementalHash.CreateHash(HashAlgorithmName.SHA512) : null;
        var (staged, written) = await content.StageAsync(body, long.MaxValue, sha512, length, null, cancellationToken);
        if (written.Blob is not { } chunk || chunk.Size == 0)
        {
            await content.DeleteKeysAsync([staged], CancellationToken.None);
            return written.Blob is null ? (V2Outcome.BodyIncomplete, upload) : (await CompleteAsync(upload, digest, user, cancellationToken), upload);
        }

        if (!V2Blobs.Matches(digest, chunk, sha512))
        {
            var key = StoragePaths.UploadChunk(upload.Id, 0, Guid.NewGuid());
            await content.KeepStagedAsync(staged, key, CancellationToken.None);
            var (recorded, current) = await RecordChunkAsync(upload, chunk.Size, chunk.Sha256, [key], ownKey: key, cancellationToken);
            return (recorded == V2Outcome.Ok ? V2Outcome.DigestInvalid : recorded, current);
        }

        // Published before the session row goes (content first).
        await content.PublishStagedAsync(staged, chunk.Sha256, CancellationToken.None);
        var (finished, latest) = await FinishUploadAsync(upload, digest, chunk, user);
        return (finished, latest ?? upload);
    }

    /// <summary>
    /// Completes a session (PUT with <c>?digest=</c>, after an optional last chunk). A digest that does
    /// not match keeps the session, so the client may retry.
    /// </summary>
    public async Task<V2Outcome> CompleteAsync(V2Upload upload, Digest digest, string user, CancellationToken cancellationToken)
    {
        using var lease = await _running.AcquireAsync(upload.Id, cancellationToken);
        var current = await ReadAsync(upload.Id, cancellationToken);
        if (current is null || current.Chunks != upload.Chunks)
        {
            return current is null ? V2Outcome.UploadUnknown : V2Outcome.RangeInvalid;
        }

        return await CompleteLockedAsync(lease, current, digest, user, cancellationToken);
    }

    /// <summary>
    /// A session held in one object is verified by its running hash (or, after a restart, by reading
    /// the object once), cut to its recorded size and renamed into the blob store in the transaction
    /// that ends the session (FinishUploadAsync): written once, never copied. Sessions that hold
    /// several objects (from before) or none are concatenated into a new blob.
    /// </summary>
    private async Task<V2Outcome> CompleteLockedAsync(RunningUploads.Lease lease, V2Upload upload, Digest digest, string user, CancellationToken cancellationToken)
    {
        var keys = upload.ChunkKeys;
        using var sha512 = digest.Algorithm == Digest.Sha512 ? IncrementalHash.CreateHash(HashAlgorithmName.SHA512) : null;
        if (keys.Count == 1)
        {
            var sha256 = sha512 is not null ? null
                : lease.DigestAt(upload.Size) is { } running ? Sha256Hex.Format(running)
                : upload.Chunks == 1 ? upload.SingleChunkSha256 : null;
            if (sha256 is null)
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                if (!await content.HashObjectAsync(keys[0], upload.Size, hash, sha512, cancellationToken))
                {
                    return V2Outcome.UploadUnknown;
                }

                sha256 = Sha256Hex.Format(hash.GetHashAndReset());
            }

            var blob = new StoredBlob(sha256, upload.Size);
            if (!V2Blobs.Matches(digest, blob, sha512))
            {
                return V2Outcome.DigestInvalid;
            }

            if (!await content.CutChunkAsync(keys[0], upload.Size, cancellationToken))
            {
                return V2Outcome.UploadUnknown;
            }

            var (outcome, _) = await FinishUploadAsync(upload, digest, blob, user, publishChunk: keys[0]);
            if (outcome == V2Outcome.Created)
            {
                lease.Forget();
            }

            return outcome;
        }

        var put = await content.PutConcatenatedAsync(keys, sha512, cancellationToken);
        if (put.Blob is not { } concatenated)
        {
            return V2Outcome.UploadUnknown;
        }

        if (!V2Blobs.Matches(digest, concatenated, sha512))
        {
            return V2Outcome.DigestInvalid;
        }

        var (finished, _) = await FinishUploadAsync(upload, digest, concatenated, user);
        if (finished == V2Outcome.Created)
        {
            lease.Forget();
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

    /// <summary>Ends the session and deletes its objects, once no append to them is running.</summary>
    public async Task CancelUploadAsync(V2Upload upload, CancellationToken cancellationToken)
    {
        using var lease = await _running.AcquireAsync(upload.Id, cancellationToken);
        var current = await ReadAsync(upload.Id, cancellationToken) ?? upload;
        await using (var tx = await store.BeginAsync(cancellationToken))
        {
            await tx.V2Uploads.DeleteAsync(upload.Id, cancellationToken);
            await tx.CommitAsync(cancellationToken);
        }

        lease.Forget();
        await content.DeleteKeysAsync(current.ChunkKeys, CancellationToken.None);
    }
}
