using Wharf.Core.Repositories;
using Wharf.Core.Security;
using Wharf.Core.Tree;
using Wharf.Server.Auth;
using Wharf.Server.Http;

namespace Wharf.Server.Api.V2;

/// <summary>
/// The V2 login flow (rest-api §3.3): <c>GET …/v2/</c> answers 200 or a Bearer challenge, and
/// <c>GET …/v2/token</c> issues registry tokens for the requested scopes, narrowed to what the
/// caller holds. Both exist per repository key and key-less (repository-path method).
/// </summary>
internal static class V2AuthEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var prefix in new[] { "/artifactory/api/docker", "/api/docker" })
        {
            app.MapGet(prefix + "/{repoKey}/v2/", PingAsync);
            app.MapGet(prefix + "/{repoKey}/v2/token", TokenAsync);
            app.MapGet(prefix + "/v2/", (HttpContext c, V2Access a, CancellationToken ct) => PingAsync(c, null, a, ct));
            app.MapGet(prefix + "/v2/token", (HttpContext c, V2Access a, CancellationToken ct) => TokenAsync(c, null, a, ct));
        }
    }

    internal static async Task<IResult> PingAsync(HttpContext context, string? repoKey, V2Access access, CancellationToken cancellationToken)
    {
        RepositoryConfig? repository = null;
        if (repoKey is not null)
        {
            repository = await access.RepositoryAsync(repoKey, cancellationToken);
            if (repository is not { DockerApiVersion: DockerApiVersion.V2 })
            {
                // V1 repositories answer a plain 404 so that docker 1.x falls back (rest-api §3.1).
                return repository is null ? V2Errors.Result(V2Errors.NameUnknown) : ErrorBodies.PlainNotFound;
            }
        }

        var challenge = access.Challenge(context, repository?.Key);
        var caller = await access.AuthenticateAsync(context, repository?.Key, cancellationToken);
        if (caller is null)
        {
            return V2Errors.Result(V2Errors.Unauthorized, challenge);
        }

        if (caller.IsAnonymous ? !await access.AnonymousMayPingAsync(repository, cancellationToken) : !await access.MayReadAsync(caller, repository, cancellationToken))
        {
            return V2Errors.Result(V2Errors.Unauthorized, challenge);
        }

        context.Response.Headers[V2Errors.ApiVersionHeader] = V2Errors.ApiVersion;
        return Results.Json(new { });
    }

    private static async Task<IResult> TokenAsync(HttpContext context, string? repoKey, V2Access access, CancellationToken cancellationToken)
    {
        if (repoKey is not null && await access.RepositoryAsync(repoKey, cancellationToken) is null)
        {
            return V2Errors.Result(V2Errors.NameUnknown);
        }

        // Registry tokens are not credentials here: a token must never mint its own successor.
        var caller = await access.Authenticator.AuthenticateAsync(context.Request, cancellationToken);
        if (caller is null || (caller.IsAnonymous && !await access.AnonymousAccessAsync(cancellationToken)))
        {
            return V2Errors.Result(V2Errors.Unauthorized);
        }

        var granted = new List<DockerAccess>();
        foreach (var scope in context.Request.Query["scope"].SelectMany(s => (s ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries)))
        {
            if (await access.GrantAsync(caller, repoKey, scope, cancellationToken) is { } grant)
            {
                granted.Add(grant);
            }
        }

        var service = context.Request.Query["service"].ToString() is { Length: > 0 } s ? s : access.Service(context);
        // Never longer than the credential it is minted with (an access token's expiry), and only while that stands.
        var now = access.Now;
        var (token, expires) = access.Tokens.Issue(caller.DisplayName, repoKey ?? "", service, granted, caller.Origin);
        return Results.Json(new
        {
            token,
            access_token = token,
            expires_in = (int)Math.Max(0, Math.Floor((expires - now).TotalSeconds)),
            issued_at = Rest.StorageEndpoints.Iso(now),
        });
    }
}

/// <summary>Authentication and scope narrowing for the V2 login routes.</summary>
internal sealed class V2Access(IMetadataStore store, RestAuthenticator authenticator, UserAuthenticator users, AccessPolicy policy, DockerTokens tokens, PublicUrls urls, TimeProvider time)
{
    private readonly GenerationCache<string, RepositoryConfig?> _repositories = new(store, 1024);

    private static readonly string[] AllActions = ["pull", "push", "delete"];

    public DockerTokens Tokens => tokens;

    public RestAuthenticator Authenticator => authenticator;

    /// <summary>An authenticated ping succeeds where the caller may read (rest-api §3.3); key-less, always.</summary>
    public async Task<bool> MayReadAsync(Principal caller, RepositoryConfig? repository, CancellationToken cancellationToken) =>
        repository is null || await policy.AllowsAsync(caller, repository, "", isFolder: true, AccessActions.Read, cancellationToken);

    public DateTimeOffset Now => time.GetUtcNow();

    public async Task<IReadOnlyList<RepositoryConfig>> V2RepositoriesAsync(CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        return [.. (await session.Repositories.ListAsync(cancellationToken)).Where(r => r.DockerApiVersion == DockerApiVersion.V2)];
    }

    /// <summary>The repository's configuration; cached until the next write (every registry request asks).</summary>
    public ValueTask<RepositoryConfig?> RepositoryAsync(string key, CancellationToken cancellationToken) =>
        _repositories.GetOrReadAsync(key.ToLowerInvariant(), async (k, ct) =>
        {
            await using var session = await store.OpenAsync(ct);
            return await session.Repositories.GetAsync(k, ct);
        }, cancellationToken);

