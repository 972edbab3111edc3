using System.Globalization;
using Microsoft.Net.Http.Headers;
using Wharf.Core.Storage;

namespace Wharf.Server.Http;

/// <summary>
/// Sends a stored blob with single-range support (RFC 9110 §14): <c>bytes=a-b</c> (b clamped to the
/// last byte), <c>bytes=a-</c> and <c>bytes=-n</c> answer 206; a start at or past the end answers
/// 416 with <c>Content-Range: bytes */size</c> and no body. A request for several ranges is
/// answered with the whole body (200, which §14.2 allows) when at least one of them is
/// satisfiable, and 416 only when none is. Whole local files of a megabyte or more go out with
/// sendfile(2) (<see cref="ZeroCopy"/>).
/// </summary>
internal static class BlobResponse
{
    /// <summary>Below this a blob goes through Kestrel and the connection stays open for the next request.</summary>
    private const long ZeroCopyMinBytes = 1 << 20;

    public static async Task SendAsync(HttpContext context, ContentStore content, string sha256, long size, string contentType, CancellationToken cancellationToken)
    {
        var response = context.Response;
        response.Headers.AcceptRanges = "bytes";
        response.ContentType = contentType;
        long offset = 0;
        var length = size;
        var rangeHeader = context.Request.Headers.Range.ToString();
        if (rangeHeader.Length > 0)
        {
            switch (ParseRange(rangeHeader, size, out offset, out length))
            {
                case RangeOutcome.Unsatisfiable:
                    response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
                    response.Headers.ContentRange = $"bytes */{size}";
                    response.ContentLength = 0;
                    return;
                case RangeOutcome.Partial:
                    response.StatusCode = StatusCodes.Status206PartialContent;
                    response.Headers.ContentRange = string.Create(CultureInfo.InvariantCulture, $"bytes {offset}-{offset + length - 1}/{size}");
                    break;
                default:
                    offset = 0;
                    length = size;
                    break;
            }
        }

        response.ContentLength = length;
        if (HttpMethods.IsHead(context.Request.Method) || length == 0)
        {
            return;
        }

        Telemetry.RequestRecord.Of(context)?.Downloading();

        if (offset == 0 && length == size && length >= ZeroCopyMinBytes && content.TryGetLocalPath(sha256) is { } path
            && await ZeroCopy.TrySendFileAsync(context, path, cancellationToken))
        {
            return;
        }

        // Reading straight into Kestrel's output pipe's memory (one copy fewer than a buffer +
        // Body.WriteAsync) measured fastest of the ways through Kestrel (bench/kestrel-floor.sh).
        await using var stream = await content.OpenReadAsync(sha256, offset, cancellationToken)
            ?? throw new InvalidOperationException($"Blob {sha256} is referenced but missing.");
        await StreamCopy.CopyAsync(stream, response.BodyWriter, length, cancellationToken);
    }

    private enum RangeOutcome
    {
        Ignore,
        Partial,
        Unsatisfiable,
    }

    private static RangeOutcome ParseRange(string header, long size, out long offset, out long length)
    {
        offset = 0;
        length = size;
        if (!RangeHeaderValue.TryParse(header, out var parsed) || !"bytes".Equals(parsed.Unit.Value, StringComparison.OrdinalIgnoreCase))
        {
            return RangeOutcome.Ignore;
        }

        if (parsed.Ranges.Count != 1)
        {
            return parsed.Ranges.Any(r => IsSatisfiable(r, size)) ? RangeOutcome.Ignore : RangeOutcome.Unsatisfiable;
        }

        var range = parsed.Ranges.First();
        if (range.From is { } from)
        {
            if (from >= size)
            {
                return RangeOutcome.Unsatisfiable;
            }

            var to = Math.Min(range.To ?? size - 1, size - 1);
            if (to < from)
            {
                return RangeOutcome.Ignore;
            }

            offset = from;
            length = to - from + 1;
            return RangeOutcome.Partial;
        }

        if (range.To is { } suffix && suffix > 0 && size > 0)
        {
            length = Math.Min(suffix, size);
            offset = size - length;
            return RangeOutcome.Partial;
        }

        return RangeOutcome.Unsatisfiable;
    }

    /// <summary>RFC 9110 §14.1.1: a range starting before the end, or a suffix of at least one byte of a non-empty body.</summary>
    private static bool IsSatisfiable(RangeItemHeaderValue range, long size) =>
        range.From is { } from ? from < size : range.To is > 0 && size > 0;
}

/// <summary>Copies a byte count from a stream into a pipe, reading directly into the pipe's memory.</summary>
internal static class StreamCopy
{
    private const int ChunkHint = 256 * 1024;

    public static async Task CopyAsync(Stream source, System.IO.Pipelines.PipeWriter destination, long count, CancellationToken cancellationToken)
    {
        while (count > 0)
        {
            var memory = destination.GetMemory(ChunkHint);
            if (memory.Length > count)
            {
                memory = memory[..(int)count];
            }

            var read = await source.ReadAsync(memory, cancellationToken);
            if (read == 0)
            {
                throw new InvalidOperationException("The stored blob is shorter than its recorded size.");
            }

            destination.Advance(read);
            count -= read;
            var flushed = await destination.FlushAsync(cancellationToken);
            if (flushed.IsCanceled || flushed.IsCompleted)
            {
                return;
            }
        }
    }
}
