using Wharf.Server.Auth;

namespace Wharf.Server.Api.Rest;

/// <summary>
/// API keys (rest-api §6.6) and access tokens (§6.7) of the signed-in caller: the form is read
/// here, the rules are <see cref="CredentialService"/>'s.
/// </summary>
internal static class CredentialEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var prefix in new[] { "/artifactory/api/security", "/api/security" })
        {
            var credentials = app.MapGroup(prefix).WithRestGate(RestRequirement.User);
            credentials.MapPost("/apiKey", (HttpContext c, CredentialService s, CancellationToken ct) => CreateApiKeyAsync(c, replace: false, s, ct));
            credentials.MapPut("/apiKey", (HttpContext c, CredentialService s, CancellationToken ct) => CreateApiKeyAsync(c, replace: true, s, ct));
            credentials.MapGet("/apiKey", GetApiKeyAsync);
            credentials.MapDelete("/apiKey", (HttpContext c, CredentialService s, CancellationToken ct) => RevokeApiKeyAsync(c, null, s, ct));
            credentials.MapDelete("/apiKey/{username}", (HttpContext c, string username, CredentialService s, CancellationToken ct) => RevokeApiKeyAsync(c, username, s, ct));
            credentials.MapPost("/token", CreateTokenAsync);
            credentials.MapGet("/token", ListTokensAsync);
            credentials.MapPost("/token/revoke", RevokeTokenAsync);
        }
    }

    // ---------------------------------------------------------------- API keys (§6.6)

    private static async Task<IResult> CreateApiKeyAsync(HttpContext context, bool replace, CredentialService credentials, CancellationToken cancellationToken)
    {
        var caller = RestCall.Of(context).Caller;
        var (key, result) = await credentials.CreateApiKeyAsync(caller, replace, cancellationToken);
        return key is null ? RestResults.Failure(result, caller) : Results.Json(new { apiKey = key }, statusCode: replace ? 200 : 201);
    }

    private static async Task<IResult> GetApiKeyAsync(HttpContext context, CredentialService credentials, CancellationToken cancellationToken)
    {
        var caller = RestCall.Of(context).Caller;
        var (prefix, result) = await credentials.ApiKeyPrefixAsync(caller, cancellationToken);
        return !result.Succeeded ? RestResults.Failure(result, caller)
            : prefix is null ? Results.Json(new { })
            : Results.Json(new { apiKey = prefix });
    }

    private static async Task<IResult> RevokeApiKeyAsync(HttpContext context, string? username, CredentialService credentials, CancellationToken cancellationToken)
    {
        var caller = RestCall.Of(context).Caller;
        var result = await credentials.RevokeApiKeyAsync(caller, username, cancellationToken);
        return result.Succeeded ? Results.Ok() : RestResults.Failure(result, caller);
    }

    // ---------------------------------------------------------------- access tokens (§6.7)

    private static async Task<IResult> CreateTokenAsync(HttpContext context, CredentialService credentials, CancellationToken cancellationToken)
    {
        var caller = RestCall.Of(context).Caller;
        if (!context.Request.HasFormContentType)
        {
            return RestErrors.BadRequest("Use Content-Type: application/x-www-form-urlencoded.");
        }

        if (await ReadFormAsync(context, cancellationToken) is not { } form)
        {
            return RestErrors.BadRequest("The form body could not be read.");
        }

        var (token, result) = form["grant_type"] == "refresh_token"
            ? await credentials.RefreshTokenAsync(caller, form["refresh_token"].ToString(), form["access_token"].ToString(), cancellationToken)
            : await credentials.CreateTokenAsync(caller, new TokenRequest(
                form["username"].ToString(), form["expires_in"].ToString(), form["scope"].ToString(),
                string.Equals(form["refreshable"], "true", StringComparison.OrdinalIgnoreCase)), cancellationToken);
        if (token is null)
        {
            return RestResults.Failure(result, caller);
        }

        return Results.Json(new Dictionary<string, object?>
        {
            ["access_token"] = token.AccessToken,
            ["expires_in"] = token.ExpiresIn,
            ["scope"] = token.Scope,
            ["token_type"] = "Bearer",
            ["refresh_token"] = token.RefreshToken,
        }.Where(p => p.Value is not null).ToDictionary());
    }

    private static async Task<IResult> ListTokensAsync(HttpContext context, CredentialService credentials, CancellationToken cancellationToken)
    {
        var caller = RestCall.Of(context).Caller;
        var (tokens, result) = await credentials.ListTokensAsync(caller, cancellationToken);
        if (tokens is null)
        {
            return RestResults.Failure(result, caller);
        }

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

    private static async Task<IResult> RevokeTokenAsync(HttpContext context, CredentialService credentials, CancellationToken cancellationToken)
    {
        var caller = RestCall.Of(context).Caller;
        if (!context.Request.HasFormContentType)
        {
            return RestErrors.BadRequest("Use Content-Type: application/x-www-form-urlencoded with token= or token_id=.");
        }

        if (await ReadFormAsync(context, cancellationToken) is not { } form)
        {
            return RestErrors.BadRequest("The form body could not be read.");
        }

        var result = await credentials.RevokeTokenAsync(caller, form["token"].ToString(), form["token_id"].ToString(), cancellationToken);
        return result.Succeeded ? Results.Ok() : RestResults.Failure(result, caller);
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
}
