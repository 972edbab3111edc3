using Wharf.Core.Docker.V1;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Operations;
using Wharf.Core.Security;
using Wharf.Core.Tree;

namespace Wharf.Core.Lifecycle;

/// <summary>
/// Writes to repository trees through the storage API: properties (rest-api §4.3), delete (§4.5,
/// §3.7) and copy/move (§4.6). Each request is one transaction: it happens whole or not at all.
/// Content is never copied or deleted here; blobs are shared by reference and collected by
/// <see cref="Cleanup"/> once nothing names them.
/// </summary>
internal sealed class TreeOperations(IMetadataStore store, AccessPolicy policy, TimeProvider time)
{
    /// <summary>Sets properties on an item, and with <paramref name="recursive"/> on everything below a folder.</summary>
    public Task<OperationResult> SetPropertiesAsync(
        Principal caller, RepositoryConfig repository, string path, IReadOnlyDictionary<string, IReadOnlyList<string>> properties, bool recursive, CancellationToken cancellationToken) =>
        AnnotateAsync(caller, repository, path, [.. properties.Keys], recursive,
            (tx, item) => tx.Tree.SetPropertiesAsync(repository.Key, item.Path, properties, cancellationToken), cancellationToken);

    public Task<OperationResult> DeletePropertiesAsync(
        Principal caller, RepositoryConfig repository, string path, IReadOnlyList<string> keys, bool recursive, CancellationToken cancellationToken) =>
        AnnotateAsync(caller, repository, path, keys, recursive,
            (tx, item) => tx.Tree.DeletePropertiesAsync(repository.Key, item.Path, keys, cancellationToken), cancellationToken);

    /// <summary>Applies <paramref name="change"/> to every annotatable item in one transaction; protected keys need an admin.</summary>
    private async Task<OperationResult> AnnotateAsync(
        Principal caller, RepositoryConfig repository, string path, IReadOnlyList<string> keys, bool recursive, Func<IMetadataTransaction, TreeItem, Task> change, CancellationToken cancellationToken)
    {
        if (!caller.IsAdmin && keys.FirstOrDefault(PropertyString.IsProtected) is { } key)
        {
            return OperationResult.Forbidden($"Property '{key}' is maintained by Wharf; only administrators may change it.");
        }

        await using var tx = await store.BeginAsync(cancellationToken);
        var (items, failure) = await AnnotatableItemsAsync(tx, caller, repository, path, recursive, cancellationToken);
        if (failure is not null)
        {
            return failure;
        }

        foreach (var item in items!)
        {
            await change(tx, item);
        }

        await tx.CommitAsync(cancellationToken);
        return OperationResult.Ok();
    }

    private async Task<(IReadOnlyList<TreeItem>? Items, OperationResult? Failure)> AnnotatableItemsAsync(
        IMetadataTransaction tx, Principal caller, RepositoryConfig repository, string path, bool recursive, CancellationToken cancellationToken)
    {
        if (path.Length == 0)
        {
            return (null, OperationResult.BadRequest("Properties cannot be set on a repository root."));
        }

        var item = await tx.Tree.GetAsync(repository.Key, path, cancellationToken);
        if (item is null)
        {
            return (null, OperationResult.NotFound("File not found."));
        }

        var items = new List<TreeItem> { item };
        if (item.IsFolder && recursive)
        {
            items.AddRange(await tx.Tree.ListDescendantsAsync(repository.Key, path, cancellationToken));
        }

        foreach (var each in items)
        {
            if (!await policy.AllowsAsync(caller, repository, each.Path, each.IsFolder, AccessActions.Annotate, cancellationToken))
            {
                return (null, OperationResult.Forbidden(await MayNameAsync(caller, repository, each.Path, each.IsFolder, cancellationToken)
                    ? $"Annotating '{repository.Key}/{each.Path}' is not permitted."
                    : $"'{repository.Key}/{path}' holds items you may not annotate."));
            }
        }

        return (items, null);
    }

