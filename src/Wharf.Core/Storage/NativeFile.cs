using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Wharf.Core.Storage;

/// <summary>
/// The Linux calls the filesystem driver needs and .NET does not expose: directory fsync,
/// <c>sync_file_range</c> and <c>O_DIRECT</c> switched on an open file. Elsewhere each is a no-op
/// (or reports that it is unavailable), and the driver falls back to what .NET offers.
/// </summary>
internal static partial class NativeFile
{
    private const uint SyncFileRangeWrite = 2;
    private const int OpenReadOnlyDirectory = 0x10000; // O_RDONLY | O_DIRECTORY on Linux
    private const int GetStatusFlags = 3; // F_GETFL
    private const int SetStatusFlags = 4; // F_SETFL

    /// <summary>O_DIRECT's value differs between architectures; 0 where Wharf does not know it.</summary>
    private static readonly int DirectFlag = !OperatingSystem.IsLinux() ? 0 : RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 or Architecture.X86 => 0x4000,
        Architecture.Arm64 or Architecture.Arm => 0x10000,
        _ => 0,
    };

    /// <summary>
    /// The alignment <c>O_DIRECT</c> transfers keep (memory address, file offset and length): a
    /// page, which covers every logical block size a Linux disk reports.
    /// </summary>
    public const int DirectAlignment = 4096;

    /// <summary>fsyncs a directory, so the names created or renamed in it survive a power cut.</summary>
    public static void FsyncDirectory(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var fd = Open(path, OpenReadOnlyDirectory);
        if (fd < 0)
        {
            throw new IOException($"Cannot open directory {path} to fsync it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory {path} failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>Asks Linux to start writing a range of the file back now, without waiting for it.</summary>
    public static void StartWriteback(SafeFileHandle file, long offset, long length)
    {
        if (OperatingSystem.IsLinux())
        {
            _ = SyncFileRange((int)file.DangerousGetHandle(), offset, length, SyncFileRangeWrite);
        }
    }

    /// <summary>
    /// Switches <c>O_DIRECT</c> on or off for an open file; false when the system or the file system
    /// cannot (the caller then keeps writing through the page cache).
    /// </summary>
    public static bool TrySetDirect(SafeFileHandle file, bool direct)
    {
        if (DirectFlag == 0)
        {
            return false;
        }

        var fd = (int)file.DangerousGetHandle();
        var flags = Fcntl(fd, GetStatusFlags, 0);
        if (flags < 0)
        {
            return false;
        }

        var wanted = direct ? flags | DirectFlag : flags & ~DirectFlag;
        return wanted == flags || Fcntl(fd, SetStatusFlags, wanted) == 0;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    private static partial int SyncFileRange(int fd, long offset, long nbytes, uint flags);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, int argument);
}
