namespace Wharf.Core.Storage;

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

    /// <summary>The object to append to is gone.</summary>
    Missing,
}

internal readonly record struct PutBlobResult(StoredBlob? Blob, PutBlobFailure Failure)
{
    public static readonly PutBlobResult SourceFailed = new(null, PutBlobFailure.SourceFailed);
    public static readonly PutBlobResult TooLarge = new(null, PutBlobFailure.TooLarge);
}
