using Wharf.Core.Metadata;

namespace Wharf.Server.Auth;

/// <summary>
/// The chain above an access token minted by a caller that authenticated with an access token
/// (issue #10): such a token lives only while every token up its chain is neither revoked (which
/// refreshing does too) nor expired, and while each user a token of the chain names (by id) still
/// exists and is enabled; it ends when the first of them ends. One query walks the chain; a second
/// per other user named, which only admins can cause (nobody else mints for another user).
/// </summary>
internal static class TokenChains
{
    /// <summary>How many tokens may stand above a token: longer chains are refused when minted and dead when used.</summary>
    public const int MaxLength = 16;

    /// <summary>
    /// Whether the chain from <paramref name="parentId"/> up stands at <paramref name="now"/>, and when
    /// its first token ends (null: never). <paramref name="subjectId"/> is the user already checked by
    /// the caller (the token's own subject), whose tokens up the chain need no second look.
    /// </summary>
    public static async Task<(bool Stands, DateTimeOffset? End)> CheckAsync(IMetadataSession session, string parentId, string? subjectId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var chain = await session.Credentials.TokenChainAsync(parentId, MaxLength, cancellationToken);

        // Empty: the parent is gone; a last link that names a parent: that one is gone, or the chain is too long.
        if (chain.Count == 0 || chain[^1].ParentId is not null)
        {
            return (false, null);
        }

        DateTimeOffset? end = null;
        foreach (var token in chain)
        {
            if (token.Revoked || token.Expiry <= now)
            {
                return (false, null);
            }

            end = Earlier(end, token.Expiry);
            if (token.SubjectId is not null && token.SubjectId != subjectId
                && await session.Users.GetByIdAsync(token.SubjectId, cancellationToken) is not { Disabled: false })
            {
                return (false, null);
            }
        }

        return (true, end);
    }

    /// <summary>The earlier of two ends, null meaning never.</summary>
    public static DateTimeOffset? Earlier(DateTimeOffset? a, DateTimeOffset? b) =>
        a is null ? b : b is null ? a : a < b ? a : b;
}
