using System.Security.Cryptography;
using Microsoft.Extensions.Time.Testing;
using Wharf.Core.Storage;

namespace Wharf.Core.Tests.Storage;

/// <summary>
/// The behaviour every byte-store driver must have. A driver's test class derives from this and
/// supplies a fresh, empty driver; the S3 driver will run the same suite against a real server.
/// </summary>
public abstract class BlobDriverConformanceTests : IAsyncLifetime
{
    private IBlobDriver _driver = null!;

    internal IBlobDriver Driver => _driver;

    /// <summary>The driver's clock: its modification times follow it, so tests move time instead of sleeping.</summary>
    internal FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));

    internal abstract IBlobDriver CreateDriver();

    /// <summary>Every object the driver holds, to prove tests leave nothing behind.</summary>
    protected abstract IEnumerable<string> LeftoverFiles();

    public Task InitializeAsync()
    {
        _driver = CreateDriver();
        return Task.CompletedTask;
    }

    public virtual Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Written_bytes_read_back_from_any_offset()
    {
        var data = RandomNumberGenerator.GetBytes(100_000);
        await WriteAsync("a/b/object", data);

        Assert.Equal(data, await ReadAsync("a/b/object", 0));
        Assert.Equal(data[40_000..], await ReadAsync("a/b/object", 40_000));
        Assert.Empty(await ReadAsync("a/b/object", 100_000));
    }

    [Fact]
    public async Task An_uncommitted_writer_leaves_nothing()
    {
        await using (var writer = await Driver.CreateWriterAsync("x/partial", default))
        {
            await writer.WriteAsync(new byte[1000], default);
        }

        Assert.Null(await Driver.StatAsync("x/partial", default));
        Assert.Null(await Driver.OpenReadAsync("x/partial", 0, default));
        Assert.Empty(LeftoverFiles());
    }

    [Fact]
    public async Task An_object_is_invisible_until_committed()
    {
        await using var writer = await Driver.CreateWriterAsync("x/pending", default);
        await writer.WriteAsync(new byte[10], default);
        Assert.Null(await Driver.StatAsync("x/pending", default));
        await writer.CommitAsync(default);
        Assert.Equal(10, (await Driver.StatAsync("x/pending", default))!.Size);
    }

    [Fact]
    public async Task Empty_objects_are_objects()
    {
        await WriteAsync("empty", []);
        Assert.Equal(0, (await Driver.StatAsync("empty", default))!.Size);
        Assert.Empty(await ReadAsync("empty", 0));
    }

    [Fact]
    public async Task Move_replaces_the_destination_atomically()
    {
        await WriteAsync("src", [1, 2, 3]);
        await WriteAsync("dst", [9]);
        await Driver.MoveAsync("src", "dst", default);
        Assert.Null(await Driver.StatAsync("src", default));
        Assert.Equal(new byte[] { 1, 2, 3 }, await ReadAsync("dst", 0));
    }

    /// <summary>The collector's grace period reads modification times: a move keeps it, a touch renews it.</summary>
    [Fact]
    public async Task Move_keeps_the_modification_time_and_touch_renews_it()
    {
        await WriteAsync("aged", [1]);
        var written = (await Driver.StatAsync("aged", default))!.Modified;
        Clock.Advance(TimeSpan.FromMinutes(1));
        await Driver.MoveAsync("aged", "moved", default);
        Assert.Equal(written, (await Driver.StatAsync("moved", default))!.Modified);
        Assert.True(await Driver.TouchAsync("moved", default));
        Assert.True((await Driver.StatAsync("moved", default))!.Modified > written);
        Assert.False(await Driver.TouchAsync("never/written", default));
    }

    [Fact]
    public async Task Delete_of_a_missing_key_says_so()
    {
        Assert.False(await Driver.DeleteAsync("never/written", default));
        await WriteAsync("once", [1]);
        Assert.True(await Driver.DeleteAsync("once", default));
        Assert.Null(await Driver.StatAsync("once", default));
    }

    [Fact]
    public async Task Walk_lists_committed_objects_below_a_prefix()
    {
        await WriteAsync("p/one", [1]);
        await WriteAsync("p/deep/two", [1, 2]);
        await WriteAsync("q/three", [1]);
        var keys = new List<string>();
        await foreach (var stat in Driver.WalkAsync("p", default))
        {
            keys.Add(stat.Key);
        }

        Assert.Equal(["p/deep/two", "p/one"], keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Large_streams_round_trip()
    {
        var expected = new byte[32];
        await using (var writer = await Driver.CreateWriterAsync("big", default))
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var chunk = new byte[1 << 20];
            for (var i = 0; i < 48; i++)
            {
                RandomNumberGenerator.Fill(chunk);
                hash.AppendData(chunk);
                await writer.WriteAsync(chunk, default);
            }

            await writer.CommitAsync(default);
            expected = hash.GetHashAndReset();
        }

        await using var stream = (await Driver.OpenReadAsync("big", 0, default))!;
        Assert.Equal(expected, await SHA256.HashDataAsync(stream));
    }

    [Fact]
    public async Task Concurrent_readers_see_the_same_bytes()
    {
        var data = RandomNumberGenerator.GetBytes(256 * 1024);
        await WriteAsync("shared", data);
        var reads = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => ReadAsync("shared", 0)));
        Assert.All(reads, r => Assert.Equal(data, r));
    }

    [Fact]
    public async Task Append_adds_after_the_offset_and_keeps_what_precedes_it()
    {
        var first = RandomNumberGenerator.GetBytes(100_000);
        var second = RandomNumberGenerator.GetBytes(50_000);
        await WriteAsync("up/session", first);
        await AppendAsync("up/session", first.Length, second);

        Assert.Equal(first.Concat(second).ToArray(), await ReadAsync("up/session", 0));
        Assert.Equal(150_000, (await Driver.StatAsync("up/session", default))!.Size);
    }

    /// <summary>What follows the offset is the remains of an append that never committed: it goes.</summary>
    [Fact]
    public async Task Append_at_an_earlier_offset_discards_what_followed_it()
    {
        var data = RandomNumberGenerator.GetBytes(1000);
        await WriteAsync("up/cut", data);
        await AppendAsync("up/cut", 600, [7, 7, 7]);
        Assert.Equal(data[..600].Concat(new byte[] { 7, 7, 7 }).ToArray(), await ReadAsync("up/cut", 0));

        await AppendAsync("up/cut", 10, []);
        Assert.Equal(data[..10], await ReadAsync("up/cut", 0));
    }

    [Fact]
    public async Task An_uncommitted_append_leaves_the_bytes_before_it_and_the_next_append_replaces_it()
    {
        var data = RandomNumberGenerator.GetBytes(5000);
        await WriteAsync("up/failed", data);
        await using (var writer = (await Driver.OpenAppendAsync("up/failed", data.Length, default))!)
        {
            await writer.WriteAsync(new byte[3000], default);
        }

        Assert.Equal(data, (await ReadAsync("up/failed", 0))[..data.Length]);
        var next = RandomNumberGenerator.GetBytes(100);
        await AppendAsync("up/failed", data.Length, next);
        Assert.Equal(data.Concat(next).ToArray(), await ReadAsync("up/failed", 0));
        Assert.DoesNotContain(LeftoverFiles(), f => !f.EndsWith("failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Append_to_a_missing_object_is_null_and_past_the_end_fails()
    {
        Assert.Null(await Driver.OpenAppendAsync("up/never", 0, default));
        await WriteAsync("up/short", [1, 2, 3]);
        await Assert.ThrowsAnyAsync<IOException>(async () =>
        {
            await using var writer = await Driver.OpenAppendAsync("up/short", 4, default);
        });
        Assert.Equal(new byte[] { 1, 2, 3 }, await ReadAsync("up/short", 0));
    }

    /// <summary>The stale-upload purge reads modification times: an append is a write.</summary>
    [Fact]
    public async Task A_committed_append_renews_the_modification_time()
    {
        await WriteAsync("up/aged", [1]);
        var written = (await Driver.StatAsync("up/aged", default))!.Modified;
        Clock.Advance(TimeSpan.FromMinutes(1));
        await AppendAsync("up/aged", 1, [2]);
        Assert.True((await Driver.StatAsync("up/aged", default))!.Modified > written);
    }

    /// <summary>
    /// Page-aligned buffers (what the content store writes with) take a driver's fastest path, at
    /// aligned and unaligned offsets, with a tail that is not a whole page; the bytes are the same.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1000)]
    public async Task Aligned_buffers_round_trip_when_written_and_appended(int head)
    {
        using var expected = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var start = RandomNumberGenerator.GetBytes(head);
        expected.AppendData(start);
        await WriteAsync("up/aligned", start);
        var buffer = AlignedBuffer.Rent();
        try
        {
            var offset = (long)head;
            for (var i = 0; i < 3; i++)
            {
                RandomNumberGenerator.Fill(buffer.GetSpan());
                var length = i == 2 ? AlignedBuffer.Size - 777 : AlignedBuffer.Size;
                expected.AppendData(buffer.GetSpan()[..length]);
                await using var writer = (await Driver.OpenAppendAsync("up/aligned", offset, default))!;
                await writer.WriteAsync(buffer.Memory[..(length / 2)], default);
                await writer.WriteAsync(buffer.Memory[(length / 2)..length], default);
                await writer.CommitAsync(default);
                offset += length;
            }
        }
        finally
        {
            buffer.Return();
        }

        await using var stream = (await Driver.OpenReadAsync("up/aligned", 0, default))!;
        Assert.Equal(expected.GetHashAndReset(), await SHA256.HashDataAsync(stream));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("/absolute")]
    [InlineData("a/../../b")]
    [InlineData("a//b")]
    [InlineData("a/./b")]
    [InlineData("trailing/")]
    [InlineData("back\\slash")]
    [InlineData("")]
    public async Task Keys_that_could_escape_the_root_are_refused(string key)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Driver.CreateWriterAsync(key, default));
        await Assert.ThrowsAsync<ArgumentException>(() => Driver.OpenReadAsync(key, 0, default));
        await Assert.ThrowsAsync<ArgumentException>(() => Driver.DeleteAsync(key, default));
    }

    private async Task WriteAsync(string key, byte[] data)
    {
        await using var writer = await Driver.CreateWriterAsync(key, default);
        await writer.WriteAsync(data, default);
        await writer.CommitAsync(default);
    }

    private async Task AppendAsync(string key, long offset, byte[] data)
    {
        await using var writer = await Driver.OpenAppendAsync(key, offset, default) ?? throw new FileNotFoundException(key);
        await writer.WriteAsync(data, default);
        await writer.CommitAsync(default);
    }

    private async Task<byte[]> ReadAsync(string key, long offset)
    {
        await using var stream = await Driver.OpenReadAsync(key, offset, default) ?? throw new FileNotFoundException(key);
        using var memory = new MemoryStream();
        await stream.CopyToAsync(memory);
        return memory.ToArray();
    }
}

public sealed class FileSystemBlobDriverTests : BlobDriverConformanceTests
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "wharf-fs-" + Guid.NewGuid().ToString("N"));

    internal override IBlobDriver CreateDriver() => new FileSystemBlobDriver(_root, Clock);

    protected override IEnumerable<string> LeftoverFiles() => Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories);

    public override Task DisposeAsync()
    {
        Directory.Delete(_root, recursive: true);
        return Task.CompletedTask;
    }
}
