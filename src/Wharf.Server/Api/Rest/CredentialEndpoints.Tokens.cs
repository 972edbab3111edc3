using Wharf.Core.Security;
using Wharf.Core.Tree;
using Wharf.Server.Auth;
using Wharf.Server.Hosting;

namespace Wharf.Server.Api.Rest;

/// <summary>
/// Access tokens (rest-api §6.7). A token is bound to its subject's immutable user id, or to no
/// user when the subject was none (an admin's token for a transient subject). A caller that
/// authenticated with an access token mints only tokens that die with it: the new token records it
/// as its parent, expires no later than it (a longer or a non-expiring request is cut to its end,
/// and <c>expires_in</c> says so), and refreshing the new token keeps both.
/// </summary>
internal static partial class CredentialEndpoints
{
    private static async Task<IResult> CreateTokenAsync(HttpContext context, RestAuthenticator authenticator, IMetadataStore store, TimeProvider time, UserAuthenticator users, ILogger<RestAuthenticator> logger, CancellationToken cancellationToken)
    {
        var (caller, failure) = await RequireUserAsync(context, authenticator, cancellationToken);
        if (caller is null)
        {
            return failure!;
        }

        if (!context.Request.HasFormContentType)
        {
            return RestErrors.BadRequest("Use Content-Type: application/x-www-form-urlencoded.");
        }

        if (await ReadFormAsync(context, cancellationToken) is not { } form)
        {
            return RestErrors.BadRequest("The form body could not be read.");
        }

        if (form["grant_type"] == "refresh_token")
        {
            return await RefreshAsync(form["refresh_token"].ToString(), form["access_token"].ToString(), caller, store, time, users, logger, cancellationToken);
        }

        var subject = form["username"].ToString() is { Length: > 0 } named ? named : caller.UserName!;
        var self = string.Equals(subject, caller.UserName, StringComparison.OrdinalIgnoreCase);
        if (!caller.IsAdmin && !self)
        {
            return RestErrors.Write(403, "Only administrators may create tokens for other users.");
        }

        if (!int.TryParse(form["expires_in"].ToString() is { Length: > 0 } e ? e : DefaultTokenSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), out var seconds) || seconds < 0)
        {
            return RestErrors.BadRequest("expires_in must be a whole number of seconds, 0 or more.");
        }

        if (seconds == 0 && !caller.IsAdmin)
        {
            return RestErrors.Write(403, "Only administrators may create tokens that never expire.");
        }

        var groups = ParseGroups(form["scope"].ToString(), out var scopeProblem);
        if (scopeProblem is not null)
        {
            return RestErrors.BadRequest(scopeProblem);
        }

        if (caller.ViaToken && !caller.IsAdmin
            && (groups is null || groups.Any(g => !(caller.Groups ?? []).Contains(g, StringComparer.OrdinalIgnoreCase))))
        {
            // A token mints only tokens within its own groups, never one with all of its subject's rights.
            return RestErrors.Write(403, "With an access token, request member-of-groups within that token's groups.");
        }

