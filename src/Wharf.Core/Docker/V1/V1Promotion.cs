using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Operations;
using Wharf.Core.Security;
using Wharf.Core.Storage;
using Wharf.Core.Tree;

namespace Wharf.Core.Docker.V1;

/// <summary>A promote request (rest-api §3.4), as sent.</summary>
internal sealed record PromoteRequest(string? TargetRepo, string? DockerRepository, string? TargetDockerRepository, string? Tag, string? TargetTag, bool Copy);

/// <summary>Promotion between V1 repositories (rest-api §3.4): tags, their index entries and the images they reach.</summary>
internal sealed class V1Promotion(IMetadataStore store, ContentStore content, TimeProvider time)
{
    /// <summary>
    /// Copies or moves one tag, or every tag, of a V1 repository to another V1 repository key and/or
    /// name (rest-api §3.4): tag files, the merged index and each image of the ancestry chains the
    /// target lacks. Only metadata is written; blobs are shared. One transaction: on any refusal
    /// source and target stay exactly as they were. The caller must be able to read each tag and
    /// every file of every image of its chain, deploy each file written, delete each tag replaced,
    /// and, to move, delete what leaves the source.
    /// </summary>
    public async Task<OperationResult> PromoteAsync(
        RepositoryConfig source, RepositoryConfig target, PromoteRequest request, string user, PathPermission allowed, CancellationToken cancellationToken)
    {
        if (!V1RepositoryName.TryParse(request.DockerRepository, out var sourceName))
        {
            return OperationResult.BadRequest($"'{request.DockerRepository}' is not a valid Docker repository name.");
        }

        var targetName = sourceName;
        if (request.TargetDockerRepository is { } renamed && !V1RepositoryName.TryParse(renamed, out targetName))
        {
            return OperationResult.BadRequest($"'{renamed}' is not a valid Docker repository name.");
        }

        if (request.Tag is { } requestedTag && !V1Reads.IsStorableTag(requestedTag))
        {
            return OperationResult.BadRequest($"'{requestedTag}' is not a valid tag.");
        }

        if (request.TargetTag is { } newTag && (request.Tag is null || !V1Reads.IsStorableTag(newTag)))
        {
            return OperationResult.BadRequest(request.Tag is null ? "targetTag needs tag." : $"'{newTag}' is not a valid tag.");
        }

        if (source.Key.Equals(target.Key, StringComparison.OrdinalIgnoreCase) && sourceName == targetName && (request.TargetTag ?? request.Tag) == request.Tag)
        {
            return OperationResult.BadRequest("Source and target are the same; give another targetRepo, targetDockerRepository or targetTag.");
        }

        var move = !request.Copy;
        await using var tx = await store.BeginAsync(cancellationToken);
        var sourceIndex = await V1Reads.ReadIndexAsync(tx, source.Key, sourceName, cancellationToken);
        if (sourceIndex is null)
        {
            return OperationResult.NotFound($"Docker repository '{sourceName}' not found in '{source.Key}'.");
        }

        // Only the tags the caller may read are there for them, as in a tags list.
        var allTags = await V1Reads.ReadTagsAsync(tx, source.Key, sourceName, cancellationToken);
        var tags = new List<(string Tag, string ImageId)>();
        foreach (var tag in allTags)
        {
            if (await allowed(source, V1Layout.Tag(sourceName, tag.Tag), AccessActions.Read))
            {
                tags.Add(tag);
            }
        }

        if (tags.Count == 0 && allTags.Count > 0)
        {
            return OperationResult.NotFound($"Docker repository '{sourceName}' not found in '{source.Key}'.");
        }

        if (request.Tag is { } onlyTag)
        {
            tags = [.. tags.Where(t => t.Tag == onlyTag)];
            if (tags.Count == 0)
            {
                return OperationResult.NotFound($"Tag '{onlyTag}' of '{sourceName}' not found in '{source.Key}'.");
            }
        }

        var renames = tags.Select(t => (t.Tag, To: request.TargetTag ?? t.Tag, t.ImageId)).ToList();
        ItemAccess readable = (path, actions) => allowed(source, path, actions);
        foreach (var (from, to, imageId) in renames)
        {
            if (!await V1Reads.MayReadChainAsync(tx, source.Key, imageId, readable, cancellationToken))
            {
                return OperationResult.Forbidden($"Reading tag '{from}' of '{sourceName}' in '{source.Key}' and every image it reaches is not permitted.");
            }

            if (!await allowed(target, V1Layout.Tag(targetName, to), AccessActions.Deploy))
            {
                return OperationResult.Forbidden($"Deploying tag '{to}' of '{targetName}' to '{target.Key}' is not permitted.");
            }

            if (await V1Reads.ReadTagAsync(tx, target.Key, targetName, to, cancellationToken) is not null
                && !await allowed(target, V1Layout.Tag(targetName, to), AccessActions.Delete))
            {
                return OperationResult.Forbidden($"Replacing tag '{to}' of '{targetName}' in '{target.Key}' needs delete permission.");
            }

            if (move && !await allowed(source, V1Layout.Tag(sourceName, from), AccessActions.Delete))
            {
                return OperationResult.Forbidden($"Deleting tag '{from}' of '{sourceName}' from '{source.Key}' (needed to move it) is not permitted.");
            }
        }

        // Moving every tag takes the index along, unless tags the caller may not see stay behind.
        var moveIndex = move && request.Tag is null && tags.Count == allTags.Count;
        if (moveIndex && !await allowed(source, V1Layout.Index(sourceName), AccessActions.Delete))
        {
            return OperationResult.Forbidden($"Deleting the index of '{sourceName}' from '{source.Key}' (needed to move it) is not permitted.");
        }

        var now = time.GetUtcNow();
        var images = new List<string>();
        foreach (var (_, _, imageId) in renames)
        {
            foreach (var id in await V1Reads.ReadCompleteAncestryAsync(tx, source.Key, imageId, cancellationToken) ?? [imageId])
            {
                if (!images.Contains(id, StringComparer.Ordinal))
                {
                    images.Add(id);
                }
            }
        }

        if (!source.Key.Equals(target.Key, StringComparison.OrdinalIgnoreCase))
        {
            foreach (var id in images)
            {
                if (await V1Reads.IsCompleteAsync(tx, target.Key, id, cancellationToken))
                {
                    continue;
                }

                foreach (var file in await tx.Tree.ListChildrenAsync(source.Key, V1Layout.ImageFolder(id), cancellationToken))
                {
                    if (!await allowed(target, file.Path, AccessActions.Deploy))
                    {
                        return OperationResult.Forbidden($"Deploying image {id} to '{target.Key}' is not permitted.");
                    }
                }

                if (!await CopyImageFolderAsync(tx, source.Key, target.Key, id, user, now, cancellationToken))
                {
                    return Blocked(target, V1Layout.ImageFolder(id));
                }
            }
        }

        var targetIndex = await V1Reads.ReadIndexAsync(tx, target.Key, targetName, cancellationToken) ?? [];
        var merged = targetIndex.Concat(images.Where(id => !targetIndex.Contains(id, StringComparer.Ordinal))).ToList();
        if (merged.Count != targetIndex.Count || await tx.Tree.GetAsync(target.Key, V1Layout.Index(targetName), cancellationToken) is null)
        {
            if (!await allowed(target, V1Layout.Index(targetName), AccessActions.Deploy))
            {
                return OperationResult.Forbidden($"Writing the index of '{targetName}' in '{target.Key}' is not permitted.");
            }

            if (!await V1Writes.PutIndexAsync(tx, time, target.Key, targetName, await V1Writes.WriteIndexBlobAsync(content, merged, cancellationToken), user, cancellationToken))
            {
                return Blocked(target, V1Layout.Index(targetName));
            }
        }

        foreach (var (from, to, imageId) in renames)
        {
            var sourceFile = await tx.Tree.GetAsync(source.Key, V1Layout.Tag(sourceName, from), cancellationToken);
            var properties = new Dictionary<string, IReadOnlyList<string>>(await tx.Tree.GetPropertiesAsync(source.Key, sourceFile!.Path, cancellationToken))
            {
                [DockerProperties.TagName] = [to],
                [DockerProperties.TagContent] = [imageId],
            };
            if (!await tx.Tree.TryPutFileAsync(target.Key, new NewFile(V1Layout.Tag(targetName, to), sourceFile.Sha256!, sourceFile.Size, V1Writes.JsonMime, properties), user, now, cancellationToken))
            {
                return Blocked(target, V1Layout.Tag(targetName, to));
            }
        }

        if (move)
        {
            foreach (var (from, _, _) in renames)
            {
                await V1Writes.DeleteTagFileAsync(tx, source.Key, V1Layout.Tag(sourceName, from), cancellationToken);
            }

            if (moveIndex)
            {
                await tx.Tree.DeleteAsync(source.Key, V1Layout.Index(sourceName), cancellationToken);
                await V1Writes.DeleteFolderIfEmptyAsync(tx, source.Key, V1Layout.RepositoryFolder(sourceName), cancellationToken);
            }
        }

        await tx.CommitAsync(cancellationToken);
        return OperationResult.Ok("Promotion ended successfully");
    }

