using System.Collections.Concurrent;

namespace Wharf.Core.Metadata;

/// <summary>
/// A read cache that is valid only while nothing has been written: each entry remembers the
/// store's write generation it was read at, and any later commit makes it stale. Callers read
/// the generation before they read the store, so a value read during a write is never kept as
/// current. Bounded: when full, it starts again empty.
/// The generation counts this node's writes only; with <paramref name="maxAge"/> an entry is also
/// read again once that old, so that a write by another node sharing the database (a revocation)
/// is seen within that time.
/// </summary>
internal sealed class GenerationCache<TKey, TValue>(IMetadataStore store, int capacity, TimeProvider? time = null, TimeSpan maxAge = default)
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, (long Generation, long ReadAt, TValue Value)> _entries = new();

    public async ValueTask<TValue> GetOrReadAsync(TKey key, Func<TKey, CancellationToken, Task<TValue>> read, CancellationToken cancellationToken)
    {
        var generation = store.Generation;
        var now = time?.GetTimestamp() ?? 0;
        if (_entries.TryGetValue(key, out var entry) && entry.Generation == generation
            && (time is null || maxAge <= TimeSpan.Zero || time.GetElapsedTime(entry.ReadAt, now) < maxAge))
        {
            return entry.Value;
        }

        var value = await read(key, cancellationToken);
        if (_entries.Count >= capacity)
        {
            _entries.Clear();
        }

        _entries[key] = (generation, now, value);
        return value;
    }
}
