namespace Wharf.Core.Storage;

/// <summary>
/// An object being written by <see cref="FileSystemBlobDriver"/>: a new object streamed into a
/// hidden temp file that is renamed into place on commit, or an existing object appended to in
/// place. Large writes whose memory, offset and length are page-aligned go to the disk directly
/// (<c>O_DIRECT</c>): copying a gigabyte into the page cache costs more CPU on this kind of machine
/// than receiving and hashing it (bench/README.md, 2026-12 upload work), and the closing fsync then
/// finds almost nothing left to write. Other writes go through the page cache, with writeback
/// started as they are written.
/// </summary>
internal sealed class FileBlobWriter : IBlobWriter
{
    /// <summary>How much is written through the page cache before its writeback is started.</summary>
    private const long WritebackStride = 8 << 20;

    /// <summary>Smaller writes go through the page cache: a direct write waits for the disk.</summary>
    private const int DirectMinimum = 64 << 10;

    private readonly FileStream _stream;
    private readonly string _path;
    private readonly string? _publishAs;
    private readonly TimeProvider _time;
    private long _writebackStarted;
    private bool _direct;
    private bool _directUnavailable;
    private bool _committed;

    private FileBlobWriter(FileStream stream, string path, string? publishAs, TimeProvider time)
    {
        _stream = stream;
        _path = path;
        _publishAs = publishAs;
        _time = time;
        _writebackStarted = stream.Position;
    }

    /// <summary>A new object written to <paramref name="tempPath"/> and renamed to <paramref name="finalPath"/> on commit.</summary>
    public static FileBlobWriter Create(string tempPath, string finalPath, TimeProvider time) =>
        new(new FileStream(tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous), tempPath, finalPath, time);

    /// <summary>
    /// Appends to the existing file <paramref name="path"/> after its first <paramref name="offset"/>
    /// bytes, cutting off whatever follows them first (bytes of an append that never committed);
    /// null when the file does not exist.
    /// </summary>
    public static FileBlobWriter? OpenAppend(string path, long offset, TimeProvider time)
    {
        FileStream stream;
        try
        {
            // Readers may hold it open (FileShare.Read); the session lock keeps other writers out.
            stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.Read, 1, FileOptions.Asynchronous);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        try
        {
            if (stream.Length < offset)
            {
                throw new IOException($"{path} holds {stream.Length} bytes, fewer than the {offset} to append after.");
            }

            if (stream.Length > offset)
            {
                stream.SetLength(offset);
            }

            stream.Position = offset;
            return new FileBlobWriter(stream, path, null, time);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    public long Length => _stream.Length;

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var position = _stream.Position;
        var direct = !_directUnavailable && IsDirectCandidate(data, position);
        if (direct != _direct)
        {
            if (NativeFile.TrySetDirect(_stream.SafeFileHandle, direct))
            {
                _direct = direct;
            }
            else if (direct)
            {
                // The file system refuses O_DIRECT (tmpfs, for one): the page cache it is.
                _directUnavailable = true;
            }
            else
            {
                throw new IOException($"Cannot switch O_DIRECT off for {_path}.");
            }
        }

        await _stream.WriteAsync(data, cancellationToken);
        if (_direct)
        {
            _writebackStarted = _stream.Position;
            return;
        }

        var written = _stream.Position;
        if (written - _writebackStarted >= WritebackStride)
        {
            NativeFile.StartWriteback(_stream.SafeFileHandle, _writebackStarted, written - _writebackStarted);
            _writebackStarted = written;
        }
    }

    /// <summary>
    /// Makes the bytes (and the file's length and modification time, from the injected clock) durable;
    /// a new object is then renamed into place. Its name is not made durable here (see
    /// <see cref="IBlobWriter.CommitAsync"/>); an appended object keeps the name it had.
    /// </summary>
    public async Task CommitAsync(CancellationToken cancellationToken)
    {
        await _stream.FlushAsync(cancellationToken);
        File.SetLastWriteTimeUtc(_stream.SafeFileHandle, _time.GetUtcNow().UtcDateTime);
        _stream.Flush(flushToDisk: true);
        await _stream.DisposeAsync();
        if (_publishAs is not null)
        {
            File.Move(_path, _publishAs, overwrite: true);
        }

        _committed = true;
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        if (!_committed && _publishAs is not null)
        {
            File.Delete(_path);
        }
    }

    /// <summary>Whether <c>O_DIRECT</c> can write <paramref name="data"/> at <paramref name="position"/>: large, and aligned in memory, offset and length.</summary>
    private static unsafe bool IsDirectCandidate(ReadOnlyMemory<byte> data, long position)
    {
        if (data.Length < DirectMinimum || data.Length % NativeFile.DirectAlignment != 0 || position % NativeFile.DirectAlignment != 0)
        {
            return false;
        }

        using var pinned = data.Pin();
        return (nuint)pinned.Pointer % NativeFile.DirectAlignment == 0;
    }
}