    /// <summary>
    /// Deletes a file or folder (with everything below it). A V1 image that a tag still reaches, or
    /// a single file of an image folder, cannot be deleted: that would leave tags that cannot pull.
    /// </summary>
    public async Task<OperationResult> DeleteAsync(Principal caller, RepositoryConfig repository, string path, CancellationToken cancellationToken)
    {
        if (path.Length == 0)
        {
            return OperationResult.BadRequest($"The root of '{repository.Key}' cannot be deleted; delete the repository instead.");
        }

        await using var tx = await store.BeginAsync(cancellationToken);
        var item = await tx.Tree.GetAsync(repository.Key, path, cancellationToken);
        if (item is null)
        {
            return OperationResult.NotFound("File not found.");
        }

        var items = new List<TreeItem> { item };
        if (item.IsFolder)
        {
            items.AddRange(await tx.Tree.ListDescendantsAsync(repository.Key, path, cancellationToken));
        }

        foreach (var each in items)
        {
            if (!await policy.AllowsAsync(caller, repository, each.Path, each.IsFolder, AccessActions.Delete, cancellationToken))
            {
                return OperationResult.Forbidden(await MayNameAsync(caller, repository, each.Path, each.IsFolder, cancellationToken)
                    ? $"Deleting '{repository.Key}/{each.Path}' is not permitted."
                    : $"'{repository.Key}/{path}' holds items you may not delete.");
            }
        }

        if (repository.DockerApiVersion == DockerApiVersion.V1 && await V1DeleteProblemAsync(tx, caller, repository, items, cancellationToken) is { } problem)
        {
            return problem;
        }

        if (repository.DockerApiVersion == DockerApiVersion.V2 && !item.IsFolder && IsPartOfV2Image(item.Path))
        {
            return OperationResult.Conflict("Delete the tag folder instead.");
        }

        await tx.Tree.DeleteAsync(repository.Key, path, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return OperationResult.Ok();
    }

    /// <summary>A manifest or blob file of a V2 tag or digest folder: removing it alone would break the image.</summary>
    private static bool IsPartOfV2Image(string path) =>
        ItemPath.Name(ItemPath.Parent(path)) != Docker.V2.V2Layout.UploadsFolder
        && (Docker.V2.V2Layout.IsManifestFile(ItemPath.Name(path)) || Docker.V2.V2Layout.IsBlobName(ItemPath.Name(path)));

    /// <summary>
    /// Why deleting <paramref name="items"/> would break a V1 image; the tag that still uses it is
    /// named only when the caller may read its folder.
    /// </summary>
    private async Task<OperationResult?> V1DeleteProblemAsync(IMetadataTransaction tx, Principal caller, RepositoryConfig repository, List<TreeItem> items, CancellationToken cancellationToken)
    {
        var images = items.Select(i => V1Layout.ImageOf(i.Path)).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        if (images.Count == 0)
        {
            return null;
        }

        if (items[0] is { IsFolder: false } file && V1Layout.ImageOf(file.Path) is not null)
        {
            return OperationResult.Conflict("Delete the image folder instead.");
        }

        var deletedTags = items.Where(i => !i.IsFolder && i.Name == V1Layout.TagFile).Select(i => i.Path).ToHashSet(StringComparer.Ordinal);
        var reachable = await V1Collector.ReachableImagesAsync(tx, repository.Key, deletedTags, cancellationToken);
        if (images.FirstOrDefault(reachable.ContainsKey) is not { } used)
        {
            return null;
        }

        return OperationResult.Conflict(await MayNameAsync(caller, repository, reachable[used], isFolder: true, cancellationToken)
            ? $"Image {used} is used by tag {reachable[used]}; delete the tag first."
            : $"Image {used} is used by a tag you may not read; it cannot be deleted.");
    }

    /// <summary>
    /// Copies or moves <paramref name="sourcePath"/> to <paramref name="targetPath"/> with Unix
    /// semantics: into an existing target folder, else to the target name. Checks everything
    /// before changing anything; with <paramref name="dryRun"/> changes nothing.
    /// </summary>
    public async Task<CopyMoveResult> CopyOrMoveAsync(
        Principal caller, RepositoryConfig source, string sourcePath, RepositoryConfig target, string targetPath, bool move, bool dryRun, bool failFast, CancellationToken cancellationToken)
    {
        var verb = move ? "moving" : "copying";
        if (source.DockerApiVersion != target.DockerApiVersion)
        {
            return Failed(OperationResult.BadRequest($"'{source.Key}' is a Docker {source.DockerApiVersion} repository and '{target.Key}' a Docker {target.DockerApiVersion} one; content cannot move between them."));
        }

        await using var tx = await store.BeginAsync(cancellationToken);
        var root = sourcePath.Length == 0 ? null : await tx.Tree.GetAsync(source.Key, sourcePath, cancellationToken);
        if (sourcePath.Length > 0 && root is null)
        {
            return Failed(OperationResult.NotFound($"Could not find '{source.Key}/{sourcePath}'."));
        }

        if (sourcePath.Length == 0 && move)
        {
            return Failed(OperationResult.BadRequest("A repository root cannot be moved."));
        }

        var existingTarget = targetPath.Length == 0 ? null : await tx.Tree.GetAsync(target.Key, targetPath, cancellationToken);
        if ((targetPath.Length == 0 || existingTarget is { IsFolder: true }) && sourcePath.Length > 0)
        {
            targetPath = ItemPath.Combine(targetPath, ItemPath.Name(sourcePath));
        }

        if (source.Key.Equals(target.Key, StringComparison.OrdinalIgnoreCase)
            && (targetPath == sourcePath || sourcePath.Length == 0 || targetPath.StartsWith(sourcePath + "/", StringComparison.Ordinal)))
        {
            return Failed(OperationResult.BadRequest($"Cannot {(move ? "move" : "copy")} '{source.Key}/{sourcePath}' into itself or one of its descendants."));
        }

        if (root is { IsFolder: false } && ((source.DockerApiVersion == DockerApiVersion.V1 && V1Layout.ImageOf(sourcePath) is not null)
            || (source.DockerApiVersion == DockerApiVersion.V2 && IsPartOfV2Image(sourcePath))))
        {
            return Failed(OperationResult.Conflict("Copy or move the whole image or tag folder, not a part of it."));
        }

        var items = new List<TreeItem>();
        if (root is not null)
        {
            items.Add(root);
        }

        if (root is null or { IsFolder: true })
        {
            items.AddRange(await tx.Tree.ListDescendantsAsync(source.Key, sourcePath, cancellationToken));
        }

        var messages = new List<OperationMessage>();
        var plan = new List<(TreeItem Item, string To)>();
        var sourcePrefix = sourcePath.Length == 0 ? 0 : sourcePath.Length;
        foreach (var item in items)
        {
            var to = targetPath + item.Path[sourcePrefix..];
            if (sourcePath.Length == 0)
            {
                to = ItemPath.Combine(targetPath, item.Path);
            }

            if (await CopyPermissionProblemAsync(tx, caller, source, sourcePath, item, target, to, move, cancellationToken) is { } refused)
            {
                return Failed(OperationResult.Forbidden(refused));
            }

            if (RegistryNames.Problem(target.DockerApiVersion, item, to) is { } misnamed)
            {
                return Failed(OperationResult.BadRequest($"Cannot {(move ? "move" : "copy")} '{source.Key}/{item.Path}' to '{target.Key}/{to}': {misnamed}"));
            }

            var problem = await CopyProblemAsync(tx, caller, target, item, to, cancellationToken);
            if (problem is not null)
            {
                messages.Add(new OperationMessage(MessageLevel.Error, problem));
                if (failFast)
                {
                    break;
                }

                continue;
            }

            plan.Add((item, to));
        }

        if (messages.Count > 0)
        {
            return new CopyMoveResult(OperationResult.Ok(), messages);
        }

        if (move && source.DockerApiVersion == DockerApiVersion.V1 && await V1DeleteProblemAsync(tx, caller, source, items, cancellationToken) is { } stillUsed)
        {
            return new CopyMoveResult(OperationResult.Ok(), [new OperationMessage(MessageLevel.Error, stillUsed.Message)]);
        }

        var now = time.GetUtcNow();
        var user = caller.DisplayName;
        foreach (var (item, to) in plan)
        {
            var properties = await tx.Tree.GetPropertiesAsync(source.Key, item.Path, cancellationToken);
            if (target.DockerApiVersion == DockerApiVersion.V1 && item.Name == V1Layout.IndexFile && V1Layout.RepositoryOfIndex(to) is { } name)
            {
                properties = new Dictionary<string, IReadOnlyList<string>>(properties) { [DockerProperties.RepoName] = [name.FullName] };
            }
            else if (target.DockerApiVersion == DockerApiVersion.V2 && !item.IsFolder && Docker.V2.V2Layout.IsManifestFile(item.Name))
            {
                // docker.repoName and docker.manifest follow the new place (rest-api §4.6).
                properties = new Dictionary<string, IReadOnlyList<string>>(properties)
                {
                    [Docker.V2.V2Properties.RepoName] = [ItemPath.Parent(ItemPath.Parent(to))],
                    [Docker.V2.V2Properties.Manifest] = [ItemPath.Name(ItemPath.Parent(to))],
                };
            }

            if (item.IsFolder)
            {
                await tx.Tree.EnsureFolderAsync(target.Key, to, user, now, cancellationToken);
                if (properties.Count > 0)
                {
                    await tx.Tree.SetPropertiesAsync(target.Key, to, properties, cancellationToken);
                }
            }
            else
            {
                await tx.Tree.PutFileAsync(target.Key, new NewFile(to, item.Sha256!, item.Size, item.MimeType ?? "application/octet-stream", properties), user, now, cancellationToken);
            }
        }

        if (move)
        {
            await tx.Tree.DeleteAsync(source.Key, sourcePath, cancellationToken);
        }

        if (!dryRun)
        {
            await tx.CommitAsync(cancellationToken);
        }

        var files = plan.Count(p => !p.Item.IsFolder);
        var folders = plan.Count - files;
        messages.Add(new OperationMessage(MessageLevel.Info,
            $"{verb} {source.Key}:{sourcePath} to {target.Key}:{targetPath} completed successfully, {files} artifacts and {folders} folders were {(move ? "moved" : "copied")}{(dryRun ? " (dry run)" : "")}"));
        return new CopyMoveResult(OperationResult.Ok(), messages);

        static CopyMoveResult Failed(OperationResult failure) => new(failure, []);
    }

    /// <summary>
    /// A permission the caller lacks for one item; any such refusal fails the whole request with 403.
    /// An item the caller may not read is never named: the refusal names the requested path.
    /// </summary>
    private async Task<string?> CopyPermissionProblemAsync(
        IMetadataTransaction tx, Principal caller, RepositoryConfig source, string sourcePath, TreeItem item, RepositoryConfig target, string to, bool move, CancellationToken cancellationToken)
    {
        if (!await policy.AllowsAsync(caller, source, item.Path, item.IsFolder, AccessActions.Read, cancellationToken))
        {
            return $"'{source.Key}/{sourcePath}' holds items you may not read.";
        }

        if (move && !await policy.AllowsAsync(caller, source, item.Path, item.IsFolder, AccessActions.Delete, cancellationToken))
        {
            return $"Deleting '{source.Key}/{item.Path}' (needed to move it) is not permitted.";
        }

        if (!await policy.AllowsAsync(caller, target, to, item.IsFolder, AccessActions.Deploy, cancellationToken))
        {
            return $"Deploying to '{target.Key}/{to}' is not permitted.";
        }

        var existing = await tx.Tree.GetAsync(target.Key, to, cancellationToken);
        return existing is { IsFolder: false } && !item.IsFolder && !await policy.AllowsAsync(caller, target, to, false, AccessActions.Delete, cancellationToken)
            ? $"Overwriting '{target.Key}/{to}' needs delete permission there."
            : null;
    }

    /// <summary>
    /// A conflict in the target tree for one item; reported as an error message of the result. The
    /// item in the way is named only when the caller may read it.
    /// </summary>
    private async Task<string?> CopyProblemAsync(IMetadataTransaction tx, Principal caller, RepositoryConfig target, TreeItem item, string to, CancellationToken cancellationToken)
    {
        if (to.Length > ItemPath.MaxLength)
        {
            return $"Target path of '{item.Path}' is longer than {ItemPath.MaxLength} characters.";
        }

        if (await tx.Tree.FindObstacleAsync(target.Key, to, item.IsFolder, cancellationToken) is not { } obstacle)
        {
            return null;
        }

        if (!await MayNameAsync(caller, target, obstacle.Path, obstacle.IsFolder, cancellationToken))
        {
            return $"An item you may not read is in the way of '{target.Key}/{to}'.";
        }

        return obstacle.Path == to
            ? $"'{target.Key}/{to}' is a {(obstacle.IsFolder ? "folder" : "file")} and cannot be replaced by a {(item.IsFolder ? "folder" : "file")}."
            : $"'{target.Key}/{obstacle.Path}' is a file; nothing can be placed below it.";
    }

    /// <summary>
    /// Whether a refusal may name an item: the caller may read it as the storage API's GET of its
    /// path would (a folder also when reached only by browsing, which shows its listing). Refusals
    /// name the requested path instead, which the caller could read, so none reveals a hidden name.
    /// </summary>
    private ValueTask<bool> MayNameAsync(Principal caller, RepositoryConfig repository, string path, bool isFolder, CancellationToken cancellationToken) =>
        policy.AllowsAsync(caller, repository, path, isFolder, AccessActions.Read, cancellationToken);
}
