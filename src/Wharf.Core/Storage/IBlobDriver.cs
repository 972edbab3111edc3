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

    /// <summary>
    /// Opens the existing object <paramref name="key"/> to append to it after its first
    /// <paramref name="offset"/> bytes, which stay as they are; whatever followed them (the bytes of an
    /// append that was never committed) is discarded. Appended bytes are durable once the writer
    /// commits, and the object keeps its name, which must have been made durable already (by a move);
    /// until then they may or may not be readable, and a writer disposed without commit may leave them
    /// past <paramref name="offset"/>, so the caller records the committed length and reads no
    /// further. One appender per object at a time: the caller serialises them. Null when the object
    /// does not exist; an IOException when it holds fewer than <paramref name="offset"/> bytes. This is
    /// how a chunked upload is written once (an object store maps each append to a multipart part).
    /// </summary>
    Task<IBlobWriter?> OpenAppendAsync(string key, long offset, CancellationToken cancellationToken);

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
