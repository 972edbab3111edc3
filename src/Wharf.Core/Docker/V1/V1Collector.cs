using Wharf.Core.Metadata;
using Wharf.Core.Naming;

namespace Wharf.Core.Docker.V1;

/// <summary>What the collector keeps and removes of V1 images (rest-api §3.7).</summary>
internal sealed class V1Collector(IMetadataStore store)
{
    /// <summary>
    /// Deletes the <c>.images/&lt;id&gt;/</c> folders of <paramref name="repo"/> that no tag reaches
    /// through its ancestry (rest-api §3.7), except images completed after
    /// <paramref name="olderThan"/> or listed by an index a push start used since then: a push
    /// uploads its images before it tags them.
    /// </summary>
    public async Task<int> RemoveUnreachableImagesAsync(string repo, DateTimeOffset olderThan, CancellationToken cancellationToken)
    {
        await using var tx = await store.BeginAsync(cancellationToken);
        var kept = (await ReachableImagesAsync(tx, repo, new HashSet<string>(), cancellationToken)).Keys.ToHashSet(StringComparer.Ordinal);

        var recentIndexes = (await tx.Tree.ListNamedAsync(repo, V1Layout.IndexFile, cancellationToken)).Where(i => i.Modified >= olderThan).Select(i => i.Path).ToList();
        kept.UnionWith(await tx.V1Index.ListedByIndexesAsync(repo, recentIndexes, cancellationToken));

        var removed = 0;
        foreach (var folder in await tx.Tree.ListChildrenAsync(repo, V1Layout.ImagesRoot, cancellationToken))
        {
            if (folder.IsFolder && folder.Created < olderThan && !kept.Contains(folder.Name))
            {
                await tx.Tree.DeleteAsync(repo, folder.Path, cancellationToken);
                removed++;
            }
        }

        await tx.CommitAsync(cancellationToken);
        return removed;
    }

    /// <summary>
    /// Every image some tag of <paramref name="repo"/> reaches through its ancestry, with one tag
    /// file that reaches it; tag files in <paramref name="ignoredTagFiles"/> do not count.
    /// </summary>
    public static async Task<Dictionary<string, string>> ReachableImagesAsync(IMetadataSession session, string repo, IReadOnlySet<string> ignoredTagFiles, CancellationToken cancellationToken)
    {
        var reachable = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (id, path) in await session.V1Index.ReachableAsync(repo, cancellationToken))
        {
            if (!ignoredTagFiles.Contains(path))
            {
                reachable.TryAdd(id, ItemPath.Parent(path));
            }
        }

        return reachable;
    }
}
