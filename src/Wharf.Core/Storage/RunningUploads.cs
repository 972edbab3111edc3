using System.Security.Cryptography;

namespace Wharf.Core.Storage;

/// <summary>
/// What this process keeps per resumable upload: a lock that lets one request at a time write to
/// the upload's object (an append, the completion that publishes it, the cancel that deletes it),
/// and the SHA-256 of the bytes the upload has recorded so far, so that completing a chunked upload
/// reads nothing back. .NET's <see cref="IncrementalHash"/> cannot export its state, so the hash
/// lives only here: after a restart (or once evicted) it is gone, and the completion hashes the
/// object again (a cold resume). At most <see cref="MaxHashes"/> uploads keep one; the least
/// recently used idle upload loses its hash first. One process owns a store (see
/// <see cref="FileSystemBlobDriver"/>), so an in-process lock serialises every writer of an upload.
/// </summary>
internal sealed class RunningUploads
{
    public const int MaxHashes = 1024;

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private long _clock;
    private int _hashes;

    internal sealed class Entry : IDisposable
    {
        public readonly SemaphoreSlim Gate = new(1, 1);
        public int Users;
        public IncrementalHash? Hash;
        public long Length;
        public long Touched;

        /// <summary>Only once no request holds or waits for it (removed from the table).</summary>
        public void Dispose()
        {
            Gate.Dispose();
            Hash?.Dispose();
        }
    }

    /// <summary>Waits for the upload's lock; dispose the lease to release it.</summary>
    public async Task<Lease> AcquireAsync(string uploadId, CancellationToken cancellationToken)
    {
        Entry entry;
        lock (_entries)
        {
            if (!_entries.TryGetValue(uploadId, out entry!))
            {
                entry = new Entry();
                _entries[uploadId] = entry;
            }

            entry.Users++;
        }

        try
        {
            await entry.Gate.WaitAsync(cancellationToken);
        }
        catch
        {
            Leave(uploadId, entry);
            throw;
        }

        return new Lease(this, uploadId, entry);
    }

    private void Leave(string uploadId, Entry entry)
    {
        lock (_entries)
        {
            entry.Users--;
            entry.Touched = ++_clock;
            if (entry.Users == 0 && entry.Hash is null)
            {
                _entries.Remove(uploadId);
                entry.Dispose();
            }
        }
    }

    private void Store(Entry entry, IncrementalHash? hash, long length)
    {
        lock (_entries)
        {
            var old = entry.Hash;
            _hashes += (hash is null ? 0 : 1) - (old is null ? 0 : 1);
            entry.Hash = hash;
            entry.Length = length;
            old?.Dispose();
            if (_hashes > MaxHashes)
            {
                EvictOne();
            }
        }
    }

    /// <summary>Drops the hash of the least recently used upload no request holds.</summary>
    private void EvictOne()
    {
        KeyValuePair<string, Entry>? oldest = null;
        foreach (var pair in _entries)
        {
            if (pair.Value is { Users: 0, Hash: not null } && (oldest is null || pair.Value.Touched < oldest.Value.Value.Touched))
            {
                oldest = pair;
            }
        }

        if (oldest is { } evicted)
        {
            _hashes--;
            _entries.Remove(evicted.Key);
            evicted.Value.Dispose();
        }
    }

    /// <summary>The lock on one upload, held until disposed, and its running hash.</summary>
    internal sealed class Lease(RunningUploads owner, string uploadId, Entry entry) : IDisposable
    {
        private bool _disposed;

        /// <summary>
        /// A copy of the hash of the upload's first <paramref name="length"/> bytes, to feed the next
        /// bytes into; null when this process does not know it (restarted, evicted, or the upload's
        /// recorded length differs).
        /// </summary>
        public IncrementalHash? CloneHashAt(long length) =>
            entry.Hash is { } hash && entry.Length == length ? hash.Clone() : null;

        /// <summary>The digest of the upload's first <paramref name="length"/> bytes; null when not known here.</summary>
        public byte[]? DigestAt(long length) =>
            entry.Hash is { } hash && entry.Length == length ? hash.GetCurrentHash() : null;

        /// <summary>Keeps <paramref name="hash"/> (now owned here) as the hash of the upload's first <paramref name="length"/> bytes.</summary>
        public void Keep(IncrementalHash hash, long length) => owner.Store(entry, hash, length);

        /// <summary>Forgets the upload's hash (it completed or was cancelled).</summary>
        public void Forget() => owner.Store(entry, null, 0);

        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            entry.Gate.Release();
            owner.Leave(uploadId, entry);
        }
    }
}
