using System.Text.Json;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Security;
using Wharf.Core.Storage;
using Wharf.Core.Tree;

namespace Wharf.Core.Docker.V1;

/// <summary>A repository's tags (§6.5): list, read, set (with the repository's unique-tag limit) and delete.</summary>
internal sealed class V1Tags(IMetadataStore store, ContentStore content, TimeProvider time)
{
    private const string LatestTag = "latest";

    /// <summary>Tag → image id of the tags whose tag file the caller may read; null when the repository is unknown.</summary>
    public async Task<IReadOnlyList<(string Tag, string ImageId)>?> ListTagsAsync(string repo, V1RepositoryName name, ItemAccess access, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        return await V1Reads.ReadReadableTagsAsync(session, repo, name, access, cancellationToken);
    }

    /// <summary>The image a tag names, when the caller may read the tag file; null otherwise.</summary>
    public async Task<string?> GetTagAsync(string repo, V1RepositoryName name, string tag, ItemAccess access, CancellationToken cancellationToken)
    {
        if (!V1Reads.IsStorableTag(tag) || !await access(V1Layout.Tag(name, tag), AccessActions.Read))
        {
            return null;
        }

        await using var session = await store.OpenAsync(cancellationToken);
        return await V1Reads.ReadTagAsync(session, repo, name, tag, cancellationToken);
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
        if (!V1Reads.IsStorableTag(tag))
        {
            return V1Outcome.InvalidTag;
        }

        if (!ImageId.IsValid(imageId))
        {
            return V1Outcome.ImageNotFound;
        }

        var tagContent = await content.PutBytesAsync(JsonSerializer.SerializeToUtf8Bytes(imageId, V1Writes.Compact), cancellationToken);
        var emptyIndex = await V1Writes.WriteIndexBlobAsync(content, [], cancellationToken);
        await using var tx = await store.BeginAsync(cancellationToken);
        if (!await V1Reads.IsCompleteAsync(tx, repo, imageId, cancellationToken))
        {
            return V1Outcome.ImageNotFound;
        }

        if (!await access(V1Layout.Tag(name, tag), AccessActions.Deploy)
            || (await V1Reads.ReadTagAsync(tx, repo, name, tag, cancellationToken) is { } previous && previous != imageId && !await access(V1Layout.Tag(name, tag), AccessActions.Delete))
            || !await V1Reads.MayReadChainAsync(tx, repo, imageId, access, cancellationToken))
        {
            return V1Outcome.Denied;
        }

        if (!await V1Reads.IndexExistsAsync(tx, repo, name, cancellationToken))
        {
            // The first tag of a repository creates its index, which is written like any file.
            if (!await access(V1Layout.Index(name), AccessActions.Deploy))
            {
                return V1Outcome.Denied;
            }

            if (!await V1Writes.PutIndexAsync(tx, time, repo, name, emptyIndex, user, cancellationToken))
            {
                return V1Outcome.PathBlocked;
            }
        }

        var properties = new Dictionary<string, IReadOnlyList<string>>
        {
            [DockerProperties.TagName] = [tag],
            [DockerProperties.TagContent] = [imageId],
        };
        if (!await tx.Tree.TryPutFileAsync(repo, new NewFile(V1Layout.Tag(name, tag), tagContent.Sha256, tagContent.Size, V1Writes.JsonMime, properties), user, time.GetUtcNow(), cancellationToken))
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

                await V1Writes.DeleteTagFileAsync(tx, repo, oldest.Path, cancellationToken);
            }
        }

        await tx.CommitAsync(cancellationToken);
        return V1Outcome.Ok;
    }

    /// <summary>Deletes a tag; one the caller may not read is not found, one it may not delete is denied.</summary>
    public async Task<V1Outcome> DeleteTagAsync(string repo, V1RepositoryName name, string tag, ItemAccess access, CancellationToken cancellationToken)
    {
        if (!V1Reads.IsStorableTag(tag) || !await access(V1Layout.Tag(name, tag), AccessActions.Read))
        {
            return V1Outcome.TagNotFound;
        }

        await using var tx = await store.BeginAsync(cancellationToken);
        if (await V1Reads.ReadTagAsync(tx, repo, name, tag, cancellationToken) is null)
        {
            return V1Outcome.TagNotFound;
        }

        if (!await access(V1Layout.Tag(name, tag), AccessActions.Delete))
        {
            return V1Outcome.Denied;
        }

        await V1Writes.DeleteTagFileAsync(tx, repo, V1Layout.Tag(name, tag), cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return V1Outcome.Ok;
    }
}
