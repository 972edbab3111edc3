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
    /// <summary>Copy buffer: large enough for few syscalls, pooled so no layer is ever held whole.</summary>
    private const int BufferSize = 1 << 20;

    /// <summary>
    /// Streams <paramref name="source"/> into the store. <paramref name="alsoHash"/>, when given,
    /// sees exactly the same bytes (used for V1 payload checksums). A source that fails mid-way
    /// (truncated or aborted request body) is an expected outcome, not an exception.
    /// </summary>
    public async Task<PutBlobResult> PutAsync(Stream source, long maxLength, IncrementalHash? alsoHash, CancellationToken cancellationToken, long? expectedLength = null)
    {
        var uploadKey = StoragePaths.Upload(Guid.NewGuid());
        var written = await WriteHashedAsync(uploadKey, source, maxLength, alsoHash, expectedLength, cancellationToken);
        if (written.Blob is { } blob)
        {
            await PublishAsync(uploadKey, blob.Sha256, cancellationToken);
        }

        return written;
    }

    /// <summary>
    /// Writes <paramref name="source"/> durably to <paramref name="key"/> (an upload chunk) while
    /// hashing it, without publishing it. At most <paramref name="maxLength"/> bytes. The session
    /// records the key as soon as this returns, so the chunk is staged and then moved into place,
    /// which makes its name durable too, as publishing a blob does.
    /// </summary>
    public async Task<PutBlobResult> WriteChunkAsync(string key, Stream source, long maxLength, CancellationToken cancellationToken, long? expectedLength = null, IncrementalHash? alsoHash = null)
    {
        var staging = StoragePaths.Upload(Guid.NewGuid());
        var written = await WriteHashedAsync(staging, source, maxLength, alsoHash, expectedLength, cancellationToken);
        if (written.Blob is not null)
        {
            await driver.MoveAsync(staging, key, cancellationToken);
        }

        return written;
    }

    /// <summary>Streams <paramref name="source"/> durably to <paramref name="key"/>, hashing it on the way; nothing is published.</summary>
    private async Task<PutBlobResult> WriteHashedAsync(string key, Stream source, long maxLength, IncrementalHash? alsoHash, long? expectedLength, CancellationToken cancellationToken)
    {
        // A body announced as small gets a small buffer: thousands of small pushes at once would
        // otherwise each hold two megabytes, and the pool keeps what it has lent.
        var bufferSize = BufferFor(expectedLength);
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        // Two buffers: while one is hashed and written, the next is read from the source, so the
        // network, the hashes and the disk work at the same time. Each read fills a whole buffer,
        // keeping writes large and few.
        var current = ArrayPool<byte>.Shared.Rent(bufferSize);
        var next = ArrayPool<byte>.Shared.Rent(bufferSize);
        long total = 0;
        Task<int> reading = Task.FromResult(0);
        try
        {
            await using (var writer = await driver.CreateWriterAsync(key, cancellationToken))
            {
                reading = FillAsync(source, current, bufferSize, cancellationToken);
                while (true)
                {
                    var read = await reading;
                    if (read < 0)
                    {
                        return PutBlobResult.SourceFailed;
                    }

                    if (read == 0)
                    {
                        break;
                    }

                    total += read;
                    if (total > maxLength)
                    {
                        return PutBlobResult.TooLarge;
                    }

                    reading = read < bufferSize ? Task.FromResult(0) : FillAsync(source, next, bufferSize, cancellationToken);
                    var chunk = current.AsMemory(0, read);
                    var write = writer.WriteAsync(chunk, cancellationToken);
                    sha256.AppendData(chunk.Span);
                    alsoHash?.AppendData(chunk.Span);
                    await write;
                    (current, next) = (next, current);
                }

                await writer.CommitAsync(cancellationToken);
            }
        }
        finally
        {
            // A failed write may leave a read in flight into a pooled buffer; let it finish first.
            await ((Task)reading).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            ArrayPool<byte>.Shared.Return(current);
            ArrayPool<byte>.Shared.Return(next);
        }

        return new PutBlobResult(new StoredBlob(Sha256Hex.Format(sha256.GetHashAndReset()), total), PutBlobFailure.None);
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

    /// <summary>Room for the whole body (plus the byte that shows it ended) when it is announced as small.</summary>
    private static int BufferFor(long? expectedLength) =>
        expectedLength is { } length and >= 0 and < BufferSize ? (int)Math.Max(length + 1, 4096) : BufferSize;

    /// <summary>Reads until <paramref name="size"/> bytes of <paramref name="buffer"/> are filled or the source ends; -1 when the source fails.</summary>
    private static async Task<int> FillAsync(Stream source, byte[] buffer, int size, CancellationToken cancellationToken)
    {
        try
        {
            return await source.ReadAtLeastAsync(buffer.AsMemory(0, size), size, throwOnEndOfStream: false, cancellationToken);
        }
        catch (IOException)
        {
            return -1;
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

/// <summary>Reads several stored objects one after the other as one stream.</summary>
internal sealed class ConcatenatedStream(IBlobDriver driver, IReadOnlyList<string> keys) : ReadOnlyStream
{
    private int _next;
    private Stream? _current;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (_current is null)
            {
                if (_next >= keys.Count)
                {
                    return 0;
                }

                _current = await driver.OpenReadAsync(keys[_next++], 0, cancellationToken)
                    ?? throw new IOException($"Upload chunk {keys[_next - 1]} is missing.");
            }

            var read = await _current.ReadAsync(buffer, cancellationToken);
            if (read > 0)
            {
                return read;
            }

            await _current.DisposeAsync();
            _current = null;
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async ValueTask DisposeAsync()
    {
        if (_current is not null)
        {
            await _current.DisposeAsync();
        }

        await base.DisposeAsync();
    }
}

internal enum ReclaimResult
{
    Absent,
    KeptFresh,
    Removed,
}

internal readonly record struct ReclaimOutcome(ReclaimResult Result, long Bytes);

internal sealed record StoredBlob(string Sha256, long Size);

internal enum PutBlobFailure
{
    None,
    SourceFailed,
    TooLarge,
}

internal readonly record struct PutBlobResult(StoredBlob? Blob, PutBlobFailure Failure)
{
    public static readonly PutBlobResult SourceFailed = new(null, PutBlobFailure.SourceFailed);
    public static readonly PutBlobResult TooLarge = new(null, PutBlobFailure.TooLarge);
}
