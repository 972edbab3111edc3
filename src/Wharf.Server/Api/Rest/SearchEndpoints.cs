using Microsoft.Extensions.Options;
using Wharf.Core.Metadata;
using Wharf.Core.Security;
using Wharf.Core.Tree;
using Wharf.Server.Hosting;
using Wharf.Server.Http;

namespace Wharf.Server.Api.Rest;

/// <summary>Property search and quick search (rest-api §5.1, §5.2), filtered by read permission.</summary>
internal static class SearchEndpoints
{
    /// <summary>Rows fetched per query while filtering by permission.</summary>
    internal const int Page = 500;

    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var prefix in new[] { "/artifactory/api/search", "/api/search" })
        {
            // The query is read (and a malformed one answered 400) before credentials are looked at.
            app.MapGet(prefix + "/prop", RunAsync).AddEndpointFilter(PropertyQuery).WithRestGate(RestRequirement.Anyone);
            app.MapGet(prefix + "/artifact", RunAsync).AddEndpointFilter(NameQuery).WithRestGate(RestRequirement.Anyone);
        }
    }

    private static Task<IResult> RunAsync(HttpContext context, SearchService search, CancellationToken cancellationToken) =>
        search.RunAsync(context, RestCall.Of(context).Caller, Gates.Get<SearchQuery>(context), cancellationToken);

    /// <summary>Property search: every parameter but <c>repos</c> is a key, its values alternatives (wildcards allowed).</summary>
    private static ValueTask<object?> PropertyQuery(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var criteria = new List<PropertyCriterion>();
        foreach (var (key, values) in invocation.HttpContext.Request.Query)
        {
            if (key == "repos")
            {
                continue;
            }

            if (PropertyString.ValidateKey(key) is { } problem)
            {
                return ValueTask.FromResult<object?>(RestErrors.BadRequest(problem));
            }

            var all = values.SelectMany(v => PropertyString.SplitValues(v ?? "")).Where(v => v.Length > 0).Distinct(StringComparer.Ordinal).ToList();
            criteria.Add(new PropertyCriterion(key, all));
        }

        if (criteria.Count == 0)
        {
            return ValueTask.FromResult<object?>(RestErrors.BadRequest("Give at least one property to search for, e.g. ?docker.repoName=library/ubuntu."));
        }

        invocation.HttpContext.Features.Set(new SearchQuery("application/vnd.org.jfrog.artifactory.search.MetadataSearchResult+json",
            (tree, repos, after, ct) => tree.SearchByPropertiesAsync(criteria, repos, after, Page, ct)));
        return next(invocation);
    }

    /// <summary>Quick search by file name (wildcards allowed).</summary>
    private static ValueTask<object?> NameQuery(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var name = invocation.HttpContext.Request.Query["name"].ToString();
        if (name.Length == 0 || name.Length > 255)
        {
            return ValueTask.FromResult<object?>(RestErrors.BadRequest("Parameter 'name' (1 to 255 characters, wildcards * and ?) is required."));
        }

        invocation.HttpContext.Features.Set(new SearchQuery("application/vnd.org.jfrog.artifactory.search.ArtifactSearchResult+json",
            (tree, repos, after, ct) => tree.SearchByNameAsync(name, repos, after, Page, ct)));
        return next(invocation);
    }
}

/// <summary>One page of a tree search after <paramref name="afterId"/>, in the given repositories (all when null).</summary>
internal delegate Task<IReadOnlyList<(long Id, TreeItem Item)>> TreeQuery(ITreeRecords tree, IReadOnlyCollection<string>? repos, long afterId, CancellationToken cancellationToken);

/// <summary>A search as its query parameters define it: the tree query, and the content type of its result.</summary>
internal sealed record SearchQuery(string ContentType, TreeQuery Run);

/// <summary>Runs a search query page by page, keeping the hits the caller may read, up to the configured maximum.</summary>
internal sealed class SearchService(IMetadataStore store, AccessPolicy policy, UrlBuilder urls, IOptions<WharfOptions> options)
{
    public async Task<IResult> RunAsync(HttpContext context, Principal caller, SearchQuery search, CancellationToken cancellationToken)
    {
        var contentType = search.ContentType;
        await using var session = await store.OpenAsync(cancellationToken);
        var repositories = (await session.Repositories.ListAsync(cancellationToken)).ToDictionary(r => r.Key, StringComparer.OrdinalIgnoreCase);
        var reposParameter = context.Request.Query["repos"].ToString();
        IReadOnlyCollection<string>? repos = null;
        if (reposParameter.Length > 0)
        {
            repos = [.. reposParameter.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(k => repositories.TryGetValue(k, out var r) ? r.Key : null).OfType<string>()];
            if (repos.Count == 0)
            {
                return Results.Json(new { results = Array.Empty<object>() }, contentType: contentType);
            }
        }

        var max = options.Value.Search.MaxResults;
        var hits = new List<(TreeItem Item, RepositoryConfig Repository)>();
        long after = 0;
        while (hits.Count < max)
        {
            var page = await search.Run(session.Tree, repos, after, cancellationToken);
            foreach (var (id, item) in page)
            {
                after = id;

                // A hit is read for what it carries (name, properties), so a folder counts only
                // where a pattern covers it, not where browsing merely passes through it.
                if (hits.Count < max && repositories.TryGetValue(item.Repo, out var repository)
                    && await policy.AllowsAsync(caller, repository, item.Path, isFolder: false, AccessActions.Read, cancellationToken))
                {
                    hits.Add((item, repository));
                }
            }

            // A short page is the last one: asking again would only rescan what the query just passed.
            if (page.Count < SearchEndpoints.Page)
            {
                break;
            }
        }

        var detail = context.Request.Headers["X-Result-Detail"].ToString();
        var withInfo = detail.Contains("info", StringComparison.OrdinalIgnoreCase);
        var withProperties = detail.Contains("properties", StringComparison.OrdinalIgnoreCase);
        var links = urls.Rest(context.Request);
        var results = new List<Dictionary<string, object?>>();
        foreach (var (item, repository) in hits)
        {
            var hit = new Dictionary<string, object?> { ["uri"] = links.Storage(repository.Key, item.Path) };
            if (withInfo)
            {
                hit["repo"] = repository.Key;
                hit["path"] = "/" + item.Path;
                hit["created"] = WireTime.Iso(item.Created);
                hit["createdBy"] = item.CreatedBy;
                hit["lastModified"] = WireTime.Iso(item.Modified);
                hit["modifiedBy"] = item.ModifiedBy;
                if (!item.IsFolder)
                {
                    hit["downloadUri"] = links.Download(repository.Key, item.Path);
                    hit["size"] = item.Size.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    hit["mimeType"] = item.MimeType;
                    hit["checksums"] = new Dictionary<string, string> { ["sha256"] = item.Sha256! };
                }
            }

            if (withProperties)
            {
                hit["properties"] = await session.Tree.GetPropertiesAsync(repository.Key, item.Path, cancellationToken);
            }

            results.Add(hit);
        }

        return Results.Json(new { results }, contentType: contentType);
    }
}
