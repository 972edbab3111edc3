using System.Text.RegularExpressions;
using Wharf.Core.Docker.V1;
using Wharf.Core.Metadata;
using Wharf.Server.Auth;

namespace Wharf.Server.Api.V1;

/// <summary>Serves one V1 repository or tag operation for a caller the gate authorized.</summary>
internal delegate Task<IResult> V1Handler(V1Call call, CancellationToken cancellationToken);

/// <summary>
/// A repository or tag operation: what the caller needs on the repository (or below it), which
/// challenge a 401 carries, whether a V1 token may authorize it, and its handler.
/// </summary>
internal sealed record V1RepositoryOperation(AccessActions Needed, V1RouteKind Kind, bool TokenAccepted, V1Handler Handler)
{
    /// <summary>The operation's name in the metrics (<see cref="Telemetry.RegistryOperations"/>).</summary>
    public string Name { get; init; } = "";
}

/// <summary>
/// The repository and tag routes (docker-v1-protocol §2.2.4): names hold slashes, so the path
/// below <c>/repositories/</c> is matched against the patterns of <see cref="V1Routes"/> in order,
/// first match wins, and the method picks the operation.
/// </summary>
internal sealed partial class V1RepositoryOperations
{
    private readonly V1RepositoryOperation _tagJson, _getTag, _putTag, _deleteTag, _tagList, _deleteRepository;
    private readonly V1RepositoryOperation _announce, _pushEnd, _deleteIndex, _pullStart, _repositoryJson;

    public V1RepositoryOperations(V1Repositories repositories, V1Tags tags, V1Tokens tokens, ILogger<V1Gate> logger)
    {
        // Push start and pull start issue tokens: §5.3 lets no token authorize them.
        _announce = new(AccessActions.Deploy, V1RouteKind.Index, false, (c, ct) => V1RepositoryEndpoints.AnnounceAsync(c, repositories, tokens, ct)) { Name = "repository_put" };
        _pullStart = new(AccessActions.Read, V1RouteKind.Index, false, (c, ct) => V1RepositoryEndpoints.PullStartAsync(c, repositories, tokens, ct)) { Name = "images_get" };
        _pushEnd = new(AccessActions.Deploy, V1RouteKind.Index, true, (c, ct) => V1RepositoryEndpoints.PushEndAsync(c, repositories, ct)) { Name = "images_put" };
        _deleteIndex = new(AccessActions.Delete, V1RouteKind.Index, true, (c, _) => V1RepositoryEndpoints.DeleteIndexAsync(c)) { Name = "images_delete" };
        _tagList = new(AccessActions.Read, V1RouteKind.Registry, true, (c, ct) => V1RepositoryEndpoints.TagListAsync(c, tags, ct)) { Name = "tags_get" };
        _tagJson = new(AccessActions.Read, V1RouteKind.Registry, true, (c, ct) => V1RepositoryEndpoints.GetTagAsync(c, tags, metadataOnly: true, ct)) { Name = "tag_json_get" };
        _getTag = new(AccessActions.Read, V1RouteKind.Registry, true, (c, ct) => V1RepositoryEndpoints.GetTagAsync(c, tags, metadataOnly: false, ct)) { Name = "tag_get" };
        _putTag = new(AccessActions.Deploy, V1RouteKind.Registry, true, (c, ct) => V1RepositoryEndpoints.PutTagAsync(c, tags, logger, ct)) { Name = "tag_put" };
        _deleteTag = new(AccessActions.Delete, V1RouteKind.Registry, true, (c, ct) => V1RepositoryEndpoints.DeleteTagAsync(c, tags, logger, ct)) { Name = "tag_delete" };
        _deleteRepository = new(AccessActions.Delete, V1RouteKind.Registry, true, (c, ct) => V1RepositoryEndpoints.DeleteRepositoryAsync(c, repositories, logger, ct)) { Name = "repository_delete" };
        _repositoryJson = new(AccessActions.Read, V1RouteKind.Registry, true, (c, ct) => V1RepositoryEndpoints.RepositoryJsonAsync(c, tags, ct)) { Name = "repository_json_get" };
    }

    /// <summary>The operation of a repository route, with the raw name and tag it names; null when nothing answers there (a plain 404 of the table).</summary>
    public (V1RepositoryOperation Operation, string RawName, string Tag)? Find(HttpContext context)
    {
        var rest = RepositoryRest(context);
        var method = context.Request.Method;
        bool get = HttpMethods.IsGet(method), put = HttpMethods.IsPut(method), delete = HttpMethods.IsDelete(method);
        Match match;
        if ((match = TagJsonRoute().Match(rest)).Success && get)
        {
            return (_tagJson, match.Groups[1].Value, match.Groups[2].Value);
        }

        if ((match = TagRoute().Match(rest)).Success)
        {
            return (get ? _getTag : delete ? _deleteTag : _putTag, match.Groups[1].Value, match.Groups[2].Value);
        }

        if ((match = TagsRoute().Match(rest)).Success)
        {
            return (delete ? _deleteRepository : _tagList, match.Groups[1].Value, "");
        }

        if ((match = ImagesRoute().Match(rest)).Success)
        {
            return (put ? _pushEnd : delete ? _deleteIndex : _pullStart, match.Groups[1].Value, "");
        }

        if ((match = RepositoryJsonRoute().Match(rest)).Success && get)
        {
            return (_repositoryJson, match.Groups[1].Value, "");
        }

        var self = RepositoryRoute().Match(rest).Groups[1].Value;
        return put ? (_announce, self, "") : delete ? (_deleteRepository, self, "") : null;
    }

    /// <summary>
    /// The path after the prefix's <c>/v1/repositories/</c>. Keys cannot hold a slash and cannot be
    /// <c>v1</c>, so the first occurrence is the prefix's even for a key named <c>repositories</c>.
    /// </summary>
    private static string RepositoryRest(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        var index = path.IndexOf(V1Routes.RepositoriesMarker, StringComparison.Ordinal);
        return index < 0 ? "" : path[(index + V1Routes.RepositoriesMarker.Length)..];
    }

    /// <summary><see cref="V1Routes.TagJson"/></summary>
    [GeneratedRegex(@"^(.+)/tags/([^/]+)/json$")]
    private static partial Regex TagJsonRoute();

    /// <summary><see cref="V1Routes.Tag"/></summary>
    [GeneratedRegex(@"^(.+)/tags/([^/]+)$")]
    private static partial Regex TagRoute();

    /// <summary><see cref="V1Routes.Tags"/></summary>
    [GeneratedRegex(@"^(.+)/tags$")]
    private static partial Regex TagsRoute();

    /// <summary><see cref="V1Routes.Images"/></summary>
    [GeneratedRegex(@"^(.+)/images$")]
    private static partial Regex ImagesRoute();

    /// <summary><see cref="V1Routes.RepositoryJson"/></summary>
    [GeneratedRegex(@"^(.+)/json$")]
    private static partial Regex RepositoryJsonRoute();

    /// <summary><see cref="V1Routes.Repository"/> (the trailing slash optional)</summary>
    [GeneratedRegex(@"^(.+?)/?$")]
    private static partial Regex RepositoryRoute();
}
