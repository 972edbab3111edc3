using Wharf.Core.Docker.V2;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;

namespace Wharf.Server.Api.V2;

/// <summary>Serves one V2 operation for a caller the gate authorized.</summary>
internal delegate Task<IResult> V2Handler(V2Call call, CancellationToken cancellationToken);

/// <summary>A V2 operation: the action its caller needs on the image (or somewhere in it), and its handler.</summary>
internal sealed record V2Operation(AccessActions Needed, V2Handler Handler);

/// <summary>
/// One V2 request as <see cref="V2Gate"/> hands it to its handler: what it addresses, who calls,
/// and the operation; and the answers that depend on who calls (refusals challenge anonymous callers).
/// </summary>
internal sealed class V2Call(HttpContext context, V2Request request, V2Caller caller, V2Operation operation, V2Gate gate)
{
    public static V2Call Of(HttpContext context) => Gates.Get<V2Call>(context);

    public HttpContext Context => context;

    public V2Request Request => request;

    public V2Caller Caller => caller;

    public V2Operation Operation => operation;

    public string Key => request.Repository.Key;

    public string Image => request.Image;

    /// <summary>The name a write records as its creator or modifier.</summary>
    public string User => caller.Principal.DisplayName;

    /// <summary>
    /// The answer to a failed registry operation: the error table's (<see cref="V2Errors.For"/>),
    /// except that a denial challenges anonymous callers for the operation's scope.
    /// </summary>
    public IResult Fail(V2Outcome outcome, string? reason = null) =>
        outcome == V2Outcome.Denied
            ? gate.Refusal(context, request, caller.Principal, operation.Needed, reason)
            : V2Errors.Result(V2Errors.For(outcome, reason));

    /// <summary>
    /// The exact-path check of a write: null when the caller may do the operation's action on
    /// <paramref name="path"/>, else the refusal.
    /// </summary>
    public async ValueTask<IResult?> RequireAsync(string path) =>
        await caller.Items(path, operation.Needed) ? null : Fail(V2Outcome.Denied);

    /// <summary>Whether the caller's registry token, if one was used, lets it pull an image the route does not name (a mount's source).</summary>
    public bool TokenMayPull(string key, string image) =>
        caller.Grant is null || V2Scopes.Covers(caller.Grant, key, image, "pull");

    /// <summary>
    /// Whether the caller's registry token, if one was used, lets a catalog name the image: a token
    /// granted the catalog (<see cref="V2Scopes.Catalog"/>, which the catalog's challenge asks for)
    /// names every image its holder may read, another one the images it may pull.
    /// </summary>
    public bool TokenMayList(string key, string image) =>
        caller.Grant is null || V2Scopes.CoversCatalog(caller.Grant) || V2Scopes.Covers(caller.Grant, key, image, "pull");

    /// <summary>The <c>from</c> image of a mount request, as the client names it; null when absent or outside the name grammar.</summary>
    public static string? MountSource(HttpContext context)
    {
        var query = context.Request.Query;
        return query.ContainsKey("mount") && query["from"].ToString() is { Length: > 0 } from && V2Name.IsValidName(from) ? from : null;
    }
}
