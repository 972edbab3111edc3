using Wharf.Core.Docker.V2;
using Wharf.Core.Metadata;
using Wharf.Core.Security;
using Wharf.Server.Auth;
using Wharf.Server.Http;
using Wharf.Server.Telemetry;

namespace Wharf.Server.Api.V2;

/// <summary>
/// An authorized V2 caller: who, the registry token's grant if one was used, and what the caller
/// may do on each exact path of the request's repository (the storage API's answer).
/// </summary>
internal sealed record V2Caller(Principal Principal, DockerTokenGrant? Grant, ItemAccess Items);

/// <summary>
/// The gate of the V2 API (rest-api §3.2, §3.3), applied as endpoint filter to its catch-all routes:
/// it resolves the repository (cached), parses the route, finds the operation, authenticates
/// once (a registry token of this key or key-less, or any REST credential), authorizes the
/// operation's action on the image, and hands the handler a <see cref="V2Call"/>. Anonymous
/// callers are challenged (401 with the scope), authenticated ones denied (403). Handlers then
/// check the exact paths they read or write with <see cref="V2Caller.Items"/>: what the caller may
/// not read there is unknown to them, what they may not write is denied.
/// </summary>
internal sealed class V2Gate(
    RepositoryLookup repositories,
    V2Operations operations,
    RestAuthenticator authenticator,
    UserAuthenticator users,
    AccessPolicy policy,
    DockerTokens tokens,
    UrlBuilder urls)
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        var cancellationToken = context.RequestAborted;
        var method = context.Request.Method;
        V2Request request;
        switch (Address(context))
        {
            case { Kind: AddressKind.BarePing }:
                // The ping: no repository, its own rules (V2AuthEndpoints).
                return await next(invocation);
            case { Kind: AddressKind.NotFound }:
                return V2Errors.Result(V2Errors.NameUnknown);
            case { Kind: AddressKind.CatalogAll }:
                if (!HttpMethods.IsGet(method))
                {
                    return V2Errors.Result(V2Errors.Unsupported.WithMessage($"{method} is not supported here"));
                }

                request = V2Request.CatalogAll();
                break;
            case var address:
                var repository = await FindAsync(address.Key, cancellationToken);
                if (repository is null)
                {
                    return V2Errors.Result(V2Errors.NameUnknown);
                }

                RequestRecord.Of(context)?.Address(repository.Key);
                if (repository.DockerApiVersion != DockerApiVersion.V2)
                {
                    // V1 repositories answer a plain 404 below /v2, so that docker 1.x falls back to V1 (rest-api §3.1).
                    return ErrorBodies.PlainNotFound;
                }

                if (V2Request.Parse(repository, address.Rest, address.Addressing) is not { } parsed)
                {
                    return V2Errors.Result(V2Errors.RouteInvalid);
                }

                request = parsed;
                break;
        }

        context.Response.Headers[V2Errors.ApiVersionHeader] = V2Errors.ApiVersion;
        if (operations.Find(request.Route, method) is not { } operation)
        {
            return V2Errors.Result(V2Errors.Unsupported.WithMessage($"{method} is not supported here"));
        }

        var record = RequestRecord.Of(context);
        record?.Perform(context, RegistryOperations.ForV2(request.Route, method));

        // The main listener's catalog spans repositories: only key-less registry tokens name it.
        var (principal, grant) = await AuthenticateAsync(context, request.Route == V2Route.CatalogAll ? null : request.Repository.Key, cancellationToken);
        record?.Identify(principal);
        if (principal is null)
        {
            return Challenge(context, request, operation.Needed);
        }

        if (!await AllowsAsync(principal, grant, request, operation.Needed, cancellationToken))
        {
            return Refusal(context, request, principal, operation.Needed);
        }

        var caller = new V2Caller(principal, grant, policy.ItemAccessFor(principal, request.Repository, cancellationToken));
        context.Features.Set(new V2Call(context, request, caller, operation, this));
        return await next(invocation);
    }

    /// <summary>The repository's configuration; keys are matched without case, the cache by lower-case key.</summary>
    public ValueTask<RepositoryConfig?> FindAsync(string key, CancellationToken cancellationToken) =>
        repositories.FindAsync(key.ToLowerInvariant(), cancellationToken);

    /// <summary>
    /// A registry token from our token endpoint (for this key, or key-less) or any REST credential,
    /// with the token's grant; no caller when credentials were sent but are not valid.
    /// </summary>
    public async Task<(Principal? Caller, DockerTokenGrant? Grant)> AuthenticateAsync(HttpContext context, string? repoKey, CancellationToken cancellationToken)
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

    /// <summary>
    /// Whether the caller may do <paramref name="needed"/> on the image or somewhere in it: the
    /// registry token's scope first, then Force Authentication, then the permission targets. A
    /// repository's catalog needs read on its root folder (browsing); the main listener's catalog
    /// only a caller, since each repository's images are filtered by the handler.
    /// </summary>
    private async ValueTask<bool> AllowsAsync(Principal caller, DockerTokenGrant? grant, V2Request request, AccessActions needed, CancellationToken cancellationToken)
    {
        if (request.Route == V2Route.CatalogAll)
        {
            return true;
        }

        var tokenCovers = grant is null || request.Route == V2Route.Catalog || V2Scopes.Covers(grant, request.Repository.Key, request.Image, V2Scopes.ActionOf(needed));
        return tokenCovers
            && !(request.Repository.ForceDockerAuthentication && caller.IsAnonymous)
            && (request.Route == V2Route.Catalog
                ? await policy.AllowsAsync(caller, request.Repository, "", isFolder: true, AccessActions.Read, cancellationToken)
                : await policy.AllowsAtOrBelowAsync(caller, request.Repository, request.Image, needed, cancellationToken));
    }

    /// <summary>A refusal: anonymous callers are challenged for the scope the request needs, others denied.</summary>
    public IResult Refusal(HttpContext context, V2Request request, Principal caller, AccessActions needed, string? reason = null) =>
        caller.IsAnonymous ? Challenge(context, request, needed) : V2Errors.Result(V2Errors.For(V2Outcome.Denied, reason));

    private IResult Challenge(HttpContext context, V2Request request, AccessActions needed)
    {
        var scope = request.Route is V2Route.Catalog or V2Route.CatalogAll ? V2Scopes.Catalog : V2Scopes.Repository(request.ClientName, V2Scopes.ActionOf(needed));
        if (request.Route == V2Route.UploadStart && V2Call.MountSource(context) is { } from)
        {
            // A mount also reads the source image: asking for both lets one token mount (201).
            scope += " " + V2Scopes.Repository(from, "pull");
        }
        else if (request.Route == V2Route.UploadStart && context.Request.Query.ContainsKey("mount") && !context.Request.Query.ContainsKey("from"))
        {
            // Automatic content discovery mounts only from images the token may pull: asking to pull
            // the target too (as Distribution asks for every upload) lets the token the challenge
            // leads to mount a blob the image already holds (201).
            scope = V2Scopes.Repository(request.ClientName, "pull,push");
        }

        return V2Errors.Result(V2Errors.Unauthorized, urls.Challenge(context.Request, request.RealmKey, scope));
    }

    // ---------------------------------------------------------------- the login routes (V2AuthEndpoints)

    /// <summary>
    /// Whether a ping succeeds (rest-api §3.3). Authenticated: where the caller may read; key-less,
    /// always. Anonymous: where anonymous may read and no authentication is forced; key-less, when
    /// anonymous access is on and no Docker repository forces authentication.
    /// </summary>
    public async Task<bool> MayPingAsync(Principal caller, RepositoryConfig? repository, CancellationToken cancellationToken)
    {
        if (!caller.IsAnonymous)
        {
            return repository is null || await policy.AllowsAsync(caller, repository, "", isFolder: true, AccessActions.Read, cancellationToken);
        }

        if (repository is not null)
        {
            return !repository.ForceDockerAuthentication
                && await policy.AllowsAsync(Principal.Anonymous, repository, "", isFolder: true, AccessActions.Read, cancellationToken);
        }

        return await policy.AnonymousAccessAsync(cancellationToken)
            && !(await repositories.ListAsync(cancellationToken)).Any(r => r.ForceDockerAuthentication);
    }

    /// <summary>
    /// <c>repository:&lt;name&gt;:&lt;actions&gt;</c> narrowed to what the caller holds on the image or below it
    /// (each request is still checked on the exact paths it touches);
    /// null when nothing is left (a scope the caller cannot hold is dropped, never an error).
    /// The name may carry the repository key first (repository-path method); key-less, it must.
    /// <c>registry:catalog:*</c>, the scope the catalog's challenge asks for, is granted to every
    /// caller: a catalog lists only names its caller may read, whatever the token says.
    /// </summary>
    public async Task<DockerAccess?> GrantAsync(Principal caller, string? repoKey, string scope, CancellationToken cancellationToken)
    {
        if (scope == V2Scopes.Catalog)
        {
            return V2Scopes.CatalogAccess;
        }

        var parts = scope.Split(':');
        if (parts.Length != 3 || parts[0] != "repository" || parts[1].Length == 0)
        {
            return null;
        }

        if (V2Scopes.Target(repoKey, parts[1]) is not var (key, image)
            || await FindAsync(key, cancellationToken) is not { DockerApiVersion: DockerApiVersion.V2 } repository)
        {
            return null;
        }

        var held = await policy.GetActionsAtOrBelowAsync(caller, repository, image, cancellationToken);
        var wanted = parts[2].Split(',', StringSplitOptions.RemoveEmptyEntries).SelectMany(a => a == "*" ? V2Scopes.AllActions : [a]).Distinct();
        var actions = wanted.Where(a => a switch
        {
            "pull" => (held & AccessActions.Read) != 0,
            "push" => (held & AccessActions.Deploy) != 0,
            "delete" => (held & AccessActions.Delete) != 0,
            _ => false,
        }).ToList();
        return actions.Count == 0 ? null : new DockerAccess("repository", parts[1], actions);
    }

    // ---------------------------------------------------------------- addresses

    private enum AddressKind
    {
        Repository,
        BarePing,
        CatalogAll,
        NotFound,
    }

    /// <summary>
    /// A V2 request's repository key and the path below it: by path mode, on the repository's own
    /// address (<see cref="RepositoryAddress"/>), or by the repository-path method on the main
    /// listener's <see cref="V2Routes.Root"/>.
    /// </summary>
    private readonly record struct V2Address(AddressKind Kind, string Key = "", string Rest = "", V2Addressing Addressing = V2Addressing.PathMode);

    private static V2Address Address(HttpContext context)
    {
        var rest = context.GetRouteValue("rest") as string ?? "";
        if (context.GetRouteValue("repoKey") is string key)
        {
            return new(AddressKind.Repository, key, rest);
        }

        if (RepositoryAddress.KeyOf(context) is { } own)
        {
            return rest.Length == 0 ? new(AddressKind.BarePing) : new(AddressKind.Repository, own, rest, V2Addressing.OwnAddress);
        }

        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        return rest.Length == 0 ? new(AddressKind.BarePing)
            : rest == V2Routes.Catalog ? new(AddressKind.CatalogAll)
            : slash <= 0 ? new(AddressKind.NotFound)
            : new(AddressKind.Repository, rest[..slash], rest[(slash + 1)..], V2Addressing.KeyInName);
    }
}

/// <summary>Applying the V2 gate to a route.</summary>
internal static class V2GateExtensions
{
    public static RouteHandlerBuilder WithV2Gate(this RouteHandlerBuilder builder) =>
        Gates.Apply(builder, (V2Gate gate, EndpointFilterDelegate next) => invocation => gate.InvokeAsync(invocation, next));
}
