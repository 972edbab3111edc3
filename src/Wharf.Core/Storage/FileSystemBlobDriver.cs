using System.Runtime.CompilerServices;

namespace Wharf.Core.Storage;

/// <summary>
/// Byte store on a local directory. Writers stream into a hidden temp file beside the target, fsync
/// it and rename it into place on commit, so a reader never sees a partial object. Modification
/// times (commit, touch) come from the injected clock, the one cleanup computes its cut-offs from,
/// never from the kernel's. Appends write in place (the object's name is already durable) and are
/// durable on commit.
/// </summary>
internal sealed class FileSystemBlobDriver : IBlobDriver
{
    private const string TempSuffix = ".partial";

    private readonly string _root;

    private readonly TimeProvider _time;

    /// <summary>Told the full path of every directory fsynced, after the fsync (durability tests).</summary>
    private readonly Action<string>? _directorySynced;

    /// <summary>Shares one directory fsync among the moves into a folder that overlap in time.</summary>
    private readonly DirectorySync _directories;

    public FileSystemBlobDriver(string root, TimeProvider time, Action<string>? directorySynced = null)
    {
        _directorySynced = directorySynced;
        _directories = new DirectorySync(FsyncDirectory);
        _root = Path.GetFullPath(root);
        _time = time;
        EnsureDirectory(_root);

        // One process owns a filesystem store, so a temp file found at start-up was abandoned by a
        // crash (or a kill) in the middle of a write and will never be committed.
        foreach (var abandoned in Directory.EnumerateFiles(_root, "*" + TempSuffix, SearchOption.AllDirectories))
        {
            File.Delete(abandoned);
        }
    }

    public Task<Stream?> OpenReadAsync(string key, long offset, CancellationToken cancellationToken)
    {
        var path = FullPath(key);
        try
        {
            var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
            if (offset > 0)
            {
                stream.Seek(offset, SeekOrigin.Begin);
            }

            return Task.FromResult<Stream?>(stream);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Task.FromResult<Stream?>(null);
        }
    }

    public Task<IBlobWriter> CreateWriterAsync(string key, CancellationToken cancellationToken)
    {
        var path = FullPath(key);
        EnsureDirectory(Path.GetDirectoryName(path)!);
        var temp = path + "." + Guid.NewGuid().ToString("N") + TempSuffix;
        return Task.FromResult<IBlobWriter>(FileBlobWriter.Create(temp, path, _time));
    }

    public Task<IBlobWriter?> OpenAppendAsync(string key, long offset, CancellationToken cancellationToken) =>
        Task.FromResult<IBlobWriter?>(FileBlobWriter.OpenAppend(FullPath(key), offset, _time));

    public Task<BlobStat?> StatAsync(string key, CancellationToken cancellationToken)
    {
        var info = new FileInfo(FullPath(key));
        return Task.FromResult(info.Exists ? new BlobStat(key, info.Length, info.LastWriteTimeUtc) : null);
    }

    /// <summary>
    /// Renames, then fsyncs the destination's directory (every directory it needed was made durable
    /// when created), so the new name survives a power cut before any metadata that refers to it is
    /// committed. The source's directory is not fsynced: after a power cut the old name may be back
    /// beside the new one, which costs only a stale file the purge removes. Moves into one folder that
    /// overlap in time share an fsync (<see cref="DirectorySync"/>), each waiting for one that began
    /// after its rename.
    /// </summary>
    public Task MoveAsync(string source, string destination, CancellationToken cancellationToken)
    {
        var target = FullPath(destination);
        var folder = Path.GetDirectoryName(target)!;
        EnsureDirectory(folder);
        File.Move(FullPath(source), target, overwrite: true);
        return _directories.SyncAsync(folder);
    }

    /// <summary>
    /// Creates <paramref name="folder"/> and its missing ancestors, each made durable in its parent
    /// (the parent fsynced) before this returns: a name fsynced into a directory that itself
    /// vanishes at a power cut is lost with it. Costs nothing once the folders exist.
    /// </summary>
    private void EnsureDirectory(string folder)
    {
        if (Directory.Exists(folder))
        {
            return;
        }

        var missing = new List<string>();
        for (var at = folder; at is not null && !Directory.Exists(at); at = Path.GetDirectoryName(at))
        {
            missing.Add(at);
        }

        Directory.CreateDirectory(folder);
        foreach (var created in missing)
        {
            FsyncDirectory(Path.GetDirectoryName(created) ?? created);
        }
    }

    public Task<bool> TouchAsync(string key, CancellationToken cancellationToken)
    {
        var path = FullPath(key);
        if (!File.Exists(path))
        {
            return Task.FromResult(false);
        }

        try
        {
            File.SetLastWriteTimeUtc(path, _time.GetUtcNow().UtcDateTime);
            return Task.FromResult(true);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            // Renamed away (by the collector) between the check and the touch.
            return Task.FromResult(false);
        }
    }

    public Task<bool> DeleteAsync(string key, CancellationToken cancellationToken)
    {
        var path = FullPath(key);
        if (!File.Exists(path))
        {
            return Task.FromResult(false);
        }

        File.Delete(path);
        return Task.FromResult(true);
    }

    public async IAsyncEnumerable<BlobStat> WalkAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var folder = FullPath(prefix);
        if (!Directory.Exists(folder))
        {
            yield break;
        }

        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (file.EndsWith(TempSuffix, StringComparison.Ordinal))
            {
                continue;
            }

            var info = new FileInfo(file);
            if (info.Exists)
            {
                yield return new BlobStat(Path.GetRelativePath(_root, file).Replace('\\', '/'), info.Length, info.LastWriteTimeUtc);
            }
        }

        await Task.CompletedTask;
    }

    public string? TryGetLocalPath(string key) => FullPath(key);

    private string FullPath(string key)
    {
        StorageKey.Validate(key);
        return Path.Join(_root, key);
    }

    private void FsyncDirectory(string path)
    {
        NativeFile.FsyncDirectory(path);
        _directorySynced?.Invoke(path);
    }
}
