using Wharf.Core.Docker.V1;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Security;
using Wharf.Server.Auth;

namespace Wharf.Server.Api.V1;

/// <summary>Who called, and with which V1 token if any.</summary>
internal sealed record V1Caller(Principal Principal, V1TokenGrant? Token);

/// <summary>
/// One V1 request as <see cref="V1Gate"/> hands it to its handler: the repository, the caller and
/// what it may do on each exact path there, which challenge a 401 carries (<see cref="Kind"/>),
/// and what the route named (an image id, or a repository name, tag and operation).
/// </summary>
internal sealed class V1Call(HttpContext context, RepositoryConfig repository, V1Caller caller, V1RouteKind kind, ItemAccess items)
{
    private readonly V1RepositoryName? _name;
    private readonly V1RepositoryOperation? _operation;

    public static V1Call Of(HttpContext context) => Gates.Get<V1Call>(context);

    public HttpContext Context => context;

    public RepositoryConfig Repository => repository;

    public string Key => repository.Key;

    public V1Caller Caller => caller;

    public Principal Principal => caller.Principal;

    public V1RouteKind Kind => kind;

    /// <summary>What the caller may do on each exact path of the repository: the storage API's answer.</summary>
    public ItemAccess Items => items;

    /// <summary>The image of an image route, already validated.</summary>
    public string ImageId { get; init; } = "";

    /// <summary>The repository name of a repository route, already validated.</summary>
    public V1RepositoryName Name
    {
        get => _name ?? throw new InvalidOperationException("Not a repository route.");
        init => _name = value;
    }

    /// <summary>The tag of a tag route, as sent (checked by the handler that writes it).</summary>
    public string Tag { get; init; } = "";

    /// <summary>The operation of a repository route.</summary>
    public V1RepositoryOperation Operation
    {
        get => _operation ?? throw new InvalidOperationException("Not a repository route.");
        init => _operation = value;
    }

    /// <summary>A refusal of §5.4: 401 for anonymous callers, 403 for authenticated ones.</summary>
    public static IResult Refusal(V1Caller caller, V1RouteKind kind) =>
        caller.Principal.IsAnonymous
            ? V1Response.Error(V1Errors.RequiresAuthorization, kind)
            : V1Response.Error(V1Errors.AccessDenied, kind);

    public IResult Refusal() => Refusal(caller, kind);

    /// <summary>An error of the table, with this route's challenge.</summary>
    public IResult Error(V1Error error) => V1Response.Error(error, kind);

    /// <summary>The answer to a failed registry operation: a denial by §5.4, anything else by the error table (<see cref="V1Errors.For"/>).</summary>
    public IResult Fail(V1Outcome outcome) => outcome == V1Outcome.Denied ? Refusal() : Error(V1Errors.For(outcome));

    /// <summary>
    /// The exact-path check of a write: null when the caller may do <paramref name="needed"/> on
    /// <paramref name="path"/> (an item), else the refusal.
    /// </summary>
    public async ValueTask<IResult?> RequireAsync(string path, AccessActions needed) =>
        await items(path, needed) ? null : Refusal();
}
