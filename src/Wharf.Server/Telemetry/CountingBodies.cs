using System.IO.Pipelines;
using Microsoft.AspNetCore.Http.Features;

namespace Wharf.Server.Telemetry;

/// <summary>
/// Kestrel's response body, counting the body bytes written through it (its stream, its pipe, and
/// files sent through it). Bytes a handler writes on the socket itself (<see cref="Http.ZeroCopy"/>)
/// do not pass here; that path records them on the <see cref="RequestRecord"/>.
/// </summary>
internal sealed class CountingResponseBody(IHttpResponseBodyFeature inner) : IHttpResponseBodyFeature
{
    private long _bytes;
    private CountingPipeWriter? _writer;
    private CountingWriteStream? _stream;

    public long Bytes => Interlocked.Read(ref _bytes);

    public Stream Stream => _stream ??= new CountingWriteStream(inner.Stream, this);

    public PipeWriter Writer => _writer ??= new CountingPipeWriter(inner.Writer, this);

    public void Add(long count) => Interlocked.Add(ref _bytes, count);

    public void DisableBuffering() => inner.DisableBuffering();

    public Task StartAsync(CancellationToken cancellationToken = default) => inner.StartAsync(cancellationToken);

    public async Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default)
    {
        await inner.SendFileAsync(path, offset, count, cancellationToken);
        Add(count ?? new FileInfo(path).Length - offset);
    }

    public Task CompleteAsync() => inner.CompleteAsync();
}

/// <summary>A pipe writer that counts what is advanced or written, and otherwise is Kestrel's.</summary>
internal sealed class CountingPipeWriter(PipeWriter inner, CountingResponseBody body) : PipeWriter
{
    public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

    public override long UnflushedBytes => inner.UnflushedBytes;

    public override void Advance(int bytes)
    {
        inner.Advance(bytes);
        body.Add(bytes);
    }

    public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

    public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        body.Add(source.Length);
        return inner.WriteAsync(source, cancellationToken);
    }

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);
}

/// <summary>A write-only stream that counts what is written to Kestrel's response stream.</summary>
internal sealed class CountingWriteStream(Stream inner, CountingResponseBody body) : Stream
{
    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count)
    {
        inner.Write(buffer, offset, count);
        body.Add(count);
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        inner.Write(buffer);
        body.Add(buffer.Length);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await inner.WriteAsync(buffer, cancellationToken);
        body.Add(buffer.Length);
    }
}

/// <summary>A request body that counts the bytes read from it (blob uploads, <see cref="RequestRecord.UploadBody"/>).</summary>
internal sealed class CountingReadStream(Stream inner) : Wharf.Core.Storage.ReadOnlyStream
{
    private long _bytes;

    public long Bytes => Interlocked.Read(ref _bytes);

    public override int Read(byte[] buffer, int offset, int count) => Counted(inner.Read(buffer, offset, count));

    public override int Read(Span<byte> buffer) => Counted(inner.Read(buffer));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Counted(await inner.ReadAsync(buffer, cancellationToken));

    private int Counted(int read)
    {
        Interlocked.Add(ref _bytes, read);
        return read;
    }
}
