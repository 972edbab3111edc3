using System.Buffers;
using System.Security.Cryptography;
using Wharf.Core.Naming;

namespace Wharf.Core.Storage;

/// <summary>
/// Content-addressed blobs on top of the byte store: bytes are streamed to an upload key while
/// being hashed, made durable, then renamed to <c>blobs/sha256/…</c>. Identical content is stored
/// once. Metadata that refers to a blob is committed only after this returns (content first).
/// </summary>
internal sealed class ContentStore(IBlobDriver driver)
{
    /// <summary>Read buffer for stored objects (not on the push path).</summary>
    private const int BufferSize = 1 << 20;

    /// <summary>
    /// Streams <paramref name="source"/> into the store. <paramref name="alsoHash"/>, when given,
    /// sees exactly the same bytes (used for V1 payload checksums). A source that fails mid-way
    /// (truncated or aborted request body) is an expected outcome, not an exception.
    /// </summary>
    public async Task<PutBlobResult> PutAsync(Stream source, long maxLength, IncrementalHash? alsoHash, CancellationToken cancellationToken, long? expectedLength = null)
    {
        var (staged, written) = await StageAsync(source, maxLength, alsoHash, expectedLength, null, cancellationToken);
        if (written.Blob is { } blob)
        {
            await PublishAsync(staged, blob.Sha256, cancellationToken);
        }

        return written;
    }

    /// <summary>
    /// Streams <paramref name="source"/> durably to a staging key of its own while hashing it, and
    /// publishes nothing: the caller then publishes it (<see cref="PublishStagedAsync"/>), keeps it as
    /// an upload chunk (<see cref="KeepStagedAsync"/>) or deletes it. <paramref name="sha256"/>, when
    /// given, is the hash fed (and left running for the caller); its current value is the result's
    /// digest.
    /// </summary>
    public async Task<(string Key, PutBlobResult Result)> StageAsync(
        Stream source, long maxLength, IncrementalHash? alsoHash, long? expectedLength, IncrementalHash? sha256, CancellationToken cancellationToken)
    {
        var key = StoragePaths.Upload(Guid.NewGuid());
        using var own = sha256 is null ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        var hash = sha256 ?? own!;
        await using var writer = await driver.CreateWriterAsync(key, cancellationToken);
        var (total, failure) = await HashedCopy.CopyAsync(writer, source, maxLength, hash, alsoHash, expectedLength, cancellationToken);
        return (key, failure == PutBlobFailure.None
            ? new PutBlobResult(new StoredBlob(Sha256Hex.Format(hash.GetCurrentHash()), total), PutBlobFailure.None)
            : new PutBlobResult(null, failure));
    }

    /// <summary>Publishes a staged object (<see cref="StageAsync"/>) as the blob <paramref name="sha256Hex"/> it was hashed to.</summary>
    public Task PublishStagedAsync(string stagedKey, string sha256Hex, CancellationToken cancellationToken) =>
        PublishAsync(stagedKey, sha256Hex, cancellationToken);

    /// <summary>Moves a staged object to <paramref name="key"/> (an upload chunk), making that name durable before a row records it.</summary>
    public Task KeepStagedAsync(string stagedKey, string key, CancellationToken cancellationToken) =>
        driver.MoveAsync(stagedKey, key, cancellationToken);

    /// <summary>
    /// Writes <paramref name="source"/> durably to <paramref name="key"/> (an upload chunk) while
    /// hashing it, without publishing it. At most <paramref name="maxLength"/> bytes. The session
    /// records the key as soon as this returns, so the chunk is staged and then moved into place,
    /// which makes its name durable too, as publishing a blob does. <paramref name="sha256"/> as in
    /// <see cref="StageAsync"/>.
    /// </summary>
    public async Task<PutBlobResult> WriteChunkAsync(
        string key, Stream source, long maxLength, CancellationToken cancellationToken, long? expectedLength = null, IncrementalHash? alsoHash = null, IncrementalHash? sha256 = null)
    {
        var (staged, written) = await StageAsync(source, maxLength, alsoHash, expectedLength, sha256, cancellationToken);
        if (written.Blob is not null)
        {
            await KeepStagedAsync(staged, key, cancellationToken);
        }

        return written;
    }

    /// <summary>
    /// Appends <paramref name="source"/> to the upload object <paramref name="key"/> after its first
    /// <paramref name="offset"/> bytes (<see cref="IBlobDriver.OpenAppendAsync"/>), durably, feeding
    /// <paramref name="running"/> (the session's hash so far) when given. The object's name is durable
    /// already (it came by <see cref="WriteChunkAsync"/>). Missing when the object is gone.
    /// </summary>
    public async Task<(long Written, PutBlobFailure Failure)> AppendChunkAsync(
        string key, long offset, Stream source, IncrementalHash? running, long? expectedLength, CancellationToken cancellationToken)
    {
        await using var writer = await driver.OpenAppendAsync(key, offset, cancellationToken);
        return writer is null
            ? (0, PutBlobFailure.Missing)
            : await HashedCopy.CopyAsync(writer, source, long.MaxValue, running, null, expectedLength, cancellationToken);
    }