    /// <summary>A promotion whose target path runs into an item of the target's tree (a file copied there): nothing is written.</summary>
    private static OperationResult Blocked(RepositoryConfig target, string path) =>
        OperationResult.Conflict($"An item of '{target.Key}' is in the way of '{path}'; nothing was promoted.");

    /// <summary>Copies an image folder to another repository; false, for the caller to drop the transaction, when an item is in its way.</summary>
    private static async Task<bool> CopyImageFolderAsync(IMetadataTransaction tx, string from, string to, string imageId, string user, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var folder = V1Layout.ImageFolder(imageId);
        if (await tx.Tree.FindObstacleAsync(to, folder, folder: true, cancellationToken) is not null)
        {
            return false;
        }

        await tx.Tree.EnsureFolderAsync(to, folder, user, now, cancellationToken);
        var folderProperties = await tx.Tree.GetPropertiesAsync(from, folder, cancellationToken);
        if (folderProperties.Count > 0)
        {
            await tx.Tree.SetPropertiesAsync(to, folder, folderProperties, cancellationToken);
        }

        foreach (var file in await tx.Tree.ListChildrenAsync(from, folder, cancellationToken))
        {
            if (!file.IsFolder)
            {
                var properties = await tx.Tree.GetPropertiesAsync(from, file.Path, cancellationToken);
                if (!await tx.Tree.TryPutFileAsync(to, new NewFile(file.Path, file.Sha256!, file.Size, file.MimeType ?? V1Writes.JsonMime, properties), user, now, cancellationToken))
                {
                    return false;
                }
            }
        }

        return true;
    }
}
