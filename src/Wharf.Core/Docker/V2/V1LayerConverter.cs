using System.Formats.Tar;
using System.IO.Compression;
using System.IO.Pipelines;
using System.Security.Cryptography;
using Wharf.Core.Naming;
using Wharf.Core.Storage;

namespace Wharf.Core.Docker.V2;

/// <summary>A V1 layer as migration stores it: the gzip blob and its diff_id (null for an empty tar, which has no layer).</summary>
internal readonly record struct ConvertedLayer(string BlobSha256, long BlobSize, string? DiffId);

/// <summary>Turns stored V1 layers (plain or gzip tars) into V2 layers for <see cref="V1Migration"/>.</summary>
internal sealed class V1LayerConverter(ContentStore content)
{
    /// <summary>
    /// A V1 layer as a V2 layer: its diff_id (SHA-256 of the uncompressed tar; null for a tar
    /// without entries) and a gzip blob, the stored layer itself when it is gzip already, else
    /// compressed deterministically (no name, no time, level 6) while being stored.
    /// </summary>
    public async Task<ConvertedLayer> ConvertAsync(string layerSha256, long layerSize, CancellationToken cancellationToken)
    {
        bool gzip;
        await using (var probe = await OpenAsync(layerSha256, cancellationToken))
        {
            var magic = new byte[2];
            gzip = await probe.ReadAtLeastAsync(magic, 2, throwOnEndOfStream: false, cancellationToken) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        }

        bool empty;
        string diffId;
        await using (var raw = await OpenAsync(layerSha256, cancellationToken))
        await using (var tar = gzip ? new GZipStream(raw, CompressionMode.Decompress) : raw)
        using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        {
            var hashing = new HashingReadStream(tar, hash);
            empty = await IsEmptyTarAsync(hashing, cancellationToken);
            await hashing.CopyToAsync(Stream.Null, cancellationToken);
            diffId = "sha256:" + Sha256Hex.Format(hash.GetHashAndReset());
        }

        if (empty)
        {
            return new ConvertedLayer("", 0, null);
        }

        if (gzip)
        {
            return new ConvertedLayer(layerSha256, layerSize, diffId);
        }

        // The producer compresses into a pipe while the store reads from it. However storing ends
        // (stored, failed, cancelled), the producer is stopped and awaited before this returns: a
        // producer left behind would wait for good on the full pipe, holding the layer open.
        var pipe = new Pipe();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var compressing = Task.Run(() => CompressAsync(layerSha256, pipe.Writer, stop.Token), CancellationToken.None);
        PutBlobResult put;
        Exception? failure = null;
        try
        {
            put = await content.PutAsync(pipe.Reader.AsStream(leaveOpen: true), long.MaxValue, null, cancellationToken);
        }
        catch (Exception e)
        {
            failure = e;
            throw;
        }
        finally
        {
            await stop.CancelAsync();
            await pipe.Reader.CompleteAsync(failure);
            await compressing;
        }

        return put.Blob is { } blob ? new ConvertedLayer(blob.Sha256, blob.Size, diffId) : throw new InvalidDataException($"layer {layerSha256} could not be compressed");
    }

    /// <summary>
    /// Writes the layer gzip-compressed (no name, no time, level 6: deterministic) into
    /// <paramref name="writer"/> and completes it, with the failure when there is one; never throws.
    /// </summary>
    private async Task CompressAsync(string layerSha256, PipeWriter writer, CancellationToken cancellationToken)
    {
        try
        {
            await using var source = await OpenAsync(layerSha256, cancellationToken);
            await using (var gz = new GZipStream(writer.AsStream(leaveOpen: true), CompressionLevel.Optimal, leaveOpen: true))
            {
                await source.CopyToAsync(gz, cancellationToken);
            }

            await writer.CompleteAsync();
        }
        catch (Exception e)
        {
            await writer.CompleteAsync(e);
        }
    }

    /// <summary>Whether the stream starts a tar archive with no entries (e.g. 1024 zero bytes, or nothing at all).</summary>
    private static async Task<bool> IsEmptyTarAsync(Stream stream, CancellationToken cancellationToken)
    {
        var header = new byte[512];
        var read = await stream.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, cancellationToken);
        if (read == 0)
        {
            return true;
        }

        if (header.All(b => b == 0))
        {
            return true;
        }

        using var probe = new MemoryStream(header, 0, read);
        try
        {
            using var reader = new TarReader(probe);
            return reader.GetNextEntry() is null;
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            // Not a tar header at all: keep the layer as it is.
            return false;
        }
    }

    private async Task<Stream> OpenAsync(string sha256, CancellationToken cancellationToken) =>
        await content.OpenReadAsync(sha256, 0, cancellationToken) ?? throw new InvalidDataException($"blob {sha256} is missing");

    /// <summary>Passes reads through while hashing them.</summary>
    private sealed class HashingReadStream(Stream inner, IncrementalHash hash) : ReadOnlyStream
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken);
            hash.AppendData(buffer.Span[..read]);
            return read;
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var read = inner.Read(buffer, offset, count);
            hash.AppendData(buffer, offset, read);
            return read;
        }
    }
}