    /// <summary>
    /// Cuts the upload object <paramref name="key"/> to its first <paramref name="length"/> bytes,
    /// durably (what an append that never committed left after them goes); false when it is gone.
    /// </summary>
    public async Task<bool> CutChunkAsync(string key, long length, CancellationToken cancellationToken)
    {
        // Nearly always the object holds exactly its recorded bytes: no write, no fsync.
        var stat = await driver.StatAsync(key, cancellationToken);
        if (stat is null || stat.Size == length)
        {
            return stat is not null;
        }

        await using var writer = await driver.OpenAppendAsync(key, length, cancellationToken);
        if (writer is null)
        {
            return false;
        }

        await writer.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>
    /// Feeds the first <paramref name="length"/> bytes of the stored object <paramref name="key"/> to
    /// the hashes (a session's bytes after a restart, when its running hash is gone); false when the
    /// object is gone or shorter.
    /// </summary>
    public async Task<bool> HashObjectAsync(string key, long length, IncrementalHash hash, IncrementalHash? alsoHash, CancellationToken cancellationToken)
    {
        await using var stream = await driver.OpenReadAsync(key, 0, cancellationToken);
        if (stream is null)
        {
            return false;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            var left = length;
            while (left > 0)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(BufferSize, left)), cancellationToken);
                if (read == 0)
                {
                    return false;
                }

                hash.AppendData(buffer, 0, read);
                alsoHash?.AppendData(buffer, 0, read);
                left -= read;
            }

            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Publishes a chunk whose digest is known (it was hashed while written) as a blob; when the
    /// chunk is gone, true only if the blob is there (an earlier attempt published it).
    /// </summary>
    public async Task<bool> TryPublishChunkAsync(string key, string sha256Hex, CancellationToken cancellationToken)
    {
        // A chunk may have been written long ago; refreshed first, it is published as new content,
        // inside the collector's grace period (the chunk is this session's alone until it moves).
        if (await driver.TouchAsync(key, cancellationToken))
        {
            try
            {
                await PublishAsync(key, sha256Hex, cancellationToken);
                return true;
            }
            catch (FileNotFoundException)
            {
                // Published by a concurrent completion of the same session.
            }
        }

        return await driver.StatAsync(StoragePaths.Blob(sha256Hex), cancellationToken) is not null;
    }

    /// <summary>Stores the concatenation of <paramref name="keys"/> (upload chunks) as one blob, hashing it on the way.</summary>
    public async Task<PutBlobResult> PutConcatenatedAsync(IReadOnlyList<string> keys, IncrementalHash? alsoHash, CancellationToken cancellationToken)
    {
        await using var joined = new ConcatenatedStream(driver, keys);
        return await PutAsync(joined, long.MaxValue, alsoHash, cancellationToken);
    }

    /// <summary>
    /// Restarts a stored blob's grace period (its write time becomes now) before new rows name it
    /// without rewriting it; false when it is gone (the collector took it).
    /// </summary>
    public Task<bool> RefreshAsync(string sha256Hex, CancellationToken cancellationToken) =>
        driver.TouchAsync(StoragePaths.Blob(sha256Hex), cancellationToken);

    /// <summary>The stored size of a blob; null when it is not stored.</summary>
    public async Task<long?> SizeOfAsync(string sha256Hex, CancellationToken cancellationToken) =>
        (await driver.StatAsync(StoragePaths.Blob(sha256Hex), cancellationToken))?.Size;

    public async Task DeleteKeysAsync(IEnumerable<string> keys, CancellationToken cancellationToken)
    {
        foreach (var key in keys)
        {
            await driver.DeleteAsync(key, cancellationToken);
        }
    }

    public async Task<StoredBlob> PutBytesAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        // Written even when the blob exists: the fresh copy restarts the collector's grace period
        // (see PublishAsync), so the rows about to name it cannot lose it to a concurrent sweep.
        var hex = Sha256Hex.Of(data.Span);
        var uploadKey = StoragePaths.Upload(Guid.NewGuid());
        await using (var writer = await driver.CreateWriterAsync(uploadKey, cancellationToken))
        {
            await writer.WriteAsync(data, cancellationToken);
            await writer.CommitAsync(cancellationToken);
        }

