using System.Collections.Concurrent;
using System.Security.Cryptography;
using Wharf.Core.Naming;
using Wharf.Core.Storage;

namespace Wharf.Core.Tests.Storage;

/// <summary>
/// Content first: a key a metadata row may name (a blob, a V2 upload chunk) must survive a power
/// cut once the content store returns it. A writer's commit makes its bytes durable but not its new
/// name (no directory fsync); <see cref="IBlobDriver.MoveAsync"/> makes the name durable. So every
/// such key must reach its place by a move, which these tests check over a recording driver, and
/// the filesystem driver's moves must fsync every directory whose entries changed or were created.
/// </summary>
public sealed class DurableNamesTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "wharf-durable-" + Guid.NewGuid().ToString("N"));
    private readonly ConcurrentQueue<string> _synced = new();
    private readonly RecordingDriver _driver;
    private readonly ContentStore _store;

    public DurableNamesTests()
    {
        _driver = new RecordingDriver(new FileSystemBlobDriver(_root, TimeProvider.System, _synced.Enqueue));
        _store = new ContentStore(_driver);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task A_chunk_reaches_its_key_by_a_durable_move()
    {
        var key = StoragePaths.UploadChunk(Guid.NewGuid().ToString("N"), 0, Guid.NewGuid());
        var written = await _store.WriteChunkAsync(key, new MemoryStream(RandomNumberGenerator.GetBytes(5000)), long.MaxValue, default);

        Assert.NotNull(written.Blob);
        Assert.DoesNotContain(key, _driver.Committed);
        Assert.Contains(key, _driver.MovedTo);
        Assert.Contains(FullPath("uploads/v2"), _synced);
    }

    /// <summary>
    /// A chunked upload's later chunks are appended to the object its first chunk moved into place:
    /// no new name appears, and the appended bytes are durable when the append returns.
    /// </summary>
    [Fact]
    public async Task Later_chunks_are_appended_to_the_object_the_first_one_moved_into_place()
    {
        var key = StoragePaths.UploadChunk(Guid.NewGuid().ToString("N"), 0, Guid.NewGuid());
        var first = RandomNumberGenerator.GetBytes(5000);
        var second = RandomNumberGenerator.GetBytes(7000);
        using var running = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await _store.WriteChunkAsync(key, new MemoryStream(first), long.MaxValue, default, sha256: running);
        var (written, failure) = await _store.AppendChunkAsync(key, first.Length, new MemoryStream(second), running, null, default);

        Assert.Equal((second.Length, PutBlobFailure.None), (written, failure));
        Assert.Equal([key], _driver.MovedTo);
        Assert.Equal([key], _driver.Appended);
        Assert.Equal(Sha256Hex.Of([.. first, .. second]), Sha256Hex.Format(running.GetHashAndReset()));
        Assert.Equal((0, PutBlobFailure.Missing), await _store.AppendChunkAsync(key + "x", 0, new MemoryStream(second), null, null, default));
    }

    [Fact]
    public async Task Every_blob_reaches_its_key_by_a_durable_move()
    {
        var streamed = (await _store.PutAsync(new MemoryStream(RandomNumberGenerator.GetBytes(3000)), long.MaxValue, null, default)).Blob!;
        var bytes = await _store.PutBytesAsync(RandomNumberGenerator.GetBytes(100), default);
        var chunkData = RandomNumberGenerator.GetBytes(2000);
        var chunk = StoragePaths.UploadChunk(Guid.NewGuid().ToString("N"), 0, Guid.NewGuid());
        await _store.WriteChunkAsync(chunk, new MemoryStream(chunkData), long.MaxValue, default);
        Assert.True(await _store.TryPublishChunkAsync(chunk, Sha256Hex.Of(chunkData), default));

        foreach (var hex in new[] { streamed.Sha256, bytes.Sha256, Sha256Hex.Of(chunkData) })
        {
            var key = StoragePaths.Blob(hex);
            Assert.DoesNotContain(key, _driver.Committed);
            Assert.Contains(key, _driver.MovedTo);
            Assert.Contains(FullPath(key[..key.LastIndexOf('/')]), _synced);
        }
    }

    /// <summary>A directory a move creates is itself a new name in its parent: each one up the chain is fsynced.</summary>
    [Fact]
    public async Task A_move_into_new_directories_fsyncs_each_of_them_and_their_parents()
    {
        var driver = new FileSystemBlobDriver(_root, TimeProvider.System, _synced.Enqueue);
        await using (var writer = await driver.CreateWriterAsync("staging/x", default))
        {
            await writer.WriteAsync(new byte[10], default);
            await writer.CommitAsync(default);
        }

        _synced.Clear();
        await driver.MoveAsync("staging/x", "a/b/c/x", default);

        // In any order: all of them before the move returns.
        Assert.Equal([_root, FullPath("a"), FullPath("a/b"), FullPath("a/b/c")], _synced.Distinct().Order(StringComparer.Ordinal).ToList());
    }

    private string FullPath(string key) => Path.Join(_root, key);

    /// <summary>Passes every call to the real driver and records the keys writers commit and moves create.</summary>
    private sealed class RecordingDriver(IBlobDriver inner) : IBlobDriver
    {
        public ConcurrentBag<string> Committed { get; } = [];

        public ConcurrentBag<string> MovedTo { get; } = [];

        public Task<Stream?> OpenReadAsync(string key, long offset, CancellationToken cancellationToken) => inner.OpenReadAsync(key, offset, cancellationToken);

        public async Task<IBlobWriter> CreateWriterAsync(string key, CancellationToken cancellationToken) =>
            new RecordingWriter(await inner.CreateWriterAsync(key, cancellationToken), () => Committed.Add(key));

        public async Task<IBlobWriter?> OpenAppendAsync(string key, long offset, CancellationToken cancellationToken) =>
            await inner.OpenAppendAsync(key, offset, cancellationToken) is { } writer ? new RecordingWriter(writer, () => Appended.Add(key)) : null;

        public ConcurrentBag<string> Appended { get; } = [];

        public Task<BlobStat?> StatAsync(string key, CancellationToken cancellationToken) => inner.StatAsync(key, cancellationToken);

        public async Task MoveAsync(string source, string destination, CancellationToken cancellationToken)
        {
            await inner.MoveAsync(source, destination, cancellationToken);
            MovedTo.Add(destination);
        }

        public Task<bool> TouchAsync(string key, CancellationToken cancellationToken) => inner.TouchAsync(key, cancellationToken);

        public Task<bool> DeleteAsync(string key, CancellationToken cancellationToken) => inner.DeleteAsync(key, cancellationToken);

        public IAsyncEnumerable<BlobStat> WalkAsync(string prefix, CancellationToken cancellationToken) => inner.WalkAsync(prefix, cancellationToken);

        public string? TryGetLocalPath(string key) => inner.TryGetLocalPath(key);
    }

    private sealed class RecordingWriter(IBlobWriter inner, Action committed) : IBlobWriter
    {
        public long Length => inner.Length;

        public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) => inner.WriteAsync(data, cancellationToken);

        public async Task CommitAsync(CancellationToken cancellationToken)
        {
            await inner.CommitAsync(cancellationToken);
            committed();
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
