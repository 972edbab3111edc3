using Wharf.Core.Lifecycle;
using Wharf.Core.Naming;
using Wharf.Core.Tree;
using Wharf.Server.Hosting;

namespace Wharf.Server.Api.Rest;

/// <summary>The write side of the storage API: properties (rest-api §4.3), delete and deploy (§4.5), copy and move (§4.6).</summary>
internal static class StorageWriteEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var prefix in new[] { "/artifactory/api", "/api" })
        {
            app.MapPut(prefix + "/storage/{repoKey}/{**path}", SetPropertiesAsync)
                .RequireQuery("properties", "Only '?properties=' updates are supported on the storage API; deploy with PUT /artifactory/{repoKey}/{path}.")
                .WithRestGate(RestRequirement.Storage());
            app.MapDelete(prefix + "/storage/{repoKey}/{**path}", DeletePropertiesAsync)
                .RequireQuery("properties", "Name the properties to delete with '?properties=a,b'; delete items with DELETE /artifactory/{repoKey}/{path}.")
                .WithRestGate(RestRequirement.Storage());
            app.MapPost(prefix + "/copy/{repoKey}/{**path}", (HttpContext c, RepositoryLookup r, TreeOperations o, CancellationToken ct) => CopyOrMoveAsync(c, move: false, r, o, ct))
                .WithRestGate(RestRequirement.Storage());
            app.MapPost(prefix + "/move/{repoKey}/{**path}", (HttpContext c, RepositoryLookup r, TreeOperations o, CancellationToken ct) => CopyOrMoveAsync(c, move: true, r, o, ct))
                .WithRestGate(RestRequirement.Storage());
        }

        app.MapDelete("/artifactory/{repoKey}/{**path}", DeleteAsync).WithRestGate(RestRequirement.Storage());

        app.MapPut("/artifactory/{repoKey}/{**path}", Deploy).WithRestGate(RestRequirement.Storage(root: true));
    }

    private static async Task<IResult> SetPropertiesAsync(HttpContext context, TreeOperations operations, CancellationToken cancellationToken)
    {
        var query = context.Request.Query;
        var target = RestCall.Of(context).Target;
        var (properties, problem) = PropertyString.Parse(query["properties"].ToString());
        if (properties is null)
        {
            return RestErrors.BadRequest(problem!);
        }

        var result = await operations.SetPropertiesAsync(target.Caller, target.Repository, target.Path, properties, query["recursive"] != "0", cancellationToken);
        return result.Succeeded ? Results.NoContent() : RestResults.Failure(result, target.Caller);
    }

    private static async Task<IResult> DeletePropertiesAsync(HttpContext context, TreeOperations operations, CancellationToken cancellationToken)
    {
        var query = context.Request.Query;
        var target = RestCall.Of(context).Target;
        var (keys, problem) = PropertyString.ParseKeys(query["properties"].ToString());
        if (keys is null)
        {
            return RestErrors.BadRequest(problem!);
        }

        var result = await operations.DeletePropertiesAsync(target.Caller, target.Repository, target.Path, keys, query["recursive"] != "0", cancellationToken);
        return result.Succeeded ? Results.NoContent() : RestResults.Failure(result, target.Caller);
    }

    private static async Task<IResult> DeleteAsync(HttpContext context, TreeOperations operations, CancellationToken cancellationToken)
    {
        var target = RestCall.Of(context).Target;
        var result = await operations.DeleteAsync(target.Caller, target.Repository, target.Path, cancellationToken);
        if (!result.Succeeded)
        {
            return RestResults.Failure(result, target.Caller);
        }

        Log.Audit(context, "item.delete", $"{target.Repository.Key}/{target.Path} by {target.Caller.DisplayName}");
        return Results.NoContent();
    }

    /// <summary>Every repository is a Docker repository: content arrives through the registry protocol (rest-api §4.5).</summary>
    private static IResult Deploy(HttpContext context) =>
        RestErrors.Write(405, $"'{RestCall.Of(context).Target.Repository.Key}' is a Docker repository; push with a Docker client (the registry protocol) instead of deploying files.");

    private static async Task<IResult> CopyOrMoveAsync(HttpContext context, bool move, RepositoryLookup repositories, TreeOperations operations, CancellationToken cancellationToken)
    {
        var source = RestCall.Of(context).Target;
        var to = context.Request.Query["to"].ToString();
        var slash = to.TrimStart('/').IndexOf('/', StringComparison.Ordinal);
        var trimmed = to.TrimStart('/');
        var targetKey = slash < 0 ? trimmed : trimmed[..slash];
        if (targetKey.Length == 0 || !ItemPath.TryNormalize(slash < 0 ? "" : trimmed[(slash + 1)..], out var targetPath))
        {
            return RestErrors.BadRequest("Parameter 'to' must name the target as /{repoKey}/{path}.");
        }

        var target = await repositories.FindAsync(targetKey, cancellationToken);
        if (target is null)
        {
            return RestErrors.NotFound($"Repository '{targetKey}' not found.");
        }

        var query = context.Request.Query;
        var result = await operations.CopyOrMoveAsync(
            source.Caller, source.Repository, source.Path, target, targetPath, move, query["dry"] == "1" || query["dry"] == "true", query["failFast"] == "1", cancellationToken);
        if (!result.Request.Succeeded)
        {
            return RestResults.Failure(result.Request, source.Caller);
        }

        if (!result.HasErrors)
        {
            Log.Audit(context, move ? "item.move" : "item.copy", $"{source.Repository.Key}/{source.Path} -> {target.Key}/{targetPath} by {source.Caller.DisplayName}");
        }

        var body = new { messages = result.Messages.Select(m => new { level = m.Level.ToString().ToUpperInvariant(), message = m.Message }) };
        return Results.Json(body, statusCode: result.HasErrors ? 409 : 200, contentType: "application/vnd.org.jfrog.artifactory.storage.CopyOrMoveResult+json");
    }
}
