using System.Security.Cryptography;
using Wharf.Core.Docker.V2;
using Wharf.Core.Storage;

namespace Wharf.Core.Tests.Docker;

/// <summary>
/// Migration compresses a plain V1 layer through a pipe while storing it. When storing fails or is
/// cancelled, the compressing producer must stop and be awaited: left behind, it blocks for good
/// on the full pipe and keeps the layer's stream open.
/// </summary>
public sealed class V1LayerConverterTests : IDisposable
{
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long the conversion may take to reach its first write: hashing and compressing
    /// megabytes first, which a machine busy with the whole test run can slow far beyond
    /// <see cref="Prompt"/>. Reaching the write is the set-up, not the property under test.
    /// </summary>
    private static readonly TimeSpan SetUp = TimeSpan.FromMinutes(2);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "wharf-convert-" + Guid.NewGuid().ToString("N"));
    private readonly FaultyDriver _driver;
    private readonly ContentStore _store;

    public V1LayerConverterTests()
    {
        _driver = new FaultyDriver(new FileSystemBlobDriver(_root, TimeProvider.System));
        _store = new ContentStore(_driver);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task A_layer_converts_to_gzip_and_closes_its_streams()
    {
        var layer = await StoreLayerAsync();
        var converted = await new V1LayerConverter(_store).ConvertAsync(layer.Sha256, layer.Size, default);

        Assert.NotNull(converted.DiffId);
        Assert.NotEqual(layer.Sha256, converted.BlobSha256);
        Assert.Equal(0, _driver.OpenStreams);
    }

    [Fact]
    public async Task A_store_that_fails_ends_the_conversion_promptly_with_no_stream_left_open()
    {
        var layer = await StoreLayerAsync();
        _driver.FailWrites = true;

        var converting = new V1LayerConverter(_store).ConvertAsync(layer.Sha256, layer.Size, default);
        Assert.Same(converting, await Task.WhenAny(converting, Task.Delay(Prompt)));
        await Assert.ThrowsAsync<IOException>(() => converting);
        Assert.Equal(0, _driver.OpenStreams);
    }

    [Fact]
    public async Task A_cancelled_conversion_ends_promptly_with_no_stream_left_open()
    {
        var layer = await StoreLayerAsync();
        _driver.StallWrites = true;
        using var cancel = new CancellationTokenSource();

        var converting = new V1LayerConverter(_store).ConvertAsync(layer.Sha256, layer.Size, cancel.Token);
        // A conversion that ends before writing anything surfaces its own failure here.
        var first = await Task.WhenAny(_driver.WriteStalled.Task, converting).WaitAsync(SetUp);
        Assert.Same(_driver.WriteStalled.Task, first);
        await cancel.CancelAsync();
        Assert.Same(converting, await Task.WhenAny(converting, Task.Delay(Prompt)));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => converting);
        Assert.Equal(0, _driver.OpenStreams);
    }

    /// <summary>Eight MiB that gzip cannot shrink: far more than the pipe holds before its writer waits.</summary>
    private async Task<StoredBlob> StoreLayerAsync() =>
        (await _store.PutAsync(new MemoryStream(RandomNumberGenerator.GetBytes(8 << 20)), long.MaxValue, null, default)).Blob!;

    /// <summary>A filesystem driver whose writes can fail or stall, counting the read streams still open.</summary>
    private sealed class FaultyDriver(IBlobDriver inner) : IBlobDriver
    {
        private int _open;

        public int OpenStreams => Volatile.Read(ref _open);

        public bool FailWrites { get; set; }

        public bool StallWrites { get; set; }

        public TaskCompletionSource WriteStalled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<Stream?> OpenReadAsync(string key, long offset, CancellationToken cancellationToken)
        {
            var stream = await inner.OpenReadAsync(key, offset, cancellationToken);
            if (stream is null)
            {
                return null;
            }

            Interlocked.Increment(ref _open);
            return new CountedStream(stream, () => Interlocked.Decrement(ref _open));
        }

        public async Task<IBlobWriter> CreateWriterAsync(string key, CancellationToken cancellationToken) =>
            new FaultyWriter(await inner.CreateWriterAsync(key, cancellationToken), this);

        public async Task<IBlobWriter?> OpenAppendAsync(string key, long offset, CancellationToken cancellationToken) =>
            await inner.OpenAppendAsync(key, offset, cancellationToken) is { } writer ? new FaultyWriter(writer, this) : null;

        public Task<BlobStat?> StatAsync(string key, CancellationToken cancellationToken) => inner.StatAsync(key, cancellationToken);

        public Task MoveAsync(string source, string destination, CancellationToken cancellationToken) => inner.MoveAsync(source, destination, cancellationToken);

        public Task<bool> TouchAsync(string key, CancellationToken cancellationToken) => inner.TouchAsync(key, cancellationToken);

        public Task<bool> DeleteAsync(string key, CancellationToken cancellationToken) => inner.DeleteAsync(key, cancellationToken);

        public IAsyncEnumerable<BlobStat> WalkAsync(string prefix, CancellationToken cancellationToken) => inner.WalkAsync(prefix, cancellationToken);

        public string? TryGetLocalPath(string key) => inner.TryGetLocalPath(key);

        private sealed class FaultyWriter(IBlobWriter inner, FaultyDriver driver) : IBlobWriter
        {
            public long Length => inner.Length;

            public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
            {
                if (driver.FailWrites)
                {
                    throw new IOException("No space left on device.");
                }

                if (driver.StallWrites)
                {
                    driver.WriteStalled.TrySetResult();
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }

                await inner.WriteAsync(data, cancellationToken);
            }

            public Task CommitAsync(CancellationToken cancellationToken) => inner.CommitAsync(cancellationToken);

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }
    }

    /// <summary>Passes reads through and reports its disposal once.</summary>
    private sealed class CountedStream(Stream inner, Action closed) : Stream
    {
        private int _disposed;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => inner.Length;

        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                inner.Dispose();
                closed();
            }

            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                await inner.DisposeAsync();
                closed();
            }

            await base.DisposeAsync();
        }
    }
}
