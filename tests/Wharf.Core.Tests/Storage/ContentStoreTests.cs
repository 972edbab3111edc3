using System.Security.Cryptography;
using System.Text;
using Wharf.Core.Naming;
using Wharf.Core.Storage;

namespace Wharf.Core.Tests.Storage;

public sealed class ContentStoreTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "wharf-cs-" + Guid.NewGuid().ToString("N"));
    private readonly ContentStore _store;

    public ContentStoreTests() => _store = new ContentStore(new FileSystemBlobDriver(_root, TimeProvider.System));

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Blobs_are_addressed_by_sha256_and_stored_once()
    {
        var data = RandomNumberGenerator.GetBytes(10_000);
        var first = await _store.PutAsync(new MemoryStream(data), long.MaxValue, null, default);
        var second = await _store.PutAsync(new MemoryStream(data), long.MaxValue, null, default);

        Assert.Equal(Sha256Hex.Of(data), first.Blob!.Sha256);
        Assert.Equal(first.Blob, second.Blob);
        Assert.Single(Directory.EnumerateFiles(Path.Combine(_root, "blobs"), "*", SearchOption.AllDirectories));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_root, "uploads"), "*", SearchOption.AllDirectories));
        Assert.Equal(data, await _store.ReadAllBytesAsync(first.Blob.Sha256, default));
    }

    /// <summary>docker-v1-protocol §7.1 test vectors, computed through the streaming path.</summary>
    [Theory]
    [InlineData(false, "sha256:592499ce539524a3abe271ca057b2d181b38adab178ae673a8583d2c12080802")]
    [InlineData(true, "sha256:16b57e2ef5a92d594aabe30140b92cb67484de18e52433349d5fa5b7d22eaf59")]
    public async Task The_payload_checksum_hashes_json_newline_layer(bool trailingNewline, string expected)
    {
        var json = "{\"id\":\"" + new string('a', 64) + "\"}" + (trailingNewline ? "\n" : "");
        using var payload = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        payload.AppendData(Encoding.ASCII.GetBytes(json));
        payload.AppendData("\n"u8);
        await _store.PutAsync(new MemoryStream("hello"u8.ToArray()), long.MaxValue, payload, default);
        Assert.Equal(expected, "sha256:" + Convert.ToHexStringLower(payload.GetHashAndReset()));
    }

    [Fact]
    public async Task A_source_that_fails_midway_stores_nothing()
    {
        var result = await _store.PutAsync(new FailingStream(300_000), long.MaxValue, null, default);
        Assert.Equal(PutBlobFailure.SourceFailed, result.Failure);
        Assert.Empty(Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_source_over_the_limit_stores_nothing()
    {
        var result = await _store.PutAsync(new MemoryStream(new byte[2000]), 1000, null, default);
        Assert.Equal(PutBlobFailure.TooLarge, result.Failure);
        Assert.Empty(Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Legacy_checksums_are_computed_on_demand()
    {
        var blob = await _store.PutBytesAsync("hello"u8.ToArray(), default);
        var (sha1, md5) = (await _store.ComputeLegacyChecksumsAsync(blob.Sha256, default))!.Value;
        Assert.Equal("aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d", sha1);
        Assert.Equal("5d41402abc4b2a76b9719d911017c592", md5);
    }

    /// <summary>Delivers some bytes, then fails the way an aborted request body does.</summary>
    private sealed class FailingStream(int failAfter) : Stream
    {
        private int _delivered;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => _delivered; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_delivered >= failAfter)
            {
                throw new IOException("Unexpected end of request content.");
            }

            var n = Math.Min(count, failAfter - _delivered);
            _delivered += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Fact]
    public async Task Reclaim_removes_a_blob_written_before_the_cutoff_and_keeps_a_fresh_one()
    {
        var old = await _store.PutBytesAsync(RandomNumberGenerator.GetBytes(100), default);
        File.SetLastWriteTimeUtc(BlobFile(old.Sha256), DateTime.UtcNow.AddHours(-2));
        var fresh = await _store.PutBytesAsync(RandomNumberGenerator.GetBytes(100), default);
        var cutoff = DateTimeOffset.UtcNow.AddHours(-1);

        Assert.Equal(new ReclaimOutcome(ReclaimResult.Removed, 100), await _store.ReclaimAsync(old.Sha256, cutoff, default));
        Assert.Equal(ReclaimResult.KeptFresh, (await _store.ReclaimAsync(fresh.Sha256, cutoff, default)).Result);
        Assert.Equal(ReclaimResult.Absent, (await _store.ReclaimAsync(old.Sha256, cutoff, default)).Result);
        Assert.False(File.Exists(BlobFile(old.Sha256)));
        Assert.True(File.Exists(BlobFile(fresh.Sha256)));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_root, StoragePaths.ReclaimingRoot)));
    }

    /// <summary>
    /// The collector chose an old, unreferenced blob; before it acts, a push stores the same content
    /// again. The push's copy restarts the grace period, so the blob survives for the push to refer to.
    /// </summary>
    [Fact]
    public async Task Content_stored_again_after_the_collector_chose_it_survives()
    {
        var data = RandomNumberGenerator.GetBytes(5000);
        var blob = await _store.PutAsync(new MemoryStream(data), long.MaxValue, null, default);
        File.SetLastWriteTimeUtc(BlobFile(blob.Blob!.Sha256), DateTime.UtcNow.AddHours(-2));
        var cutoff = DateTimeOffset.UtcNow.AddHours(-1);
        var chosen = new List<string>();
        await foreach (var (sha256, stat) in _store.WalkBlobsAsync(default))
        {
            if (stat.Modified < cutoff)
            {
                chosen.Add(sha256);
            }
        }

        Assert.Equal([blob.Blob.Sha256], chosen);
        await _store.PutAsync(new MemoryStream(data), long.MaxValue, null, default);

        Assert.Equal(ReclaimResult.KeptFresh, (await _store.ReclaimAsync(chosen[0], cutoff, default)).Result);
        Assert.Equal(data, await _store.ReadAllBytesAsync(blob.Blob.Sha256, default));
    }

    [Fact]
    public async Task Stale_upload_files_are_purged_and_recent_ones_kept()
    {
        Directory.CreateDirectory(Path.Combine(_root, "uploads"));
        var stale = Path.Combine(_root, "uploads", "stale");
        var recent = Path.Combine(_root, "uploads", "recent");
        await File.WriteAllBytesAsync(stale, new byte[10]);
        await File.WriteAllBytesAsync(recent, new byte[10]);
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddDays(-2));

        var kept = Path.Combine(_root, "uploads", "kept");
        await File.WriteAllBytesAsync(kept, new byte[10]);
        File.SetLastWriteTimeUtc(kept, DateTime.UtcNow.AddDays(-2));

        Assert.Equal((1, 10L), await _store.PurgeUploadsAsync(DateTimeOffset.UtcNow.AddDays(-1), key => Task.FromResult(key == "uploads/kept"), default));
        Assert.True(File.Exists(kept));
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(recent));
    }

    [Fact]
    public async Task Blobs_left_aside_by_a_crashed_collection_are_purged()
    {
        var left = Path.Combine(_root, StoragePaths.Reclaiming(new string('a', 64)));
        Directory.CreateDirectory(Path.GetDirectoryName(left)!);
        await File.WriteAllBytesAsync(left, new byte[3]);

        Assert.Equal(1, await _store.PurgeLeftAsideAsync(default));
        Assert.False(File.Exists(left));
    }

    private string BlobFile(string sha256) => Path.Combine(_root, StoragePaths.Blob(sha256));
}
