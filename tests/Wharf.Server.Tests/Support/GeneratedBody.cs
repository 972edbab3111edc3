using System.Net;
using System.Security.Cryptography;

namespace Wharf.Server.Tests.Support;

/// <summary>
/// A request body of <c>length</c> bytes made while it is sent (never held in memory): one random
/// MiB repeated with its first eight bytes numbering the MiB, hashed on the way so its sha256
/// digest is known when the last byte is out. No length is announced, so it goes chunked.
/// <c>checkpoint</c> runs once, after <c>checkpointAt</c> bytes were handed to the connection,
/// while the rest is still to come: what a test checks mid-transfer.
/// </summary>
internal sealed class GeneratedBody(long length, long checkpointAt = -1, Func<Task>? checkpoint = null, byte[]? prefix = null) : HttpContent
{
    private const int Block = 1024 * 1024;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly IncrementalHash _payloadHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private string? _digest;
    private string? _payloadDigest;

    /// <summary>sha256 of the body, <c>sha256:&lt;hex&gt;</c>, once it was sent.</summary>
    public string Digest => _digest ?? throw new InvalidOperationException("the body was not sent");

    /// <summary>sha256 of <c>prefix</c> followed by the body (V1's payload checksum: json ‖ '\n' ‖ layer).</summary>
    public string PayloadDigest => _payloadDigest ?? throw new InvalidOperationException("the body was not sent");

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        var block = RandomNumberGenerator.GetBytes(Block);
        _payloadHash.AppendData(prefix ?? []);
        for (long sent = 0, index = 0; sent < length; index++)
        {
            BitConverter.TryWriteBytes(block, index);
            var count = (int)Math.Min(Block, length - sent);
            await stream.WriteAsync(block.AsMemory(0, count));
            _hash.AppendData(block, 0, count);
            _payloadHash.AppendData(block, 0, count);
            var before = sent;
            sent += count;
            if (checkpoint is not null && before < checkpointAt && sent >= checkpointAt)
            {
                await stream.FlushAsync();
                await checkpoint();
            }
        }

        _digest = "sha256:" + Convert.ToHexStringLower(_hash.GetHashAndReset());
        _payloadDigest = "sha256:" + Convert.ToHexStringLower(_payloadHash.GetHashAndReset());
    }

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
            _payloadHash.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>Reads <paramref name="content"/> to its end without keeping it: its length and sha256 digest.</summary>
    public static async Task<(long Length, string Digest)> DrainAsync(HttpContent content)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var stream = await content.ReadAsStreamAsync();
        var buffer = new byte[Block];
        long total = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            total += read;
        }

        return (total, "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset()));
    }
}