        if (!caller.IsAdmin && seconds > MaxUserTokenSeconds)
        {
            return RestErrors.BadRequest($"expires_in may be at most {MaxUserTokenSeconds} seconds for non-admin users.");
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
                return RestErrors.NotFound($"User '{subject}' not found.");
            }
        }
        else
        {
            subjectUser = await tx.Users.GetAsync(subject, cancellationToken);
        }

        if (subjectUser is null && !caller.IsAdmin && !caller.Transient)
        {
            return RestErrors.NotFound($"User '{subject}' not found.");
        }

        if (groups is not null)
        {
            var memberships = subjectUser is null ? caller.Transient && self ? caller.Groups ?? [] : [] : await tx.Groups.GroupsOfAsync(subjectUser.Name, cancellationToken);
            foreach (var group in groups)
            {
                if (await tx.Groups.GetAsync(group, cancellationToken) is null)
                {
                    return RestErrors.BadRequest($"Group '{group}' does not exist.");
                }

                if (!caller.IsAdmin && !memberships.Contains(group, StringComparer.OrdinalIgnoreCase))
                {
                    return RestErrors.Write(403, $"You are not a member of group '{group}'.");
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
                return RestErrors.Write(403, $"The access token you authenticated with no longer stands, or ends a chain of {TokenChains.MaxLength} tokens minted with tokens; authenticate with a password.");
            }

            parent = minting;
            notAfter = end;
        }

        var refreshable = string.Equals(form["refreshable"], "true", StringComparison.OrdinalIgnoreCase);
        var name = subjectUser?.Name ?? subject;
        var result = await IssueAsync(tx, new TokenIssue(name, subjectUser?.Id, groups, seconds, refreshable, parent, notAfter), time, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        Log.Audit(logger, "token.create", name);
        return result;
    }

    private static async Task<IResult> RefreshAsync(string refreshToken, string accessToken, Principal caller, IMetadataStore store, TimeProvider time, UserAuthenticator users, ILogger logger, CancellationToken cancellationToken)
    {
        await using var tx = await store.BeginAsync(cancellationToken);
        var old = refreshToken.Length == 0 ? null : await tx.Credentials.TokenByRefreshHashAsync(Secrets.Sha256(refreshToken), cancellationToken);
        if (old is null || old.Revoked || old.TokenSha256 != Secrets.Sha256(accessToken) || (!caller.IsAdmin && !Owns(caller, old)))
        {
            return RestErrors.BadRequest("The refresh token and access token do not belong together, or were revoked.");
        }

        // A token minted with a token is refreshed only while its chain stands, and within its end.
        DateTimeOffset? notAfter = null;
        if (old.ParentId is not null)
        {
            var (stands, end) = await TokenChains.CheckAsync(tx, old.ParentId, null, time.GetUtcNow(), cancellationToken);
            if (!stands)
            {
                return RestErrors.BadRequest("The access token this token was minted with was revoked, refreshed or has expired.");
            }

            notAfter = end;
        }

        var seconds = old.Expiry is { } expiry ? (int)Math.Max(1, (expiry - old.Issued).TotalSeconds) : 0;
        await tx.Credentials.RevokeTokenAsync(old.Id, null, cancellationToken);
        var result = await IssueAsync(tx, new TokenIssue(old.Subject, old.SubjectId, old.Groups, seconds, Refreshable: true, old.ParentId, notAfter), time, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        users.Invalidate();
        Log.Audit(logger, "token.refresh", old.Subject);
        return result;
    }

    private static async Task<IResult> ListTokensAsync(HttpContext context, RestAuthenticator authenticator, IMetadataStore store, CancellationToken cancellationToken)
    {
        var (caller, failure) = await RequireUserAsync(context, authenticator, cancellationToken);
        if (caller is null)
        {
            return failure!;
        }

        if (!caller.IsAdmin)
        {
            return RestErrors.Write(403, "Only administrators may list tokens.");
        }

        await using var session = await store.OpenAsync(cancellationToken);
        var tokens = await session.Credentials.ListTokensAsync(cancellationToken);
        return Results.Json(new
        {
            tokens = tokens.Select(t => new
            {
                token_id = t.Id,
                issuer = "wharf",
                subject = t.Subject,
                expiry = t.Expiry?.ToUnixTimeSeconds(),
                refreshable = t.RefreshSha256 is not null,
                issued_at = t.Issued.ToUnixTimeSeconds(),
            }),
        });
    }

    private static async Task<IResult> RevokeTokenAsync(HttpContext context, RestAuthenticator authenticator, IMetadataStore store, UserAuthenticator users, ILogger<RestAuthenticator> logger, CancellationToken cancellationToken)
    {
        var (caller, failure) = await RequireUserAsync(context, authenticator, cancellationToken);
        if (caller is null)
        {
            return failure!;
        }

        if (!context.Request.HasFormContentType)
        {
            return RestErrors.BadRequest("Use Content-Type: application/x-www-form-urlencoded with token= or token_id=.");
        }

        if (await ReadFormAsync(context, cancellationToken) is not { } form)
        {
            return RestErrors.BadRequest("The form body could not be read.");
        }

        var token = form["token"].ToString();
        var id = form["token_id"].ToString();
        await using var tx = await store.BeginAsync(cancellationToken);
        var record = token.Length > 0 ? await tx.Credentials.TokenByHashAsync(Secrets.Sha256(token), cancellationToken)
            : (await tx.Credentials.ListTokensAsync(cancellationToken)).FirstOrDefault(t => t.Id == id);
        if (record is null || record.Revoked)
        {
            return RestErrors.NotFound("Token not found.");
        }

        if (!caller.IsAdmin && !Owns(caller, record))
        {
            return RestErrors.Write(403, "Only administrators may revoke the tokens of other users.");
        }

        // Tokens minted with this one end with it (their chain no longer stands): nothing else to write.
        await tx.Credentials.RevokeTokenAsync(record.Id, null, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        users.Invalidate();
        Log.Audit(logger, "token.revoke", record.Subject);
        return Results.Ok();
    }

    /// <summary>
    /// Whether a token is the caller's own: bound to the caller's user id, or both transient under
    /// one name. Never by name alone, which a user created later may share.
    /// </summary>
    private static bool Owns(Principal caller, AccessTokenRecord token) =>
        caller.Origin?.UserId is { } id
            ? token.SubjectId == id
            : caller.Transient && token.SubjectId is null && string.Equals(token.Subject, caller.UserName, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// One token to issue: its subject (name, and user id unless transient), groups (null: all of the
    /// subject's), lifetime in seconds (0: never expires), and the token it is minted with, whose
    /// chain ends at <paramref name="NotAfter"/>: the new token never outlives that.
    /// </summary>
    private sealed record TokenIssue(string Subject, string? SubjectId, IReadOnlyList<string>? Groups, int Seconds, bool Refreshable, string? ParentId, DateTimeOffset? NotAfter);

    private static async Task<IResult> IssueAsync(IMetadataTransaction tx, TokenIssue issue, TimeProvider time, CancellationToken cancellationToken)
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
        return Results.Json(new Dictionary<string, object?>
        {
            ["access_token"] = token,
            ["expires_in"] = seconds,
            ["scope"] = scope,
            ["token_type"] = "Bearer",
            ["refresh_token"] = refresh,
        }.Where(p => p.Value is not null).ToDictionary());
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
