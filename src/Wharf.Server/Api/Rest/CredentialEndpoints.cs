using Wharf.Core.Security;
using Wharf.Core.Tree;
using Wharf.Server.Auth;
using Wharf.Server.Hosting;

namespace Wharf.Server.Api.Rest;

/// <summary>API keys (rest-api §6.6) and access tokens (§6.7).</summary>
internal static class CredentialEndpoints
{
    public const int DefaultTokenSeconds = 3600;

    /// <summary>Longest lifetime a non-admin may give a token: one year.</summary>
    public const int MaxUserTokenSeconds = 365 * 86400;

    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var prefix in new[] { "/artifactory/api/security", "/api/security" })
        {
            app.MapPost(prefix + "/apiKey", (HttpContext c, RestAuthenticator a, IMetadataStore s, TimeProvider t, UserAuthenticator u, ILogger<RestAuthenticator> l, CancellationToken ct) => IssueApiKeyAsync(c, a, s, t, u, l, replace: false, ct));
            app.MapPut(prefix + "/apiKey", (HttpContext c, RestAuthenticator a, IMetadataStore s, TimeProvider t, UserAuthenticator u, ILogger<RestAuthenticator> l, CancellationToken ct) => IssueApiKeyAsync(c, a, s, t, u, l, replace: true, ct));
            app.MapGet(prefix + "/apiKey", GetApiKeyAsync);
            app.MapDelete(prefix + "/apiKey", (HttpContext c, RestAuthenticator a, IMetadataStore s, UserAuthenticator u, ILogger<RestAuthenticator> l, CancellationToken ct) => RevokeApiKeyAsync(c, null, a, s, u, l, ct));
            app.MapDelete(prefix + "/apiKey/{username}", (HttpContext c, string username, RestAuthenticator a, IMetadataStore s, UserAuthenticator u, ILogger<RestAuthenticator> l, CancellationToken ct) => RevokeApiKeyAsync(c, username, a, s, u, l, ct));
            app.MapPost(prefix + "/token", CreateTokenAsync);
            app.MapGet(prefix + "/token", ListTokensAsync);
            app.MapPost(prefix + "/token/revoke", RevokeTokenAsync);
        }
    }

    // ---------------------------------------------------------------- API keys (§6.6)

    private static async Task<IResult> IssueApiKeyAsync(HttpContext context, RestAuthenticator authenticator, IMetadataStore store, TimeProvider time, UserAuthenticator users, ILogger logger, bool replace, CancellationToken cancellationToken)
    {
        var (caller, failure) = await RequireUserAsync(context, authenticator, cancellationToken);
        if (caller is null)
        {
            return failure!;
        }

        if (caller.ViaToken)
        {
            // An API key carries all of its owner's rights; a token may hold fewer.
            return RestErrors.Write(403, "An API key cannot be created with an access token; authenticate with a password.");
        }

        // Shown once, here; only a hash is stored.
        var key = ApiKeys.New();
        await using var tx = await store.BeginAsync(cancellationToken);
        if (!await tx.Credentials.SetApiKeyAsync(new ApiKeyRecord(caller.UserName!, Secrets.Sha256(key), key[..6], time.GetUtcNow()), replace, cancellationToken))
        {
            return RestErrors.Write(409, "An API key already exists; use PUT to regenerate it.");
        }

        await tx.CommitAsync(cancellationToken);
        users.Invalidate();
        Log.Audit(logger, replace ? "apiKey.regenerate" : "apiKey.create", caller.UserName!);
        return Results.Json(new { apiKey = key }, statusCode: replace ? 200 : 201);
    }

    private static async Task<IResult> GetApiKeyAsync(HttpContext context, RestAuthenticator authenticator, IMetadataStore store, CancellationToken cancellationToken)
    {
        var (caller, failure) = await RequireUserAsync(context, authenticator, cancellationToken);
        if (caller is null)
        {
            return failure!;
        }

        await using var session = await store.OpenAsync(cancellationToken);
        var key = await session.Credentials.ApiKeyOfAsync(caller.UserName!, cancellationToken);
        return key is null ? Results.Json(new { }) : Results.Json(new { apiKey = key.Prefix });
    }

    private static async Task<IResult> RevokeApiKeyAsync(HttpContext context, string? username, RestAuthenticator authenticator, IMetadataStore store, UserAuthenticator users, ILogger logger, CancellationToken cancellationToken)
    {
        var (caller, failure) = await RequireUserAsync(context, authenticator, cancellationToken);
        if (caller is null)
        {
            return failure!;
        }

        if (username is not null && !caller.IsAdmin)
        {
            return RestErrors.Write(403, "Only administrators may revoke the API keys of other users.");
        }

        var owner = username ?? caller.UserName!;
        await using var tx = await store.BeginAsync(cancellationToken);
        var deleted = await tx.Credentials.DeleteApiKeyAsync(owner, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        if (!deleted && username is not null)
        {
            return RestErrors.NotFound($"User '{username}' has no API key.");
        }

        users.Invalidate();
        Log.Audit(logger, "apiKey.revoke", owner);
        return Results.Ok();
    }

    // ---------------------------------------------------------------- access tokens (§6.7)

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
        if (!caller.IsAdmin && !string.Equals(subject, caller.UserName, StringComparison.OrdinalIgnoreCase))
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
        var subjectUser = await tx.Users.GetAsync(subject, cancellationToken);
        if (subjectUser is null && !caller.IsAdmin)
        {
            return RestErrors.NotFound($"User '{subject}' not found.");
        }

        if (groups is not null)
        {
            var own = subjectUser is null ? [] : await tx.Groups.GroupsOfAsync(subjectUser.Name, cancellationToken);
            foreach (var group in groups)
            {
                if (await tx.Groups.GetAsync(group, cancellationToken) is null)
                {
                    return RestErrors.BadRequest($"Group '{group}' does not exist.");
                }

                if (!caller.IsAdmin && !own.Contains(group, StringComparer.OrdinalIgnoreCase))
                {
                    return RestErrors.Write(403, $"You are not a member of group '{group}'.");
                }
            }
        }

        var refreshable = string.Equals(form["refreshable"], "true", StringComparison.OrdinalIgnoreCase);
        var result = await IssueAsync(tx, subjectUser?.Name ?? subject, groups, seconds, refreshable, time, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        Log.Audit(logger, "token.create", subjectUser?.Name ?? subject);
        return result;
    }

    private static async Task<IResult> RefreshAsync(string refreshToken, string accessToken, Principal caller, IMetadataStore store, TimeProvider time, UserAuthenticator users, ILogger logger, CancellationToken cancellationToken)
    {
        await using var tx = await store.BeginAsync(cancellationToken);
        var old = refreshToken.Length == 0 ? null : await tx.Credentials.TokenByRefreshHashAsync(Secrets.Sha256(refreshToken), cancellationToken);
        if (old is null || old.Revoked || old.TokenSha256 != Secrets.Sha256(accessToken)
            || (!caller.IsAdmin && !string.Equals(old.Subject, caller.UserName, StringComparison.OrdinalIgnoreCase)))
        {
            return RestErrors.BadRequest("The refresh token and access token do not belong together, or were revoked.");
        }

        var seconds = old.Expiry is { } expiry ? (int)Math.Max(1, (expiry - old.Issued).TotalSeconds) : 0;
        await tx.Credentials.RevokeTokenAsync(old.Id, null, cancellationToken);
        var result = await IssueAsync(tx, old.Subject, old.Groups, seconds, refreshable: true, time, cancellationToken);
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

        if (!caller.IsAdmin && !string.Equals(record.Subject, caller.UserName, StringComparison.OrdinalIgnoreCase))
        {
            return RestErrors.Write(403, "Only administrators may revoke the tokens of other users.");
        }

        await tx.Credentials.RevokeTokenAsync(record.Id, null, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        users.Invalidate();
        Log.Audit(logger, "token.revoke", record.Subject);
        return Results.Ok();
    }

    // ---------------------------------------------------------------- helpers

    private static async Task<IResult> IssueAsync(IMetadataTransaction tx, string subject, IReadOnlyList<string>? groups, int seconds, bool refreshable, TimeProvider time, CancellationToken cancellationToken)
    {
        var token = AccessTokens.New();
        var refresh = refreshable ? AccessTokens.NewRefresh() : null;
        var now = time.GetUtcNow();
        var scope = "api:* member-of-groups:" + (groups is null ? "*" : string.Join(',', groups));
        await tx.Credentials.AddTokenAsync(new AccessTokenRecord(
            Guid.NewGuid().ToString("N"), Secrets.Sha256(token), refresh is null ? null : Secrets.Sha256(refresh), subject, groups, scope,
            now, seconds == 0 ? null : now.AddSeconds(seconds), false), cancellationToken);
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

    /// <summary>The form of a request; null when it is malformed (bad multipart boundary, too many or too long fields).</summary>
    private static async Task<IFormCollection?> ReadFormAsync(HttpContext context, CancellationToken cancellationToken)
    {
        try
        {
            return await context.Request.ReadFormAsync(cancellationToken);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            return null;
        }
    }

    /// <summary>An authenticated user, or the failure: 401 for no or invalid credentials.</summary>
    private static async Task<(Principal? User, IResult? Failure)> RequireUserAsync(HttpContext context, RestAuthenticator authenticator, CancellationToken cancellationToken) =>
        await authenticator.AuthenticateAsync(context.Request, cancellationToken) is { IsAnonymous: false } principal
            ? (principal, null)
            : (null, RestErrors.Unauthorized());
}