    /// <summary>
    /// A registry token from our token endpoint (for this key, or key-less) or any REST credential;
    /// null when credentials were sent but are not valid.
    /// </summary>
    public async Task<Principal?> AuthenticateAsync(HttpContext context, string? repoKey, CancellationToken cancellationToken) =>
        (await AuthenticateWithGrantAsync(context, repoKey, cancellationToken)).Caller;

    /// <summary>As <see cref="AuthenticateAsync"/>, with the registry token's grant when one was used.</summary>
    public async Task<(Principal? Caller, DockerTokenGrant? Grant)> AuthenticateWithGrantAsync(HttpContext context, string? repoKey, CancellationToken cancellationToken)
    {
        var credentials = Credentials.Parse(context.Request);
        if (credentials.Kind == CredentialKind.Bearer && credentials.Secret.StartsWith("ey", StringComparison.Ordinal))
        {
            var grant = await tokens.VerifyAsync(credentials.Secret);
            if (grant is null || (grant.RepoKey.Length > 0 && !string.Equals(grant.RepoKey, repoKey, StringComparison.OrdinalIgnoreCase)))
            {
                return (null, null);
            }

            // Anonymous tokens name no one; any other holds only while its minting credential stands.
            var holder = grant.Origin is { } origin ? await users.FromOriginAsync(origin, cancellationToken)
                : grant.Subject == Principal.AnonymousName ? Principal.Anonymous : null;
            return (holder, holder is null ? null : grant);
        }

        return (await authenticator.AuthenticateAsync(context.Request, cancellationToken), null);
    }

    public AccessPolicy Policy => policy;

    public ValueTask<bool> AnonymousAccessAsync(CancellationToken cancellationToken) => policy.AnonymousAccessAsync(cancellationToken);

    /// <summary>
    /// An anonymous /v2/ ping succeeds where anonymous may read and no authentication is forced;
    /// key-less, when anonymous access is on and no Docker repository forces authentication.
    /// </summary>
    public async Task<bool> AnonymousMayPingAsync(RepositoryConfig? repository, CancellationToken cancellationToken)
    {
        if (repository is not null)
        {
            return !repository.ForceDockerAuthentication
                && await policy.AllowsAsync(Principal.Anonymous, repository, "", isFolder: true, AccessActions.Read, cancellationToken);
        }

        if (!await policy.AnonymousAccessAsync(cancellationToken))
        {
            return false;
        }

        await using var session = await store.OpenAsync(cancellationToken);
        return !(await session.Repositories.ListAsync(cancellationToken)).Any(r => r.ForceDockerAuthentication);
    }

    /// <summary>
    /// <c>repository:&lt;name&gt;:&lt;actions&gt;</c> narrowed to what the caller holds on the image or below it
    /// (each request is still checked on the exact paths it touches);
    /// null when nothing is left (a scope the caller cannot hold is dropped, never an error).
    /// The name may carry the repository key first (repository-path method); key-less, it must.
    /// </summary>
    public async Task<DockerAccess?> GrantAsync(Principal caller, string? repoKey, string scope, CancellationToken cancellationToken)
    {
        var parts = scope.Split(':');
        if (parts.Length != 3 || parts[0] != "repository" || parts[1].Length == 0)
        {
            return null;
        }

        if (ScopeTarget(repoKey, parts[1]) is not var (key, image))
        {
            return null;
        }

        if (await RepositoryAsync(key, cancellationToken) is not { DockerApiVersion: DockerApiVersion.V2 } repository)
        {
            return null;
        }

        var held = await policy.GetActionsAtOrBelowAsync(caller, repository, image, cancellationToken);
        var wanted = parts[2].Split(',', StringSplitOptions.RemoveEmptyEntries).SelectMany(a => a == "*" ? AllActions : [a]).Distinct();
        var actions = wanted.Where(a => a switch
        {
            "pull" => (held & AccessActions.Read) != 0,
            "push" => (held & AccessActions.Deploy) != 0,
            "delete" => (held & AccessActions.Delete) != 0,
            _ => false,
        }).ToList();
        return actions.Count == 0 ? null : new DockerAccess("repository", parts[1], actions);
    }

    /// <summary>
    /// The repository key and image a scope's name denotes: at a key's token endpoint the image,
    /// or the key and image (a first segment equal to the key is the key); key-less, always the
    /// key and image. Issuing and checking a token read names by this one rule, so a scope never
    /// covers an image it was not granted for. Null when a key-less name has no key.
    /// </summary>
    public static (string Key, string Image)? ScopeTarget(string? repoKey, string name)
    {
        var slash = name.IndexOf('/', StringComparison.Ordinal);
        if (repoKey is not null && !(slash > 0 && string.Equals(name[..slash], repoKey, StringComparison.OrdinalIgnoreCase)))
        {
            return (repoKey, name);
        }

        return slash > 0 ? (name[..slash], name[(slash + 1)..]) : null;
    }

    /// <summary>The Bearer challenge: realm = the token endpoint of this key (or key-less), service = public host.</summary>
    public string Challenge(HttpContext context, string? repoKey, string? scope = null)
    {
        var realm = urls.BaseUrl(context.Request) + (repoKey is null ? "/api/docker/v2/token" : $"/api/docker/{repoKey}/v2/token");
        return $"Bearer realm=\"{realm}\",service=\"{Service(context)}\"" + (scope is null ? "" : $",scope=\"{scope}\"");
    }

    /// <summary>The public host, with its port unless 80 or 443.</summary>
    public string Service(HttpContext context)
    {
        var uri = new Uri(urls.BaseUrl(context.Request));
        return uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port}";
    }
}
