using Wharf.Core.Security;
using Wharf.Core.Tree;
using Wharf.Server.Auth;
using Wharf.Server.Hosting;

namespace Wharf.Server.Api.Rest;

/// <summary>API keys (rest-api §6.6) and access tokens (§6.7, in CredentialEndpoints.Tokens.cs).</summary>
internal static partial class CredentialEndpoints
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
            // An API key carries all of its owner's rights and never expires; a token may hold fewer,
            // and ends: a key created with one would outlive it (issue #10). So never, admins included.
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

        if (caller.Transient)
        {
            return NoAccountForApiKey();
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

        if (username is null && caller.Transient)
        {
            return NoAccountForApiKey();
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

    // ---------------------------------------------------------------- helpers

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

    /// <summary>The answer to a transient token subject (no user) about its own API key: a user of its name may exist, and is someone else.</summary>
    private static IResult NoAccountForApiKey() =>
        RestErrors.Write(403, "This access token is for a user that did not exist when it was issued; it has no API key.");

    /// <summary>An authenticated user, or the failure: 401 for no or invalid credentials.</summary>
    private static async Task<(Principal? User, IResult? Failure)> RequireUserAsync(HttpContext context, RestAuthenticator authenticator, CancellationToken cancellationToken) =>
        await authenticator.AuthenticateAsync(context.Request, cancellationToken) is { IsAnonymous: false } principal
            ? (principal, null)
            : (null, RestErrors.Unauthorized());
}
