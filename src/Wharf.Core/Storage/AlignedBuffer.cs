using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Wharf.Core.Storage;

/// <summary>
/// A page-aligned native copy buffer of <see cref="Size"/> bytes, pooled. The content store reads
/// request bodies into these, so that the filesystem driver can hand them to the disk with
/// <c>O_DIRECT</c> (which needs aligned memory) instead of copying them into the page cache.
/// </summary>
internal sealed unsafe class AlignedBuffer : MemoryManager<byte>
{
    public const int Size = 1 << 20;

    /// <summary>Most buffers kept idle; more are allocated while the load needs them and freed after.</summary>
    private const int MaxIdle = 8;

    private static readonly ConcurrentQueue<AlignedBuffer> Idle = new();

    private byte* _pointer = (byte*)NativeMemory.AlignedAlloc(Size, NativeFile.DirectAlignment);

    private AlignedBuffer()
    {
    }

    public static AlignedBuffer Rent() => Idle.TryDequeue(out var buffer) ? buffer : new AlignedBuffer();

    /// <summary>Gives the buffer back; nothing may use it afterwards.</summary>
    public void Return()
    {
        if (Idle.Count < MaxIdle)
        {
            Idle.Enqueue(this);
        }
        else
        {
            ((IDisposable)this).Dispose();
        }
    }

    public override Span<byte> GetSpan() => new(_pointer, Size);

    public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
        if (_pointer is not null)
        {
            NativeMemory.AlignedFree(_pointer);
            _pointer = null;
        }
    }
}
