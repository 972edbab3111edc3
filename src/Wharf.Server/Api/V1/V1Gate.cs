using Microsoft.Extensions.Options;
using Wharf.Core.Docker.V1;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Security;
using Wharf.Server.Auth;
using Wharf.Server.Hosting;
using Wharf.Server.Http;
using Wharf.Server.Telemetry;

namespace Wharf.Server.Api.V1;

/// <summary>What the V1 gate checks for a route before its handler runs.</summary>
internal abstract record V1Requirement
{
    /// <summary>An image route: <paramref name="Needed"/> on the image of the route's id, and exactly on each of <paramref name="Files"/> in its folder.</summary>
    public sealed record Image(AccessActions Needed, IReadOnlyList<string> Files) : V1Requirement;

    /// <summary>Search (§6.6): any caller that may browse the repository, never with a token.</summary>
    public sealed record Search : V1Requirement;

    /// <summary>The repository and tag routes: what they need follows from the path and method (<see cref="V1RepositoryOperations"/>).</summary>
    public sealed record Repositories : V1Requirement;
}

/// <summary>
/// The gate of every V1 route that names a repository, applied as endpoint filter, in the order of
/// docker-v1-protocol §5.4: credentials first (invalid ones, or a token outside its scope → 401),
/// then the repository (the route's key, else the default repository; cached), the name or id,
/// and the permission (missing → 401 anonymous, 403 authenticated); only then may the handler
/// reveal that something does not exist. The handler gets a <see cref="V1Call"/>.
/// </summary>
internal sealed class V1Gate(
    RepositoryLookup repositories,
    V1RepositoryOperations operations,
    UserAuthenticator users,
    RestAuthenticator restAuthenticator,
    V1Tokens tokens,
    AccessPolicy policy,
    V1Repositories v1Repositories,
    IOptions<WharfOptions> options)
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next, V1Requirement requirement)
    {
        var context = invocation.HttpContext;
        var (call, failure) = requirement switch
        {
            V1Requirement.Image image => await ImageAsync(context, image, context.RequestAborted),
            V1Requirement.Search => await SearchAsync(context, context.RequestAborted),
            _ => await RepositoryAsync(context, context.RequestAborted),
        };
        if (call is null)
        {
            return failure;
        }

        context.Features.Set(call);
        return await next(invocation);
    }

    /// <summary>Image routes: credentials, repository, permission, then the id format (the reference order), then the route's files.</summary>
    private async Task<(V1Call? Call, IResult? Failure)> ImageAsync(HttpContext context, V1Requirement.Image requirement, CancellationToken cancellationToken)
    {
        var id = context.GetRouteValue("id") as string ?? "";
        var record = RequestRecord.Of(context);
        record?.Perform(context, RegistryOperations.ForV1Image(context));
        var (caller, invalid) = await AuthenticateAsync(context, V1RouteKind.Registry, disregardToken: false, cancellationToken);
        record?.Identify(caller?.Principal);
        if (caller is null)
        {
            return (null, invalid);
        }

        var (repository, missing) = await ResolveRepositoryAsync(context, cancellationToken);
        if (repository is null)
        {
            return (null, missing);
        }

        var needed = requirement.Needed;
        if (!ImageId.IsValid(id))
        {
            // No token covers an id that cannot be in any index (§5.4 step 1), and permission precedes the format check.
            return (null, caller.Token is not null
                ? V1Response.Error(V1Errors.RequiresAuthorization)
                : await AuthorizePathAsync(repository, caller, V1Layout.ImagesRoot, needed, V1RouteKind.Registry, cancellationToken)
                    ?? V1Response.Error(V1Errors.InvalidImageId));
        }

        if (await AuthorizeImageAsync(repository, caller, id, needed, cancellationToken) is { } refused)
        {
            return (null, refused);
        }

        // The route's files of the image folder are checked exactly: a file the caller may not read
        // is not found, one it may not write is refused.
        var call = new V1Call(context, repository, caller, V1RouteKind.Registry, Items(repository, caller, cancellationToken)) { ImageId = id };
        foreach (var file in requirement.Files)
        {
            if (!await call.Items(V1Layout.ImageFile(id, file), needed))
            {
                return (null, needed == AccessActions.Read ? V1Response.Error(V1Errors.ImageNotFound) : call.Refusal());
            }
        }

        return (call, null);
    }

    private async Task<(V1Call? Call, IResult? Failure)> SearchAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var record = RequestRecord.Of(context);
        record?.Perform(context, RegistryOperations.ForV1("search_get"));
        var (caller, invalid) = await AuthenticateAsync(context, V1RouteKind.Index, disregardToken: false, cancellationToken);
        record?.Identify(caller?.Principal);
        if (caller is null)
        {
            return (null, invalid);
        }

        var (repository, missing) = await ResolveRepositoryAsync(context, cancellationToken);
        if (repository is null)
        {
            return (null, missing);
        }

        // Tokens are scoped to one repository's push or pull; search is outside that scope (§5.3).
        // Anonymous callers must be able to read something in the repository at all (§6.6).
        var browses = caller.Token is null && (!caller.Principal.IsAnonymous
            || (!repository.ForceDockerAuthentication && await policy.AllowsAsync(caller.Principal, repository, "", isFolder: true, AccessActions.Read, cancellationToken)));
        return browses
            ? (new V1Call(context, repository, caller, V1RouteKind.Index, Items(repository, caller, cancellationToken)), null)
            : (null, V1Response.Error(V1Errors.RequiresAuthorization, V1RouteKind.Index));
    }

    /// <summary>Repository routes: the operation, credentials (tokens ignored on DELETE), repository, name, permission.</summary>
    private async Task<(V1Call? Call, IResult? Failure)> RepositoryAsync(HttpContext context, CancellationToken cancellationToken)
    {
        if (operations.Find(context) is not var (operation, rawName, tag))
        {
            return (null, V1Response.Error(V1Errors.NotFound));
        }

        // §5.4: invalid credentials are answered first, before anything about the repository or name.
        var kind = operation.Kind;
        var record = RequestRecord.Of(context);
        record?.Perform(context, RegistryOperations.ForV1(operation.Name));
        var (caller, invalid) = await AuthenticateAsync(context, kind, disregardToken: HttpMethods.IsDelete(context.Request.Method), cancellationToken);
        record?.Identify(caller?.Principal);
        if (caller is null)
        {
            return (null, invalid);
        }

        var (repository, missing) = await ResolveRepositoryAsync(context, cancellationToken);
        if (repository is null)
        {
            return (null, missing);
        }

        if (!V1RepositoryName.TryParse(rawName, out var name))
        {
            return (null, V1Response.Error(V1Errors.InvalidRepositoryName, kind));
        }

        // §5.3 lets no token authorize the calls that issue tokens (push start, pull start), so a
        // token can neither renew itself nor widen its own index.
        if (caller.Token is { } token && !(operation.TokenAccepted && token.RepoKey == repository.Key && token.Repository == name.FullName && Covers(token, operation.Needed)))
        {
            return (null, V1Response.Error(V1Errors.RequiresAuthorization, kind));
        }

        return await AuthorizePathAsync(repository, caller, V1Layout.RepositoryFolder(name), operation.Needed, kind, cancellationToken) is { } refused
            ? (null, refused)
            : (new V1Call(context, repository, caller, kind, Items(repository, caller, cancellationToken)) { Name = name, Tag = tag, Operation = operation }, null);
    }

    /// <summary>The V1 repository a request addresses: the route's key, else the repository whose port or host name it came by, else the default repository.</summary>
    private async Task<(RepositoryConfig? Repository, IResult? Failure)> ResolveRepositoryAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var key = context.GetRouteValue("repoKey") as string ?? RepositoryAddress.KeyOf(context) ?? options.Value.Docker.DefaultRepository;
        var found = await repositories.FindAsync(key, cancellationToken);
        if (found is not null)
        {
            RequestRecord.Of(context)?.Address(found.Key);
        }

        return found switch
        {
            null => (null, V1Response.Error(V1Errors.RepositoryNotFound)),

            // A V2 repository reached through /v1 answers a plain 404 (rest-api §3.1).
            { DockerApiVersion: not DockerApiVersion.V1 } => (null, ErrorBodies.PlainNotFound),
            var repository => (repository, null),
        };
    }

    /// <summary>Step 1 of §5.4. On DELETE routes a token is disregarded and the caller judged as anonymous.</summary>
    private async Task<(V1Caller? Caller, IResult? Failure)> AuthenticateAsync(HttpContext context, V1RouteKind kind, bool disregardToken, CancellationToken cancellationToken)
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

    /// <summary>Authorizes an action on an image (image routes); <paramref name="imageId"/> is already validated.</summary>
    private async Task<IResult?> AuthorizeImageAsync(RepositoryConfig repository, V1Caller caller, string imageId, AccessActions needed, CancellationToken cancellationToken)
    {
        if (caller.Token is { } token)
        {
            var inScope = token.RepoKey == repository.Key && Covers(token, needed)
                && V1RepositoryName.TryParse(token.Repository, out var name)
                && await v1Repositories.RepositoryReachesImageAsync(repository.Key, name, imageId, includeTagAncestry: token.Access == V1Access.Read, cancellationToken);
            if (!inScope)
            {
                return V1Response.Error(V1Errors.RequiresAuthorization);
            }
        }

        return await AuthorizePathAsync(repository, caller, V1Layout.ImageFolder(imageId), needed, V1RouteKind.Registry, cancellationToken);
    }

    /// <summary>
    /// Step 2 of §5.4 on a folder (a repository or an image): the caller must hold
    /// <paramref name="needed"/> there or somewhere below it; 401 for anonymous callers, 403 for
    /// authenticated ones. Each route then checks the exact paths it reads or writes.
    /// </summary>
    private async Task<IResult?> AuthorizePathAsync(RepositoryConfig repository, V1Caller caller, string path, AccessActions needed, V1RouteKind kind, CancellationToken cancellationToken)
    {
        // Force Authentication: anonymous callers get 401 even where anonymous may read, so that
        // docker clients send the credentials of a `docker login` (rest-api §2.2).
        if (repository.ForceDockerAuthentication && caller.Principal.IsAnonymous)
        {
            return V1Response.Error(V1Errors.RequiresAuthorization, kind);
        }

        return await policy.AllowsAtOrBelowAsync(caller.Principal, repository, path, needed, cancellationToken) ? null : V1Call.Refusal(caller, kind);
    }

    /// <summary>What the caller may do on each exact path of the repository: the storage API's answer.</summary>
    private ItemAccess Items(RepositoryConfig repository, V1Caller caller, CancellationToken cancellationToken) =>
        policy.ItemAccessFor(caller.Principal, repository, cancellationToken);

    /// <summary>Read tokens cover reads; write tokens cover reads and deploys; no token covers deletes.</summary>
    private static bool Covers(V1TokenGrant token, AccessActions needed) =>
        (needed & ~(AccessActions.Read | AccessActions.Deploy)) == 0
        && ((needed & AccessActions.Deploy) == 0 || token.Access == V1Access.Write);
}

/// <summary>Applying the V1 gate to a route.</summary>
internal static class V1GateExtensions
{
    public static RouteHandlerBuilder WithV1Gate(this RouteHandlerBuilder builder, V1Requirement requirement) =>
        Gates.Apply(builder, (V1Gate gate, EndpointFilterDelegate next) => invocation => gate.InvokeAsync(invocation, next, requirement));
}
