using Microsoft.Extensions.Options;
using Wharf.Core.Docker.V1;
using Wharf.Core.Naming;
using Wharf.Core.Repositories;
using Wharf.Core.Security;
using Wharf.Core.Tree;
using Wharf.Server.Auth;
using Wharf.Server.Hosting;
using Wharf.Server.Http;

namespace Wharf.Server.Api.V1;

/// <summary>Who called, and with which V1 token if any.</summary>
internal sealed record V1Caller(Principal Principal, V1TokenGrant? Token);

/// <summary>
/// Authentication and authorization of every V1 route, in the order of docker-v1-protocol §5.4:
/// invalid credentials (or a token outside its scope) → 401; missing permission → 401 anonymous,
/// 403 authenticated; only then may the route reveal that something does not exist.
/// </summary>
internal sealed class V1Gate(
    IMetadataStore store,
    UserAuthenticator users,
    RestAuthenticator restAuthenticator,
    V1Tokens tokens,
    AccessPolicy policy,
    V1Registry registry,
    IOptions<WharfOptions> options)
{
    /// <summary>The V1 repository a request addresses: the route's key, else the default repository.</summary>
    public async Task<(RepositoryConfig? Repository, IResult? Failure)> ResolveRepositoryAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var key = context.GetRouteValue("repoKey") as string ?? options.Value.Docker.DefaultRepository;
        RepositoryConfig? repository;
        await using (var session = await store.OpenAsync(cancellationToken))
        {
            repository = await session.Repositories.GetAsync(key, cancellationToken);
        }

        return repository switch
        {
            null => (null, V1Response.Error(V1Errors.RepositoryNotFound)),

            // A V2 repository reached through /v1 answers a plain 404 (rest-api §3.1).
            { DockerApiVersion: not DockerApiVersion.V1 } => (null, ErrorBodies.PlainNotFound),
            _ => (repository, null),
        };
    }

    /// <summary>Step 1 of §5.4. On DELETE routes a token is disregarded and the caller judged as anonymous.</summary>
    public async Task<(V1Caller? Caller, IResult? Failure)> AuthenticateAsync(HttpContext context, V1RouteKind kind, bool disregardToken, CancellationToken cancellationToken)
    {
        var credentials = Credentials.Parse(context.Request);
        if (credentials.Kind == CredentialKind.Bearer || context.Request.Headers.ContainsKey(RestAuthenticator.ApiKeyHeader))
        {
            // Access tokens and API keys work on every route (rest-api §1.5).
            return await restAuthenticator.AuthenticateAsync(context.Request, cancellationToken) is { } holder
                ? (new V1Caller(holder, null), null)
                : (null, V1Response.Error(V1Errors.RequiresAuthorization, kind));
        }

        switch (credentials.Kind)
        {
            case CredentialKind.None:
                return (new V1Caller(Principal.Anonymous, null), null);
            case CredentialKind.Basic:
                var (outcome, principal) = await users.LoginAsync(credentials.User, credentials.Secret, context.Connection.RemoteIpAddress?.ToString(), cancellationToken);
                return outcome switch
                {
                    LoginOutcome.Ok => (new V1Caller(principal!, null), null),
                    LoginOutcome.Throttled => (null, V1Response.Error(V1Errors.TooManyLogins, kind)),
                    _ => (null, V1Response.Error(V1Errors.RequiresAuthorization, kind)),
                };
            case CredentialKind.Token when disregardToken:
                return (new V1Caller(Principal.Anonymous, null), null);
            case CredentialKind.Token:
                if (tokens.Verify(credentials.Secret) is { } grant)
                {
                    // Anonymous tokens name no one; any other holds only while its minting credential stands.
                    var holder = grant.Origin is { } origin ? await users.FromOriginAsync(origin, cancellationToken)
                        : grant.User.Length == 0 ? Principal.Anonymous : null;
                    if (holder is not null)
                    {
                        return (new V1Caller(holder, grant), null);
                    }
                }

                return (null, V1Response.Error(V1Errors.RequiresAuthorization, kind));
            default:
                return (null, V1Response.Error(V1Errors.RequiresAuthorization, kind));
        }
    }

    /// <summary>
    /// Authorizes an action on a V1 repository (index and tag routes). <paramref name="tokenAccepted"/>
    /// is false on the calls that issue tokens (push start, pull start): §5.3 lets no token authorize
    /// them, so a token can neither renew itself nor widen its own index.
    /// </summary>
    public async Task<IResult?> AuthorizeRepositoryAsync(RepositoryConfig repository, V1Caller caller, V1RepositoryName name, AccessActions needed, V1RouteKind kind, bool tokenAccepted, CancellationToken cancellationToken)
    {
        if (caller.Token is { } token && !(tokenAccepted && token.RepoKey == repository.Key && token.Repository == name.FullName && Covers(token, needed)))
        {
            return V1Response.Error(V1Errors.RequiresAuthorization, kind);
        }

        return await AuthorizePathAsync(repository, caller, V1Layout.RepositoryFolder(name), needed, kind, cancellationToken);
    }

    /// <summary>Authorizes an action on an image (image routes); <paramref name="imageId"/> is already validated.</summary>
    public async Task<IResult?> AuthorizeImageAsync(RepositoryConfig repository, V1Caller caller, string imageId, AccessActions needed, CancellationToken cancellationToken)
    {
        if (caller.Token is { } token)
        {
            var inScope = token.RepoKey == repository.Key && Covers(token, needed)
                && V1RepositoryName.TryParse(token.Repository, out var name)
                && await registry.RepositoryReachesImageAsync(repository.Key, name, imageId, includeTagAncestry: token.Access == V1Access.Read, cancellationToken);
            if (!inScope)
            {
                return V1Response.Error(V1Errors.RequiresAuthorization);
            }
        }

        return await AuthorizePathAsync(repository, caller, V1Layout.ImageFolder(imageId), needed, V1RouteKind.Registry, cancellationToken);
    }

    /// <summary>Whether the caller may read anything in the repository at all (search, §6.6).</summary>
    public async Task<bool> CanBrowseAsync(RepositoryConfig repository, Principal principal, CancellationToken cancellationToken) =>
        !(repository.ForceDockerAuthentication && principal.IsAnonymous)
        && await policy.AllowsAsync(principal, repository, "", isFolder: true, AccessActions.Read, cancellationToken);

    /// <summary>What the caller may do on each exact path of the repository: the storage API's answer.</summary>
    public ItemAccess Items(RepositoryConfig repository, V1Caller caller, CancellationToken cancellationToken) =>
        policy.ItemAccessFor(caller.Principal, repository, cancellationToken);

    /// <summary>
    /// Step 2 of §5.4 on a folder (a repository or an image): the caller must hold
    /// <paramref name="needed"/> there or somewhere below it; 401 for anonymous callers, 403 for
    /// authenticated ones. Each route then checks the exact paths it reads or writes.
    /// </summary>
    public async Task<IResult?> AuthorizePathAsync(RepositoryConfig repository, V1Caller caller, string path, AccessActions needed, V1RouteKind kind, CancellationToken cancellationToken)
    {
        // Force Authentication: anonymous callers get 401 even where anonymous may read, so that
        // docker clients send the credentials of a `docker login` (rest-api §2.2).
        if (repository.ForceDockerAuthentication && caller.Principal.IsAnonymous)
        {
            return V1Response.Error(V1Errors.RequiresAuthorization, kind);
        }

        return await policy.AllowsAtOrBelowAsync(caller.Principal, repository, path, needed, cancellationToken) ? null : Refusal(caller, kind);
    }

    /// <summary>
    /// The exact-path check of a write: null when the caller may do <paramref name="needed"/> on
    /// <paramref name="path"/> (an item), else the refusal.
    /// </summary>
    public async Task<IResult?> RequireAsync(RepositoryConfig repository, V1Caller caller, string path, AccessActions needed, V1RouteKind kind, CancellationToken cancellationToken) =>
        await policy.AllowsAsync(caller.Principal, repository, path, isFolder: false, needed, cancellationToken) ? null : Refusal(caller, kind);

    /// <summary>A refusal of §5.4: 401 for anonymous callers, 403 for authenticated ones.</summary>
    public static IResult Refusal(V1Caller caller, V1RouteKind kind = V1RouteKind.Registry) =>
        caller.Principal.IsAnonymous
            ? V1Response.Error(V1Errors.RequiresAuthorization, kind)
            : V1Response.Error(V1Errors.AccessDenied, kind);

    /// <summary>The answer to a failed registry operation: a denial by §5.4, anything else by the error table.</summary>
    public static IResult Failure(V1Outcome outcome, V1Caller caller, V1RouteKind kind = V1RouteKind.Registry) =>
        outcome == V1Outcome.Denied ? Refusal(caller, kind) : V1Response.Error(V1Errors.For(outcome), kind);

    /// <summary>Read tokens cover reads; write tokens cover reads and deploys; no token covers deletes.</summary>
    private static bool Covers(V1TokenGrant token, AccessActions needed) =>
        (needed & ~(AccessActions.Read | AccessActions.Deploy)) == 0
        && ((needed & AccessActions.Deploy) == 0 || token.Access == V1Access.Write);
}
