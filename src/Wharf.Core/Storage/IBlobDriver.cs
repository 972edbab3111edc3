namespace Wharf.Core.Storage;

/// <summary>
/// The dumb byte tier: strict relative keys (see <see cref="StorageKey"/>), no knowledge of digests
/// or repositories. A filesystem driver exists now; an S3 driver will satisfy the same contract and
/// the same test suite (<c>BlobDriverConformanceTests</c>).
/// </summary>
internal interface IBlobDriver
{
    /// <summary>Opens <paramref name="key"/> for reading from <paramref name="offset"/>; null when absent.</summary>
    Task<Stream?> OpenReadAsync(string key, long offset, CancellationToken cancellationToken);

    /// <summary>Opens a new, empty object at <paramref name="key"/> that becomes visible only on commit.</summary>
    Task<IBlobWriter> CreateWriterAsync(string key, CancellationToken cancellationToken);

    /// <summary>Size and time of <paramref name="key"/>; null when absent.</summary>
    Task<BlobStat?> StatAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Atomically renames <paramref name="source"/> to <paramref name="destination"/>, replacing it;
    /// the modification time moves with it. The new name is durable when this returns (it survives a
    /// power cut), so a metadata row may name it: this is how every key a row names is made.
    /// </summary>
    Task MoveAsync(string source, string destination, CancellationToken cancellationToken);

    /// <summary>Sets the modification time of <paramref name="key"/> to now; false when it does not exist.</summary>
    Task<bool> TouchAsync(string key, CancellationToken cancellationToken);

    /// <summary>Deletes <paramref name="key"/>; false when it did not exist.</summary>
    Task<bool> DeleteAsync(string key, CancellationToken cancellationToken);

    /// <summary>Every object below <paramref name="prefix"/> (a folder key), recursively.</summary>
    IAsyncEnumerable<BlobStat> WalkAsync(string prefix, CancellationToken cancellationToken);

    /// <summary>
    /// A local file path serving the object's bytes, for zero-copy sends; null when the driver has
    /// none (remote stores redirect or stream instead).
    /// </summary>
    string? TryGetLocalPath(string key);
}

/// <summary>An object being written. Dispose without commit discards it.</summary>
internal interface IBlobWriter : IAsyncDisposable
{
    long Length { get; }

    ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>
    /// Makes the bytes durable and visible at the writer's key. The name itself is not made durable
    /// (its directory is not fsynced): an object a metadata row will name is written to a staging key
    /// and then moved into place (<see cref="IBlobDriver.MoveAsync"/>).
    /// </summary>
    Task CommitAsync(CancellationToken cancellationToken);
}

internal sealed record BlobStat(string Key, long Size, DateTimeOffset Modified);
