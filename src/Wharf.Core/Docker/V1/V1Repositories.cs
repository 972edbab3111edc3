using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Security;
using Wharf.Core.Storage;
using Wharf.Core.Tree;

namespace Wharf.Core.Docker.V1;

/// <summary>
/// A repository's index (§6.5: the image list a push announces and a pull starts from): announced,
/// read, checked for what a token covers, and deleted with the repository's tags.
/// </summary>
internal sealed class V1Repositories(IMetadataStore store, ContentStore content, TimeProvider time, CleanupSettings cleanup)
{
    /// <summary>Push start: creates the repository if needed and merges the announced ids into its index; PathBlocked when an item is in the index's way.</summary>
    public async Task<V1Outcome> AnnounceAsync(string repo, V1RepositoryName name, IReadOnlyList<string> imageIds, string user, CancellationToken cancellationToken)
    {
        // Optimistic: merge and write the new index blob outside the write lock (blobs are fsync'd),
        // then commit only if nobody changed the index meanwhile; otherwise merge again.
        while (true)
        {
            TreeItem? before;
            IReadOnlyList<string> existing;
            await using (var session = await store.OpenAsync(cancellationToken))
            {
                before = await session.Tree.GetAsync(repo, V1Layout.Index(name), cancellationToken);
                existing = await V1Reads.ReadIndexAsync(session, repo, name, cancellationToken) ?? [];
            }

            var known = new HashSet<string>(existing, StringComparer.Ordinal);
            var merged = existing.Concat(imageIds.Where(known.Add)).ToList();
            if (before is not null && merged.Count == existing.Count)
            {
                await KeepIndexRecentAsync(repo, name, before, user, cancellationToken);
                return V1Outcome.Ok;
            }

            var blob = await V1Writes.WriteIndexBlobAsync(content, merged, cancellationToken);
            await using var tx = await store.BeginAsync(cancellationToken);
            if ((await tx.Tree.GetAsync(repo, V1Layout.Index(name), cancellationToken))?.Sha256 != before?.Sha256)
            {
                continue;
            }

            if (!await V1Writes.PutIndexAsync(tx, time, repo, name, blob, user, cancellationToken))
            {
                return V1Outcome.PathBlocked;
            }

            await tx.CommitAsync(cancellationToken);
            return V1Outcome.Ok;
        }
    }

    /// <summary>
    /// A push start marks the index as recently used, so the images it lists (which the push may
    /// skip uploading because they exist) are not collected before its tags arrive. Touching once
    /// per quarter grace period keeps this off most pushes' write path.
    /// </summary>
    private async Task KeepIndexRecentAsync(string repo, V1RepositoryName name, TreeItem index, string user, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (index.Modified > now - (cleanup.GracePeriod / 4))
        {
            return;
        }

        await using var tx = await store.BeginAsync(cancellationToken);
        await tx.Tree.TouchAsync(repo, V1Layout.Index(name), user, now, cancellationToken);
        await tx.CommitAsync(cancellationToken);
    }

    /// <summary>The repository's index image list; null when the repository is unknown.</summary>
    public async Task<IReadOnlyList<string>?> GetIndexAsync(string repo, V1RepositoryName name, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        return await V1Reads.ReadIndexAsync(session, repo, name, cancellationToken);
    }

    /// <summary>
    /// Whether a V1 token for <paramref name="name"/> covers <paramref name="imageId"/> (§5.3): the id
    /// is in the index list or, for read tokens, in the ancestry of one of the repository's tags.
    /// </summary>
    public async Task<bool> RepositoryReachesImageAsync(string repo, V1RepositoryName name, string imageId, bool includeTagAncestry, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        var index = await V1Reads.ReadIndexAsync(session, repo, name, cancellationToken);
        if (index is null)
        {
            return false;
        }

        if (index.Contains(imageId, StringComparer.Ordinal))
        {
            return true;
        }

        if (!includeTagAncestry)
        {
            return false;
        }

        foreach (var (_, tagged) in await V1Reads.ReadTagsAsync(session, repo, name, cancellationToken))
        {
            var ancestry = await V1Reads.ReadCompleteAncestryAsync(session, repo, tagged, cancellationToken);
            if (ancestry is not null && ancestry.Contains(imageId, StringComparer.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether the caller may read the repository at its own depth, as search lists it: its folder
    /// itself (a pattern covering it, not only a path below it), its index or one of its tags.
    /// </summary>
    public async Task<bool> IsReadableAsync(string repo, V1RepositoryName name, ItemAccess access, CancellationToken cancellationToken)
    {
        if (await access(V1Layout.RepositoryFolder(name), AccessActions.Read) || await access(V1Layout.Index(name), AccessActions.Read))
        {
            return true;
        }

        await using var session = await store.OpenAsync(cancellationToken);
        return await V1Reads.ReadReadableTagsAsync(session, repo, name, access, cancellationToken) is { Count: > 0 };
    }

    /// <summary>
    /// Deletes every tag and the index of a repository (§6.5.6). Images stay: they may be shared.
    /// A tag folder can also hold a nested repository (tag <c>v2</c> of <c>acme/web</c> and the
    /// repository <c>acme/web/v2</c> share <c>repositories/acme/web/v2/</c>), so only tag files are
    /// deleted and a folder goes only when nothing is left in it. The caller must be able to delete
    /// each of those files, or nothing is deleted.
    /// </summary>
    public async Task<V1Outcome> DeleteRepositoryAsync(string repo, V1RepositoryName name, ItemAccess access, CancellationToken cancellationToken)
    {
        await using var tx = await store.BeginAsync(cancellationToken);
        if (!await V1Reads.IndexExistsAsync(tx, repo, name, cancellationToken))
        {
            return V1Outcome.RepositoryNotFound;
        }

        var folder = V1Layout.RepositoryFolder(name);
        var tagFiles = await tx.Tree.ListGrandChildrenNamedAsync(repo, folder, V1Layout.TagFile, cancellationToken);
        foreach (var path in tagFiles.Select(f => f.Path).Append(V1Layout.Index(name)))
        {
            if (!await access(path, AccessActions.Delete))
            {
                return V1Outcome.Denied;
            }
        }

        foreach (var tagFile in tagFiles)
        {
            await V1Writes.DeleteTagFileAsync(tx, repo, tagFile.Path, cancellationToken);
        }

        await tx.Tree.DeleteAsync(repo, V1Layout.Index(name), cancellationToken);
        await V1Writes.DeleteFolderIfEmptyAsync(tx, repo, folder, cancellationToken);

        await tx.CommitAsync(cancellationToken);
        return V1Outcome.Ok;
    }
}
