using System.Threading.RateLimiting;

namespace Wharf.Server.Auth;

/// <summary>
/// Slows password guessing (issue #3) without letting anyone lock an account out (issue #10).
/// Every password verification takes, in this order:
/// <list type="number">
/// <item>a token from its client address's bucket (60, five more a second);</item>
/// <item>a token from the bucket of that address and user name (10, one more every 2 s);</item>
/// <item>a token from the user name's bucket (10, one more every 2 s).</item>
/// </list>
/// The two buckets of the source queue an attempt while empty and refuse it (429) when their
/// queue is full: they hold back the guessing source alone. The user's bucket, which every
/// address shares, never refuses and never queues: when empty, the attempt waits a fixed
/// <see cref="UserDelay"/>, so guessing one account from many addresses is slowed while its owner
/// is let in after at most that delay, however many guesses are arriving.
/// Successful logins are remembered for a minute (UserAuthenticator), so legitimate clients
/// rarely reach this.
/// </summary>
internal sealed class LoginThrottle(TimeProvider time) : IDisposable
{
    /// <summary>How long an attempt waits when its user's bucket is empty; the most the owner of a guessed account waits.</summary>
    public static readonly TimeSpan UserDelay = TimeSpan.FromSeconds(1);

    private readonly PartitionedRateLimiter<string> _perAddress = PartitionedRateLimiter.Create<string, string>(address =>
        RateLimitPartition.GetTokenBucketLimiter(address, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = 60,
            TokensPerPeriod = 5,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 60,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        }));

    private readonly PartitionedRateLimiter<string> _perAddressAndUser = PartitionedRateLimiter.Create<string, string>(key =>
        RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = 10,
            TokensPerPeriod = 1,
            ReplenishmentPeriod = TimeSpan.FromSeconds(2),
            QueueLimit = 20,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        }));

    private readonly PartitionedRateLimiter<string> _perUser = PartitionedRateLimiter.Create<string, string>(user =>
        RateLimitPartition.GetTokenBucketLimiter(user, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = 10,
            TokensPerPeriod = 1,
            ReplenishmentPeriod = TimeSpan.FromSeconds(2),
            QueueLimit = 0,
        }));

    /// <summary>
    /// Waits for a verification slot; false only when too many attempts from this address (for
    /// any user, or for this one) are already waiting. Never false because of the user alone.
    /// </summary>
    public async Task<bool> WaitForTurnAsync(string user, string? address, CancellationToken cancellationToken)
    {
        var source = address ?? "unknown";
        var name = user.ToUpperInvariant();
        using var byAddress = await _perAddress.AcquireAsync(source, 1, cancellationToken);
        if (!byAddress.IsAcquired)
        {
            return false;
        }

        using var byAddressAndUser = await _perAddressAndUser.AcquireAsync(source + "\n" + name, 1, cancellationToken);
        if (!byAddressAndUser.IsAcquired)
        {
            return false;
        }

        using var byUser = _perUser.AttemptAcquire(name);
        if (!byUser.IsAcquired)
        {
            await Task.Delay(UserDelay, time, cancellationToken);
        }

        return true;
    }

    public void Dispose()
    {
        _perAddress.Dispose();
        _perAddressAndUser.Dispose();
        _perUser.Dispose();
    }
}
