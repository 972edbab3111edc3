using System.Threading.RateLimiting;

namespace Wharf.Server.Auth;

/// <summary>
/// Slows password guessing (issue #3) without letting anyone lock an account out (issue #10).
/// Every password verification takes, in this order:
/// <list type="number">
/// <item>a token from its client address's bucket (60, five more a second);</item>
/// <item>a token from the bucket of that address and user name (10, one more every 2 s);</item>
/// <item>unless the address is a known source of the user (<see cref="KnownSources"/>), a token
/// from the user name's bucket (10, one more every 2 s).</item>
/// </list>
/// The two buckets of the source queue an attempt while empty and refuse it (429) when their
/// queue is full: they hold back the guessing source alone. The user's bucket, which every
/// address shares, never refuses and never queues: when empty, the attempt waits a fixed
/// <see cref="UserDelay"/>. The answer is the attempt's place in the line for a verification slot
/// (<see cref="PasswordCheckGate"/>): a known source first, then an attempt that found the user's
/// bucket full (nobody was guessing at that user), then the rest.
/// Successful logins are remembered for a minute (UserAuthenticator), so legitimate clients
/// rarely reach this.
/// </summary>
internal sealed class LoginThrottle(TimeProvider time, KnownSources known) : IDisposable
{
    /// <summary>How long an attempt from a source not known for the user waits when the user's bucket is empty.</summary>
    public static readonly TimeSpan UserDelay = TimeSpan.FromSeconds(1);

    /// <summary>Tokens of a user's bucket when full.</summary>
    private const int UserBurst = 10;

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
            TokenLimit = UserBurst,
            TokensPerPeriod = 1,
            ReplenishmentPeriod = TimeSpan.FromSeconds(2),
            QueueLimit = 0,
        }));

    /// <summary>
    /// Waits for this attempt's turn and says where it queues for a verification slot; null only
    /// when too many attempts from this address (for any user, or for this one) are already waiting.
    /// Never null because of the user alone.
    /// </summary>
    public async Task<LoginPriority?> WaitForTurnAsync(string user, string? address, CancellationToken cancellationToken)
    {
        var source = address ?? "unknown";
        var name = user.ToUpperInvariant();
        using var byAddress = await _perAddress.AcquireAsync(source, 1, cancellationToken);
        if (!byAddress.IsAcquired)
        {
            return null;
        }

        using var byAddressAndUser = await _perAddressAndUser.AcquireAsync(source + "\n" + name, 1, cancellationToken);
        if (!byAddressAndUser.IsAcquired)
        {
            return null;
        }

        if (address is not null && known.Contains(user, address))
        {
            return LoginPriority.Known;
        }

        var fresh = _perUser.GetStatistics(name)?.CurrentAvailablePermits >= UserBurst;
        using var byUser = _perUser.AttemptAcquire(name);
        if (!byUser.IsAcquired)
        {
            await Task.Delay(UserDelay, time, cancellationToken);
        }

        return fresh ? LoginPriority.Fresh : LoginPriority.Unknown;
    }

    /// <summary>A correct password for <paramref name="user"/> came from <paramref name="address"/>: it goes first from now on.</summary>
    public void Succeeded(string user, string? address)
    {
        if (address is not null)
        {
            known.Remember(user, address);
        }
    }

    public void Dispose()
    {
        _perAddress.Dispose();
        _perAddressAndUser.Dispose();
        _perUser.Dispose();
    }
}
