using Wharf.Core.Metadata;

namespace Wharf.Core.Docker.V1;

/// <summary><c>docker search</c> (§6.6).</summary>
internal sealed class V1Search(IMetadataStore store)
{
    /// <summary>
    /// Every V1 repository of <paramref name="repo"/> with its description (the
    /// <c>docker.description</c> property of its index), ordered by name (ordinal). Read from the
    /// property index, as property search is.
    /// </summary>
    public async Task<IReadOnlyList<V1SearchHit>> ListRepositoriesAsync(string repo, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        var descriptions = (await session.Tree.ListPropertyValuesAsync(repo, DockerProperties.Description, cancellationToken))
            .GroupBy(d => d.Path, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Value, StringComparer.Ordinal);
        return [.. (await session.Tree.ListPropertyValuesAsync(repo, DockerProperties.RepoName, cancellationToken))
            .Where(p => V1Layout.RepositoryOfIndex(p.Path) is not null)
            .Select(p => new V1SearchHit(V1Layout.RepositoryOfIndex(p.Path)!.FullName, descriptions.GetValueOrDefault(p.Path, "")))
            .DistinctBy(h => h.Name, StringComparer.Ordinal)
            .OrderBy(h => h.Name, StringComparer.Ordinal)];
    }

    /// <summary>Search of §6.6: case-insensitive substring of the full name or the description; paging by n and page.</summary>
    public static V1SearchPage Search(IReadOnlyList<V1SearchHit> readable, string query, int? pageSize, int? page)
    {
        var size = Math.Clamp(pageSize ?? 25, 1, 100);
        var number = Math.Max(page ?? 1, 1);
        var matches = readable.Where(n => n.Name.Contains(query, StringComparison.OrdinalIgnoreCase) || n.Description.Contains(query, StringComparison.OrdinalIgnoreCase)).ToList();
        var results = matches.Skip((int)Math.Min((long)(number - 1) * size, int.MaxValue)).Take(size).ToList();
        return new V1SearchPage(matches.Count, number, size, results);
    }
}
