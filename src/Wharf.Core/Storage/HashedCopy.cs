using System.Buffers;
using System.Security.Cryptography;

namespace Wharf.Core.Storage;

/// <summary>
/// The content store's copy loop: a source streamed into a blob writer while hashed, with reading,
/// hashing and writing overlapped, and never more than two buffers of it in memory.
/// </summary>
internal static class HashedCopy
{
    /// <summary>
    /// Copies <paramref name="source"/> into <paramref name="writer"/> and commits it. Every byte is
    /// fed to <paramref name="hash"/> and <paramref name="alsoHash"/> when given, in order. A source
    /// that fails mid-way (truncated or aborted request body) or passes
    /// <paramref name="maxLength"/> is an expected outcome: nothing is committed.
    /// </summary>
    public static async Task<(long Total, PutBlobFailure Failure)> CopyAsync(
        IBlobWriter writer, Stream source, long maxLength, IncrementalHash? hash, IncrementalHash? alsoHash, long? expectedLength, CancellationToken cancellationToken)
    {
        // A body announced as small gets a small buffer: thousands of small pushes at once would
        // otherwise each hold two megabytes, and the pool keeps what it has lent.
        var bufferSize = BufferFor(expectedLength);

        // Two buffers: while one is hashed and written, the next is read from the source, so the
        // network, the hash and the disk work at the same time. Each read fills a whole buffer,
        // keeping writes large, few and (for the large buffers, which are page-aligned) eligible
        // for the driver's direct path past the page cache.
        var current = CopyBuffer.Rent(bufferSize);
        var next = CopyBuffer.Rent(bufferSize);
        long total = 0;
        Task<int> reading = Task.FromResult(0);
        try
        {
            reading = FillAsync(source, current.Memory, cancellationToken);
            while (true)
            {
                var read = await reading;
                if (read < 0)
                {
                    return (total, PutBlobFailure.SourceFailed);
                }

                if (read == 0)
                {
                    break;
                }

                total += read;
                if (total > maxLength)
                {
                    return (total, PutBlobFailure.TooLarge);
                }

                reading = read < bufferSize ? Task.FromResult(0) : FillAsync(source, next.Memory, cancellationToken);
                var chunk = current.Memory[..read];
                var write = writer.WriteAsync(chunk, cancellationToken);
                hash?.AppendData(chunk.Span);
                alsoHash?.AppendData(chunk.Span);
                await write;
                (current, next) = (next, current);
            }

            await writer.CommitAsync(cancellationToken);
            return (total, PutBlobFailure.None);
        }
        finally
        {
            // A failed write may leave a read in flight into a buffer; let it finish first.
            await ((Task)reading).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            current.Return();
            next.Return();
        }
    }

    /// <summary>Room for the whole body (plus the byte that shows it ended) when it is announced as small.</summary>
    private static int BufferFor(long? expectedLength) =>
        expectedLength is { } length and >= 0 and < AlignedBuffer.Size ? (int)Math.Max(length + 1, 4096) : AlignedBuffer.Size;

    /// <summary>Reads until <paramref name="buffer"/> is full or the source ends; -1 when the source fails.</summary>
    private static async Task<int> FillAsync(Stream source, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            return await source.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
        }
        catch (IOException)
        {
            return -1;
        }
    }

    /// <summary>A pooled array for a small body, an aligned native buffer for a large one.</summary>
    private readonly struct CopyBuffer
    {
        private readonly byte[]? _array;
        private readonly AlignedBuffer? _aligned;

        private CopyBuffer(byte[]? array, AlignedBuffer? aligned, Memory<byte> memory)
        {
            _array = array;
            _aligned = aligned;
            Memory = memory;
        }

        public Memory<byte> Memory { get; }

        public static CopyBuffer Rent(int size)
        {
            if (size >= AlignedBuffer.Size)
            {
                var aligned = AlignedBuffer.Rent();
                return new CopyBuffer(null, aligned, aligned.Memory);
            }

            var array = ArrayPool<byte>.Shared.Rent(size);
            return new CopyBuffer(array, null, array.AsMemory(0, size));
        }

        public void Return()
        {
            if (_array is not null)
            {
                ArrayPool<byte>.Shared.Return(_array);
            }

            _aligned?.Return();
        }
    }
}
