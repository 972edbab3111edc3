using Microsoft.Extensions.Options;
using Wharf.Core.Repositories;
using Wharf.Core.Security;
using Wharf.Core.Tree;
using Wharf.Server.Auth;
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
            app.MapGet(prefix + "/prop", PropertySearchAsync);
            app.MapGet(prefix + "/artifact", QuickSearchAsync);
        }
    }

    private static Task<IResult> PropertySearchAsync(HttpContext context, SearchContext search, CancellationToken cancellationToken)
    {
        var criteria = new List<PropertyCriterion>();
        foreach (var (key, values) in context.Request.Query)
        {
            if (key == "repos")
            {
                continue;
            }

            if (PropertyString.ValidateKey(key) is { } problem)
            {
                return Task.FromResult(RestErrors.BadRequest(problem));
            }

            var all = values.SelectMany(v => PropertyString.SplitValues(v ?? "")).Where(v => v.Length > 0).Distinct(StringComparer.Ordinal).ToList();
            criteria.Add(new PropertyCriterion(key, all));
        }

        if (criteria.Count == 0)
        {
            return Task.FromResult(RestErrors.BadRequest("Give at least one property to search for, e.g. ?docker.repoName=library/ubuntu."));
        }

        return search.RunAsync(context, "application/vnd.org.jfrog.artifactory.search.MetadataSearchResult+json",
            (tree, repos, after, ct) => tree.SearchByPropertiesAsync(criteria, repos, after, Page, ct), cancellationToken);
    }

    private static Task<IResult> QuickSearchAsync(HttpContext context, SearchContext search, CancellationToken cancellationToken)
    {
        var name = context.Request.Query["name"].ToString();
        if (name.Length == 0 || name.Length > 255)
        {
            return Task.FromResult(RestErrors.BadRequest("Parameter 'name' (1 to 255 characters, wildcards * and ?) is required."));
        }

        return search.RunAsync(context, "application/vnd.org.jfrog.artifactory.search.ArtifactSearchResult+json",
            (tree, repos, after, ct) => tree.SearchByNameAsync(name, repos, after, Page, ct), cancellationToken);
    }
}

/// <summary>Runs a search query page by page, keeping the hits the caller may read, up to the configured maximum.</summary>
internal sealed class SearchContext(IMetadataStore store, RestAuthenticator authenticator, AccessPolicy policy, PublicUrls urls, IOptions<WharfOptions> options)
{
    public delegate Task<IReadOnlyList<(long Id, TreeItem Item)>> Query(ITreeRecords tree, IReadOnlyCollection<string>? repos, long afterId, CancellationToken cancellationToken);

    public async Task<IResult> RunAsync(HttpContext context, string contentType, Query query, CancellationToken cancellationToken)
    {
        var caller = await authenticator.AuthenticateAsync(context.Request, cancellationToken);
        if (caller is null)
        {
            return RestErrors.Unauthorized();
        }

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
            var page = await query(session.Tree, repos, after, cancellationToken);
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
        var baseUrl = urls.BaseUrl(context.Request);
        var results = new List<Dictionary<string, object?>>();
        foreach (var (item, repository) in hits)
        {
            var hit = new Dictionary<string, object?> { ["uri"] = $"{baseUrl}/api/storage/{repository.Key}/{item.Path}" };
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
                    hit["downloadUri"] = $"{baseUrl}/{repository.Key}/{item.Path}";
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
