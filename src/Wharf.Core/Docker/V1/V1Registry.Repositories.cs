using System.Text.Json;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Security;
using Wharf.Core.Tree;

namespace Wharf.Core.Docker.V1;

/// <summary>A repository's index (§6.5: the image list a push announces and a pull starts from) and its tags.</summary>
internal sealed partial class V1Registry
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
                existing = await ReadIndexAsync(session, repo, name, cancellationToken) ?? [];
            }

            var known = new HashSet<string>(existing, StringComparer.Ordinal);
            var merged = existing.Concat(imageIds.Where(known.Add)).ToList();
            if (before is not null && merged.Count == existing.Count)
            {
                await KeepIndexRecentAsync(repo, name, before, user, cancellationToken);
                return V1Outcome.Ok;
            }

            var blob = await WriteIndexBlobAsync(merged, cancellationToken);
            await using var tx = await store.BeginAsync(cancellationToken);
            if ((await tx.Tree.GetAsync(repo, V1Layout.Index(name), cancellationToken))?.Sha256 != before?.Sha256)
            {
                continue;
            }

            if (!await PutIndexAsync(tx, repo, name, blob, user, cancellationToken))
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
        return await ReadIndexAsync(session, repo, name, cancellationToken);
    }

    /// <summary>
    /// Whether a V1 token for <paramref name="name"/> covers <paramref name="imageId"/> (§5.3): the id
    /// is in the index list or, for read tokens, in the ancestry of one of the repository's tags.
    /// </summary>
    public async Task<bool> RepositoryReachesImageAsync(string repo, V1RepositoryName name, string imageId, bool includeTagAncestry, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        var index = await ReadIndexAsync(session, repo, name, cancellationToken);
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

        foreach (var (_, tagged) in await ReadTagsAsync(session, repo, name, cancellationToken))
        {
            var ancestry = await ReadCompleteAncestryAsync(session, repo, tagged, cancellationToken);
            if (ancestry is not null && ancestry.Contains(imageId, StringComparer.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Tag → image id of the tags whose tag file the caller may read; null when the repository is unknown.</summary>
    public async Task<IReadOnlyList<(string Tag, string ImageId)>?> ListTagsAsync(string repo, V1RepositoryName name, ItemAccess access, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        if (!await IndexExistsAsync(session, repo, name, cancellationToken))
        {
            return null;
        }

        var readable = new List<(string Tag, string ImageId)>();
        foreach (var (tag, imageId) in await ReadTagsAsync(session, repo, name, cancellationToken))
        {
            if (await access(V1Layout.Tag(name, tag), AccessActions.Read))
            {
                readable.Add((tag, imageId));
            }
        }

        return readable;
    }

    /// <summary>
    /// Whether the caller may read the repository at its own depth, as search lists it: its folder
    /// itself (a pattern covering it, not only a path below it), its index or one of its tags.
    /// </summary>
    public async Task<bool> IsReadableAsync(string repo, V1RepositoryName name, ItemAccess access, CancellationToken cancellationToken) =>
        await access(V1Layout.RepositoryFolder(name), AccessActions.Read)
        || await access(V1Layout.Index(name), AccessActions.Read)
        || await ListTagsAsync(repo, name, access, cancellationToken) is { Count: > 0 };

    /// <summary>The image a tag names, when the caller may read the tag file; null otherwise.</summary>
    public async Task<string?> GetTagAsync(string repo, V1RepositoryName name, string tag, ItemAccess access, CancellationToken cancellationToken)
    {
        if (!IsStorableTag(tag) || !await access(V1Layout.Tag(name, tag), AccessActions.Read))
        {
            return null;
        }

        await using var session = await store.OpenAsync(cancellationToken);
        return await ReadTagAsync(session, repo, name, tag, cancellationToken);
    }

    /// <summary>
    /// Sets a tag. The caller must be able to deploy the tag file, to delete it when the tag names
    /// another image now (rest-api §6.3: overwriting is deleting), and to read every file of every
    /// image of the new image's ancestry: a tag must not carry an image out of the caller's reach.
    /// With <paramref name="maxUniqueTags"/> above zero, a new tag beyond the limit removes the
    /// repository's oldest tags (by creation), never <c>latest</c> nor the tag just set; the caller
    /// needs delete on them too. The first tag of a repository needs deploy on its new index.
    /// </summary>
    public async Task<V1Outcome> PutTagAsync(string repo, V1RepositoryName name, string tag, string imageId, string user, ItemAccess access, CancellationToken cancellationToken, int maxUniqueTags = 0)
    {
        if (!IsStorableTag(tag))
        {
            return V1Outcome.InvalidTag;
        }

        if (!ImageId.IsValid(imageId))
        {
            return V1Outcome.ImageNotFound;
        }

        var tagContent = await content.PutBytesAsync(JsonSerializer.SerializeToUtf8Bytes(imageId, Compact), cancellationToken);
        var emptyIndex = await WriteIndexBlobAsync([], cancellationToken);
        await using var tx = await store.BeginAsync(cancellationToken);
        if (!await IsCompleteAsync(tx, repo, imageId, cancellationToken))
        {
            return V1Outcome.ImageNotFound;
        }

        if (!await access(V1Layout.Tag(name, tag), AccessActions.Deploy)
            || (await ReadTagAsync(tx, repo, name, tag, cancellationToken) is { } previous && previous != imageId && !await access(V1Layout.Tag(name, tag), AccessActions.Delete))
            || !await MayReadChainAsync(tx, repo, imageId, access, cancellationToken))
        {
            return V1Outcome.Denied;
        }

        if (!await IndexExistsAsync(tx, repo, name, cancellationToken))
        {
            // The first tag of a repository creates its index, which is written like any file.
            if (!await access(V1Layout.Index(name), AccessActions.Deploy))
            {
                return V1Outcome.Denied;
            }

            if (!await PutIndexAsync(tx, repo, name, emptyIndex, user, cancellationToken))
            {
                return V1Outcome.PathBlocked;
            }
        }

        var properties = new Dictionary<string, IReadOnlyList<string>>
        {
            [DockerProperties.TagName] = [tag],
            [DockerProperties.TagContent] = [imageId],
        };
        if (!await tx.Tree.TryPutFileAsync(repo, new NewFile(V1Layout.Tag(name, tag), tagContent.Sha256, tagContent.Size, JsonMime, properties), user, time.GetUtcNow(), cancellationToken))
        {
            return V1Outcome.PathBlocked;
        }

        if (maxUniqueTags > 0)
        {
            var tagFiles = await tx.Tree.ListGrandChildrenNamedAsync(repo, V1Layout.RepositoryFolder(name), V1Layout.TagFile, cancellationToken);
            var excess = tagFiles.Count - maxUniqueTags;
            foreach (var oldest in tagFiles
                .Where(f => ItemPath.Name(ItemPath.Parent(f.Path)) is var t && t != tag && t != LatestTag)
                .OrderBy(f => f.Created).ThenBy(f => f.Path, StringComparer.Ordinal)
                .Take(Math.Max(excess, 0)))
            {
                // The pusher causes the drop, so it needs delete there as by hand (nothing changes otherwise).
                if (!await access(oldest.Path, AccessActions.Delete))
                {
                    return V1Outcome.Denied;
                }

                await DeleteTagFileAsync(tx, repo, oldest.Path, cancellationToken);
            }
        }

        await tx.CommitAsync(cancellationToken);
        return V1Outcome.Ok;
    }

    /// <summary>Deletes a tag; one the caller may not read is not found, one it may not delete is denied.</summary>
    public async Task<V1Outcome> DeleteTagAsync(string repo, V1RepositoryName name, string tag, ItemAccess access, CancellationToken cancellationToken)
    {
        if (!IsStorableTag(tag) || !await access(V1Layout.Tag(name, tag), AccessActions.Read))
        {
            return V1Outcome.TagNotFound;
        }

        await using var tx = await store.BeginAsync(cancellationToken);
        if (await ReadTagAsync(tx, repo, name, tag, cancellationToken) is null)
        {
            return V1Outcome.TagNotFound;
        }

        if (!await access(V1Layout.Tag(name, tag), AccessActions.Delete))
        {
            return V1Outcome.Denied;
        }

        await DeleteTagFileAsync(tx, repo, V1Layout.Tag(name, tag), cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return V1Outcome.Ok;
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
        if (!await IndexExistsAsync(tx, repo, name, cancellationToken))
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
            await DeleteTagFileAsync(tx, repo, tagFile.Path, cancellationToken);
        }

        await tx.Tree.DeleteAsync(repo, V1Layout.Index(name), cancellationToken);
        await DeleteFolderIfEmptyAsync(tx, repo, folder, cancellationToken);

        await tx.CommitAsync(cancellationToken);
        return V1Outcome.Ok;
    }
}
