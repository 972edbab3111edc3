using System.Globalization;
using Wharf.Core.Metadata;
using Wharf.Core.Operations;
using Wharf.Core.Security;
using Wharf.Server.Hosting;

namespace Wharf.Server.Auth;

/// <summary>What a token request asks for, as the form states it (rest-api §6.7): fields not sent are null.</summary>
internal sealed record TokenRequest(string? Username, string? ExpiresIn, string? Scope, bool Refreshable);

/// <summary>An access token just issued: shown once, with its lifetime (0: never expires), scope and refresh token if refreshable.</summary>
internal sealed record IssuedToken(string AccessToken, int ExpiresIn, string Scope, string? RefreshToken);

/// <summary>
/// Access tokens (rest-api §6.7). A token is bound to its subject's immutable user id, or to no
/// user when the subject was none (an admin's token for a transient subject). A caller that
/// authenticated with an access token mints only tokens that die with it: the new token records it
/// as its parent, expires no later than it (a longer or a non-expiring request is cut to its end,
/// and <c>expires_in</c> says so), and refreshing the new token keeps both.
/// </summary>
internal sealed partial class CredentialService
{
    public const int DefaultTokenSeconds = 3600;

    /// <summary>Longest lifetime a non-admin may give a token: one year.</summary>
    public const int MaxUserTokenSeconds = 365 * 86400;

    /// <summary>A new token for the caller, or (admins only) for another subject, within the caller's rights.</summary>
    public async Task<(IssuedToken? Token, OperationResult Result)> CreateTokenAsync(Principal caller, TokenRequest request, CancellationToken cancellationToken)
    {
        var subject = request.Username is { Length: > 0 } named ? named : caller.UserName!;
        var self = string.Equals(subject, caller.UserName, StringComparison.OrdinalIgnoreCase);
        if (!caller.IsAdmin && !self)
        {
            return (null, OperationResult.Forbidden("Only administrators may create tokens for other users."));
        }

        if (!int.TryParse(request.ExpiresIn is { Length: > 0 } e ? e : DefaultTokenSeconds.ToString(CultureInfo.InvariantCulture), out var seconds) || seconds < 0)
        {
            return (null, OperationResult.BadRequest("expires_in must be a whole number of seconds, 0 or more."));
        }

        if (seconds == 0 && !caller.IsAdmin)
        {
            return (null, OperationResult.Forbidden("Only administrators may create tokens that never expire."));
        }

        var groups = ParseGroups(request.Scope ?? "", out var scopeProblem);
        if (scopeProblem is not null)
        {
            return (null, OperationResult.BadRequest(scopeProblem));
        }

        if (caller.ViaToken && !caller.IsAdmin
            && (groups is null || groups.Any(g => !(caller.Groups ?? []).Contains(g, StringComparer.OrdinalIgnoreCase))))
        {
            // A token mints only tokens within its own groups, never one with all of its subject's rights.
            return (null, OperationResult.Forbidden("With an access token, request member-of-groups within that token's groups."));
        }

        if (!caller.IsAdmin && seconds > MaxUserTokenSeconds)
        {
            return (null, OperationResult.BadRequest($"expires_in may be at most {MaxUserTokenSeconds} seconds for non-admin users."));
        }

        await using var tx = await store.BeginAsync(cancellationToken);

        // The caller's own subject is the one its credential is bound to (by id; none for a transient
        // subject), never whatever user bears that name now; another subject (admins only) by name.
        UserRecord? subjectUser;
        if (self && caller.Origin is { } own)
        {
            subjectUser = own.UserId is null ? null : await tx.Users.GetByIdAsync(own.UserId, cancellationToken);
            if (own.UserId is not null && subjectUser is null)
            {
                return (null, OperationResult.NotFound($"User '{subject}' not found."));
            }
        }
        else
        {
            subjectUser = await tx.Users.GetAsync(subject, cancellationToken);
        }

        if (subjectUser is null && !caller.IsAdmin && !caller.Transient)
        {
            return (null, OperationResult.NotFound($"User '{subject}' not found."));
        }

        if (groups is not null)
        {
            var memberships = subjectUser is null ? caller.Transient && self ? caller.Groups ?? [] : [] : await tx.Groups.GroupsOfAsync(subjectUser.Name, cancellationToken);
            foreach (var group in groups)
            {
                if (await tx.Groups.GetAsync(group, cancellationToken) is null)
                {
                    return (null, OperationResult.BadRequest($"Group '{group}' does not exist."));
                }

                if (!caller.IsAdmin && !memberships.Contains(group, StringComparer.OrdinalIgnoreCase))
                {
                    return (null, OperationResult.Forbidden($"You are not a member of group '{group}'."));
                }
            }
        }

        // Minted with an access token: bound to it, and to its chain's end.
        string? parent = null;
        DateTimeOffset? notAfter = null;
        if (caller.ViaToken && caller.Origin?.CredentialId is { } minting)
        {
            var (stands, end) = await TokenChains.CheckAsync(tx, minting, null, time.GetUtcNow(), cancellationToken);
            if (!stands)
            {
                return (null, OperationResult.Forbidden($"The access token you authenticated with no longer stands, or ends a chain of {TokenChains.MaxLength} tokens minted with tokens; authenticate with a password."));
            }

            parent = minting;
            notAfter = end;
        }

        var name = subjectUser?.Name ?? subject;
        var issued = await IssueAsync(tx, new TokenIssue(name, subjectUser?.Id, groups, seconds, request.Refreshable, parent, notAfter), cancellationToken);
        await tx.CommitAsync(cancellationToken);
        Log.Audit(logger, "token.create", name);
        return (issued, OperationResult.Ok());
    }

