using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Security;
using Wharf.Core.Tree;
using Wharf.Server.Auth;
using Wharf.Server.Telemetry;

namespace Wharf.Server.Api.Rest;

/// <summary>Who may call a REST route (rest-api §1.5), as the REST gate checks it before the handler runs.</summary>
internal abstract record RestRequirement
{
    /// <summary>Any caller, anonymous included; the handler decides what each may see.</summary>
    public static readonly RestRequirement Anyone = new AnyoneRequirement();

    /// <summary>A signed-in caller (401 for anonymous ones).</summary>
    public static readonly RestRequirement User = new UserRequirement();

    /// <summary>An administrator (401 for anonymous callers, 403 with <paramref name="refusal"/> for other users).</summary>
    public static RestRequirement Admin(string refusal) => new AdminRequirement(refusal);

    /// <summary>A storage route: a caller who may read the item at the route's <c>{repoKey}/{path}</c>, or with <paramref name="root"/> the repository root.</summary>
    public static RestRequirement Storage(bool root = false) => new StorageRequirement(root);

    internal sealed record AnyoneRequirement : RestRequirement;

    internal sealed record UserRequirement : RestRequirement;

    internal sealed record AdminRequirement(string Refusal) : RestRequirement;

    internal sealed record StorageRequirement(bool Root) : RestRequirement;
}

/// <summary>A resolved, readable storage path.</summary>
internal sealed record StorageTarget(RepositoryConfig Repository, string Path, TreeItem? Item, Principal Caller);

/// <summary>A REST request as <see cref="RestGate"/> hands it to its handler: the caller, and on storage routes the item.</summary>
internal sealed class RestCall(Principal caller, StorageTarget? target)
{
    public static RestCall Of(HttpContext context) => Gates.Get<RestCall>(context);

    public Principal Caller => caller;

    public StorageTarget Target => target ?? throw new InvalidOperationException("Not a storage route.");
}

/// <summary>
/// The gate of the REST API, applied as endpoint filter: it authenticates once (invalid credentials
/// always answer 401, never anonymous), checks the route's <see cref="RestRequirement"/>, resolves
/// a storage route's repository (cached) and item, and hands the handler a <see cref="RestCall"/>.
/// </summary>
internal sealed class RestGate(RestAuthenticator authenticator, RepositoryLookup repositories, IMetadataStore store, AccessPolicy policy)
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next, RestRequirement requirement)
    {
        var context = invocation.HttpContext;
        var caller = await authenticator.AuthenticateAsync(context.Request, context.RequestAborted);
        RequestRecord.Of(context)?.Identify(caller);
        if (caller is null)
        {
            return RestErrors.Unauthorized();
        }

        StorageTarget? target = null;
        switch (requirement)
        {
            case RestRequirement.UserRequirement or RestRequirement.AdminRequirement when caller.IsAnonymous:
                return RestErrors.Unauthorized();
            case RestRequirement.AdminRequirement admin when !caller.IsAdmin:
                return RestErrors.Write(403, admin.Refusal);
            case RestRequirement.StorageRequirement storage:
                var key = context.GetRouteValue("repoKey") as string ?? "";
                var (resolved, failure) = await ResolveAsync(caller, key, storage.Root ? "" : context.GetRouteValue("path") as string, context.RequestAborted);
                if (resolved is null)
                {
                    return failure;
                }

                target = resolved;
                RequestRecord.Of(context)?.Address(resolved.Repository.Key);
                break;
        }

        context.Features.Set(new RestCall(caller, target));
        return await next(invocation);
    }

    /// <summary>
    /// The item at <paramref name="rawPath"/> (the repository root when empty) if the caller may read
    /// it. A caller without read learns nothing, not even that the path exists; a blacked-out
    /// repository refuses everyone openly (rest-api §2.2).
    /// </summary>
    private async Task<(StorageTarget? Target, IResult? Failure)> ResolveAsync(Principal caller, string repoKey, string? rawPath, CancellationToken cancellationToken)
    {
        if (!ItemPath.TryNormalize(rawPath, out var path))
        {
            return (null, RestErrors.BadRequest("Invalid path."));
        }

        var repository = await repositories.FindAsync(repoKey, cancellationToken);
        if (repository is null)
        {
            return (null, caller.IsAnonymous ? RestErrors.Unauthorized() : RestErrors.NotFound($"Repository '{repoKey}' not found."));
        }

        TreeItem? item = null;
        if (path.Length > 0)
        {
            await using var session = await store.OpenAsync(cancellationToken);
            item = await session.Tree.GetAsync(repository.Key, path, cancellationToken);
        }

        if (!await policy.AllowsAsync(caller, repository, path, isFolder: item?.IsFolder ?? true, AccessActions.Read, cancellationToken))
        {
            return (null, caller.IsAnonymous ? RestErrors.Unauthorized()
                : repository.BlackedOut ? RestErrors.Write(403, $"Repository '{repository.Key}' is blacked out.")
                : RestErrors.NotFound());
        }

        return path.Length > 0 && item is null
            ? (null, RestErrors.NotFound())
            : (new StorageTarget(repository, path, item, caller), null);
    }
}

/// <summary>Applying the REST gate, and the checks some routes make before it.</summary>
internal static class RestGateExtensions
{
    /// <summary>Puts the route (or every route of a group) behind the REST gate with <paramref name="requirement"/>.</summary>
    public static TBuilder WithRestGate<TBuilder>(this TBuilder builder, RestRequirement requirement)
        where TBuilder : IEndpointConventionBuilder =>
        Gates.Apply(builder, (RestGate gate, EndpointFilterDelegate next) => invocation => gate.InvokeAsync(invocation, next, requirement));

    /// <summary>
    /// A route that only serves requests naming <paramref name="parameter"/> answers the others 400
    /// with <paramref name="message"/> before credentials are looked at. Add it before the gate.
    /// </summary>
    public static RouteHandlerBuilder RequireQuery(this RouteHandlerBuilder builder, string parameter, string message) =>
        builder.AddEndpointFilter((invocation, next) =>
            invocation.HttpContext.Request.Query.ContainsKey(parameter) ? next(invocation) : ValueTask.FromResult<object?>(RestErrors.BadRequest(message)));
}
