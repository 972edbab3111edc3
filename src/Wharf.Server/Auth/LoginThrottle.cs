using System.Threading.RateLimiting;

namespace Wharf.Server.Auth;

/// <summary>
/// Slows password guessing (issue #3): every password verification takes a token from a bucket
/// for the user name and one for the client address. Buckets refill steadily; when one is empty
/// the attempt waits in a queue instead of failing, so guessing slows to the refill rate while a
/// locked-out administrator is only delayed, never refused. A full queue answers 429.
/// Successful logins are remembered for a minute (UserAuthenticator), so legitimate clients
/// rarely reach this.
/// </summary>
internal sealed class LoginThrottle : IDisposable
{
    private readonly PartitionedRateLimiter<string> _perUser = PartitionedRateLimiter.Create<string, string>(user =>
        RateLimitPartition.GetTokenBucketLimiter(user, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = 10,
            TokensPerPeriod = 1,
            ReplenishmentPeriod = TimeSpan.FromSeconds(2),
            QueueLimit = 20,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        }));

    private readonly PartitionedRateLimiter<string> _perAddress = PartitionedRateLimiter.Create<string, string>(address =>
        RateLimitPartition.GetTokenBucketLimiter(address, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = 60,
            TokensPerPeriod = 5,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 60,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        }));

    /// <summary>Waits for a verification slot; false when too many attempts are already waiting.</summary>
    public async Task<bool> WaitForTurnAsync(string user, string? address, CancellationToken cancellationToken)
    {
        using var byUser = await _perUser.AcquireAsync(user.ToUpperInvariant(), 1, cancellationToken);
        if (!byUser.IsAcquired)
        {
            return false;
        }

        using var byAddress = await _perAddress.AcquireAsync(address ?? "unknown", 1, cancellationToken);
        return byAddress.IsAcquired;
    }

    public void Dispose()
    {
        _perUser.Dispose();
        _perAddress.Dispose();
    }
}