    /// <summary>A refreshed token: the old pair (the caller's own, or any for admins) is revoked and a new one issued for what it held.</summary>
    public async Task<(IssuedToken? Token, OperationResult Result)> RefreshTokenAsync(Principal caller, string refreshToken, string accessToken, CancellationToken cancellationToken)
    {
        await using var tx = await store.BeginAsync(cancellationToken);
        var old = refreshToken.Length == 0 ? null : await tx.Credentials.TokenByRefreshHashAsync(Secrets.Sha256(refreshToken), cancellationToken);
        if (old is null || old.Revoked || old.TokenSha256 != Secrets.Sha256(accessToken) || (!caller.IsAdmin && !Owns(caller, old)))
        {
            return (null, OperationResult.BadRequest("The refresh token and access token do not belong together, or were revoked."));
        }

        // A token minted with a token is refreshed only while its chain stands, and within its end.
        DateTimeOffset? notAfter = null;
        if (old.ParentId is not null)
        {
            var (stands, end) = await TokenChains.CheckAsync(tx, old.ParentId, null, time.GetUtcNow(), cancellationToken);
            if (!stands)
            {
                return (null, OperationResult.BadRequest("The access token this token was minted with was revoked, refreshed or has expired."));
            }

            notAfter = end;
        }

        var seconds = old.Expiry is { } expiry ? (int)Math.Max(1, (expiry - old.Issued).TotalSeconds) : 0;
        await tx.Credentials.RevokeTokenAsync(old.Id, null, cancellationToken);
        var issued = await IssueAsync(tx, new TokenIssue(old.Subject, old.SubjectId, old.Groups, seconds, Refreshable: true, old.ParentId, notAfter), cancellationToken);
        await tx.CommitAsync(cancellationToken);
        users.Invalidate();
        Log.Audit(logger, "token.refresh", old.Subject);
        return (issued, OperationResult.Ok());
    }

    /// <summary>
    /// One token to issue: its subject (name, and user id unless transient), groups (null: all of the
    /// subject's), lifetime in seconds (0: never expires), and the token it is minted with, whose
    /// chain ends at <paramref name="NotAfter"/>: the new token never outlives that.
    /// </summary>
    private sealed record TokenIssue(string Subject, string? SubjectId, IReadOnlyList<string>? Groups, int Seconds, bool Refreshable, string? ParentId, DateTimeOffset? NotAfter);

    private async Task<IssuedToken> IssueAsync(IMetadataTransaction tx, TokenIssue issue, CancellationToken cancellationToken)
    {
        var token = AccessTokens.New();
        var refresh = issue.Refreshable ? AccessTokens.NewRefresh() : null;
        var now = time.GetUtcNow();
        var expiry = TokenChains.Earlier(issue.Seconds == 0 ? null : now.AddSeconds(issue.Seconds), issue.NotAfter);

        // The lifetime granted, rounded up: a capped token reports its real end, never 0 (which means "never").
        var seconds = expiry is { } end ? (int)Math.Max(1, Math.Ceiling((end - now).TotalSeconds)) : 0;
        var scope = "api:* member-of-groups:" + (issue.Groups is null ? "*" : string.Join(',', issue.Groups));
        await tx.Credentials.AddTokenAsync(new AccessTokenRecord(
            Guid.NewGuid().ToString("N"), Secrets.Sha256(token), refresh is null ? null : Secrets.Sha256(refresh), issue.Subject, issue.Groups, scope,
            now, expiry, false, issue.SubjectId, issue.ParentId), cancellationToken);
        return new IssuedToken(token, seconds, scope, refresh);
    }

    /// <summary>
    /// <c>member-of-groups:a,b</c> → [a, b]; <c>member-of-groups:*</c> or no scope → null (the
    /// subject's own groups). <c>api:*</c> is always granted and may be named.
    /// </summary>
    private static List<string>? ParseGroups(string scope, out string? problem)
    {
        problem = null;
        List<string>? groups = null;
        foreach (var part in scope.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "api:*")
            {
                continue;
            }

            if (!part.StartsWith("member-of-groups:", StringComparison.Ordinal))
            {
                problem = $"Unknown scope '{part}'; use member-of-groups:<g1>,<g2> or member-of-groups:*.";
                return null;
            }

            var list = part["member-of-groups:".Length..];
            if (list == "*")
            {
                return null;
            }

            groups = [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
        }

        return groups;
    }
}
