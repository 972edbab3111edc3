using Wharf.Core.Metadata;
using Wharf.Core.Security;
using Wharf.Server.Auth;
using Wharf.Server.Http;
using Wharf.Server.Telemetry;

namespace Wharf.Server.Api.V2;

/// <summary>
/// The V2 login flow (rest-api §3.3): <c>GET …/v2/</c> answers 200 or a Bearer challenge, and
/// <c>GET …/v2/token</c> issues registry tokens for the requested scopes, narrowed to what the
/// caller holds. Both exist per repository key and key-less (repository-path method). They use
/// <see cref="V2Gate"/>'s authentication and rules, with no operation to gate.
/// </summary>
internal static class V2AuthEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var route in Routes.WithContextPath(V2Routes.Ping))
        {
            app.MapGet(route, PingAsync);
        }

        foreach (var route in Routes.WithContextPath(V2Routes.Token))
        {
            app.MapGet(route, TokenAsync);
        }

        foreach (var route in Routes.WithContextPath(V2Routes.KeylessPing))
        {
            app.MapGet(route, (HttpContext c, V2Gate g, UrlBuilder u, CancellationToken ct) => PingAsync(c, null, g, u, ct));
        }

        foreach (var route in Routes.WithContextPath(V2Routes.KeylessToken))
        {
            app.MapGet(route, (HttpContext c, V2Gate g, RestAuthenticator a, AccessPolicy p, DockerTokens t, UrlBuilder u, TimeProvider time, CancellationToken ct) => TokenAsync(c, null, g, a, p, t, u, time, ct));
        }
    }

    /// <summary>
    /// The bare <c>/v2/</c>: on the main listener the key-less ping, whatever its default repository
    /// (so that the repository-path method works with every V2 client out of the box); on a
    /// repository's own port or host name that repository's ping, a plain 404 for a V1 repository
    /// (docker 1.6–1.12 then falls back to V1).
    /// </summary>
    public static Task<IResult> BarePingAsync(HttpContext context, V2Gate gate, UrlBuilder urls, CancellationToken cancellationToken) =>
        HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method)
            ? PingAsync(context, RepositoryAddress.KeyOf(context), gate, urls, cancellationToken)
            : Task.FromResult(ErrorBodies.PlainNotFound);

    private static async Task<IResult> PingAsync(HttpContext context, string? repoKey, V2Gate gate, UrlBuilder urls, CancellationToken cancellationToken)
    {
        RepositoryConfig? repository = null;
        if (repoKey is not null)
        {
            repository = await gate.FindAsync(repoKey, cancellationToken);
            if (repository is not { DockerApiVersion: DockerApiVersion.V2 })
            {
                // V1 repositories answer a plain 404 so that docker 1.x falls back (rest-api §3.1).
                return repository is null ? V2Errors.Result(V2Errors.NameUnknown) : ErrorBodies.PlainNotFound;
            }
        }

        var challenge = urls.Challenge(context.Request, repository?.Key);
        var (caller, _) = await gate.AuthenticateAsync(context, repository?.Key, cancellationToken);
        RequestRecord.Of(context)?.Identify(caller);
        if (caller is null || !await gate.MayPingAsync(caller, repository, cancellationToken))
        {
            return V2Errors.Result(V2Errors.Unauthorized, challenge);
        }

        context.Response.Headers[V2Errors.ApiVersionHeader] = V2Errors.ApiVersion;
        return Results.Json(new { });
    }

    private static async Task<IResult> TokenAsync(
        HttpContext context, string? repoKey, V2Gate gate, RestAuthenticator authenticator, AccessPolicy policy, DockerTokens tokens, UrlBuilder urls, TimeProvider time, CancellationToken cancellationToken)
    {
        if (repoKey is not null && await gate.FindAsync(repoKey, cancellationToken) is null)
        {
            return V2Errors.Result(V2Errors.NameUnknown);
        }

        // Registry tokens are not credentials here: a token must never mint its own successor.
        var caller = await authenticator.AuthenticateAsync(context.Request, cancellationToken);
        RequestRecord.Of(context)?.Identify(caller);
        if (caller is null || (caller.IsAnonymous && !await policy.AnonymousAccessAsync(cancellationToken)))
        {
            return V2Errors.Result(V2Errors.Unauthorized);
        }

        var granted = new List<DockerAccess>();
        foreach (var scope in context.Request.Query["scope"].SelectMany(s => (s ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries)))
        {
            if (await gate.GrantAsync(caller, repoKey, scope, cancellationToken) is { } grant)
            {
                granted.Add(grant);
            }
        }

        var service = context.Request.Query["service"].ToString() is { Length: > 0 } s ? s : urls.Service(context.Request);
        // Never longer than the credential it is minted with (an access token's expiry), and only while that stands.
        var now = time.GetUtcNow();
        var (token, expires) = tokens.Issue(caller.DisplayName, repoKey ?? "", service, granted, caller.Origin);
        return Results.Json(new
        {
            token,
            access_token = token,
            expires_in = (int)Math.Max(0, Math.Floor((expires - now).TotalSeconds)),
            issued_at = WireTime.Iso(now),
        });
    }
}
