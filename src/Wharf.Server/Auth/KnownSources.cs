using System.Collections.Concurrent;

namespace Wharf.Server.Auth;

/// <summary>
/// The (user, client address) pairs that logged in with a correct password lately, kept in memory
/// for <see cref="RememberFor"/>: their password checks go ahead of everyone else's and are never
/// refused for want of a slot (<see cref="PasswordCheckGate"/>), so a flood of guesses from other
/// addresses cannot keep the owner out. Only a correct password adds a pair, so a guesser adds
/// none. Bounded: when full, the oldest quarter is forgotten. Forgotten at restart.
/// </summary>
internal sealed class KnownSources(TimeProvider time)
{
    public static readonly TimeSpan RememberFor = TimeSpan.FromHours(12);

    public const int Capacity = 50_000;

    private readonly ConcurrentDictionary<(string User, string Address), DateTimeOffset> _seen = new();
    private readonly Lock _pruning = new();

    public void Remember(string user, string address)
    {
        var key = (user.ToUpperInvariant(), address);
        if (_seen.Count >= Capacity && !_seen.ContainsKey(key))
        {
            Prune();
        }

        _seen[key] = time.GetUtcNow();
    }

    public bool Contains(string user, string address) =>
        _seen.TryGetValue((user.ToUpperInvariant(), address), out var at) && time.GetUtcNow() - at < RememberFor;

    private void Prune()
    {
        lock (_pruning)
        {
            if (_seen.Count < Capacity)
            {
                return;
            }

            var now = time.GetUtcNow();
            var byAge = _seen.OrderBy(p => p.Value).ToList();
            foreach (var (entry, index) in byAge.Select((p, i) => (p, i)))
            {
                if (now - entry.Value >= RememberFor || index < Capacity / 4)
                {
                    _seen.TryRemove(entry);
                }
            }
        }
    }
}
