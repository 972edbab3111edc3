using System.Collections.Concurrent;

namespace Wharf.Core.Tree;

/// <summary>
/// A read cache that is valid only while nothing has been written: each entry remembers the
/// store's write generation it was read at, and any later commit makes it stale. Callers read
/// the generation before they read the store, so a value read during a write is never kept as
/// current. Bounded: when full, it starts again empty.
/// </summary>
internal sealed class GenerationCache<TKey, TValue>(IMetadataStore store, int capacity)
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, (long Generation, TValue Value)> _entries = new();

    public async ValueTask<TValue> GetOrReadAsync(TKey key, Func<TKey, CancellationToken, Task<TValue>> read, CancellationToken cancellationToken)
    {
        var generation = store.Generation;
        if (_entries.TryGetValue(key, out var entry) && entry.Generation == generation)
        {
            return entry.Value;
        }

        var value = await read(key, cancellationToken);
        if (_entries.Count >= capacity)
        {
            _entries.Clear();
        }

        _entries[key] = (generation, value);
        return value;
    }
}