        await PublishAsync(uploadKey, hex, cancellationToken);
        return new StoredBlob(hex, data.Length);
    }

    public Task<Stream?> OpenReadAsync(string sha256Hex, long offset, CancellationToken cancellationToken) =>
        driver.OpenReadAsync(StoragePaths.Blob(sha256Hex), offset, cancellationToken);

    public async Task<byte[]?> ReadAllBytesAsync(string sha256Hex, CancellationToken cancellationToken)
    {
        await using var stream = await OpenReadAsync(sha256Hex, 0, cancellationToken);
        if (stream is null)
        {
            return null;
        }

        using var memory = new MemoryStream();
        await stream.CopyToAsync(memory, cancellationToken);
        return memory.ToArray();
    }

    public string? TryGetLocalPath(string sha256Hex) => driver.TryGetLocalPath(StoragePaths.Blob(sha256Hex));

    /// <summary>MD5 and SHA-1 of a stored blob, computed on demand (they are not on the push path).</summary>
    public async Task<(string Sha1, string Md5)?> ComputeLegacyChecksumsAsync(string sha256Hex, CancellationToken cancellationToken)
    {
        await using var stream = await OpenReadAsync(sha256Hex, 0, cancellationToken);
        if (stream is null)
        {
            return null;
        }

        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
#pragma warning disable CA5351 // MD5 is an Artifactory-compatible checksum here, not a security control.
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
#pragma warning restore CA5351
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer.AsMemory(0, BufferSize), cancellationToken)) > 0)
            {
                sha1.AppendData(buffer, 0, read);
                md5.AppendData(buffer, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return (Convert.ToHexStringLower(sha1.GetHashAndReset()), Convert.ToHexStringLower(md5.GetHashAndReset()));
    }

    /// <summary>
    /// Renames the verified upload over <c>blobs/…</c>, replacing an identical copy if there is one;
    /// the move makes the name durable before any row names the blob.
    /// Replacing (rather than keeping the old file) gives the blob a fresh modification time: the
    /// collector never reclaims a blob written within its grace period, which covers the time
    /// between this rename and the commit of the rows that refer to it.
    /// </summary>
    private Task PublishAsync(string uploadKey, string hex, CancellationToken cancellationToken) =>
        driver.MoveAsync(uploadKey, StoragePaths.Blob(hex), cancellationToken);

    /// <summary>
    /// Deletes a blob unless it was written at or after <paramref name="writtenBefore"/>. The blob is
    /// first renamed aside, so a push that publishes the same content meanwhile recreates it
    /// rather than losing it; a blob found fresh is put back (identical bytes either way). The
    /// caller has checked, under the metadata write lock, that nothing references it.
    /// </summary>
    public async Task<ReclaimOutcome> ReclaimAsync(string sha256Hex, DateTimeOffset writtenBefore, CancellationToken cancellationToken)
    {
        var key = StoragePaths.Blob(sha256Hex);
        if (await driver.StatAsync(key, cancellationToken) is null)
        {
            return new ReclaimOutcome(ReclaimResult.Absent, 0);
        }

        var aside = StoragePaths.Reclaiming(sha256Hex);
        try
        {
            await driver.MoveAsync(key, aside, cancellationToken);
        }
        catch (FileNotFoundException)
        {
            return new ReclaimOutcome(ReclaimResult.Absent, 0);
        }

        var stat = await driver.StatAsync(aside, cancellationToken);
        if (stat is null)
        {
            return new ReclaimOutcome(ReclaimResult.Absent, 0);
        }

        if (stat.Modified >= writtenBefore)
        {
            await driver.MoveAsync(aside, key, cancellationToken);
            return new ReclaimOutcome(ReclaimResult.KeptFresh, 0);
        }

        await driver.DeleteAsync(aside, cancellationToken);
        return new ReclaimOutcome(ReclaimResult.Removed, stat.Size);
    }

    /// <summary>
    /// Deletes blobs a collection left aside when the process died in the middle of reclaiming
    /// them: nothing referenced them when they were taken aside, and a push that wrote the same
    /// content meanwhile rewrites it on retry. Call only while no collection runs.
    /// </summary>
    public async Task<int> PurgeLeftAsideAsync(CancellationToken cancellationToken)
    {
        var left = new List<string>();
        await foreach (var stat in driver.WalkAsync(StoragePaths.ReclaimingRoot, cancellationToken))
        {
            left.Add(stat.Key);
        }

        foreach (var key in left)
        {
            await driver.DeleteAsync(key, cancellationToken);
        }

        return left.Count;
    }

    /// <summary>Every stored blob with its size and write time.</summary>
    public async IAsyncEnumerable<(string Sha256, BlobStat Stat)> WalkBlobsAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var stat in driver.WalkAsync(StoragePaths.BlobsRoot, cancellationToken))
        {
            if (StoragePaths.DigestOfBlobKey(stat.Key) is { } hex)
            {
                yield return (hex, stat);
            }
        }
    }

    /// <summary>
    /// Deletes upload files (bytes of requests that never finished) written before
    /// <paramref name="writtenBefore"/>, except those <paramref name="keep"/> claims.
    /// </summary>
    public async Task<(int Count, long Bytes)> PurgeUploadsAsync(DateTimeOffset writtenBefore, Func<string, Task<bool>> keep, CancellationToken cancellationToken)
    {
        var stale = new List<BlobStat>();
        await foreach (var stat in driver.WalkAsync(StoragePaths.UploadsRoot, cancellationToken))
        {
            if (stat.Modified < writtenBefore && !await keep(stat.Key))
            {
                stale.Add(stat);
            }
        }

        var (count, bytes) = (0, 0L);
        foreach (var stat in stale)
        {
            if (await driver.DeleteAsync(stat.Key, cancellationToken))
            {
                count++;
                bytes += stat.Size;
            }
        }

        return (count, bytes);
    }
}
