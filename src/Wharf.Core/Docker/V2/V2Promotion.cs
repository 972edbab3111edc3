using Wharf.Core.Docker.V1;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Operations;
using Wharf.Core.Security;
using Wharf.Core.Storage;
using Wharf.Core.Tree;

namespace Wharf.Core.Docker.V2;

internal sealed class V2Promotion(IMetadataStore store, ContentStore content, TimeProvider time)
{
    /// <summary>
    /// Copies or moves one tag, or every tag, of a V2 image to another V2 repository and/or name
    /// (rest-api §3.4): each tag folder with its manifest and blob names, plus the digest folders a
    /// manifest list names. Blobs are shared, never copied; <c>docker.repoName</c> and
    /// <c>docker.manifest</c> are rewritten. One transaction. The caller must be able to read each
    /// file copied, deploy each file written, delete each file of a tag replaced and, to move,
    /// delete each file that leaves the source.
    /// </summary>
    public async Task<OperationResult> PromoteAsync(
        RepositoryConfig source, RepositoryConfig target, PromoteRequest request, string user, PathPermission allowed, CancellationToken cancellationToken)
    {
        var image = request.DockerRepository!;
        var targetImage = request.TargetDockerRepository ?? image;
        if (!V2Name.IsValidName(image) || !V2Name.IsValidName(targetImage))
        {
            return OperationResult.BadRequest($"'{(V2Name.IsValidName(image) ? targetImage : image)}' is not a valid image name.");
        }

        if ((request.Tag is { } t && !V2Name.IsValidTag(t)) || (request.TargetTag is { } tt && !V2Name.IsValidTag(tt)))
        {
            return OperationResult.BadRequest("tag and targetTag must follow the OCI tag grammar.");
        }

        if (request.TargetTag is not null && request.Tag is null)
        {
            return OperationResult.BadRequest("targetTag needs tag.");
        }

        if (source.Key.Equals(target.Key, StringComparison.OrdinalIgnoreCase) && image == targetImage && (request.TargetTag ?? request.Tag) == request.Tag)
        {
            return OperationResult.BadRequest("Source and target are the same; give another targetRepo, targetDockerRepository or targetTag.");
        }

        var move = !request.Copy;
        await using var tx = await store.BeginAsync(cancellationToken);
        // Only the tags the caller may read are there for them, as in a tags list.
        var tags = new List<string>();
        foreach (var file in await V2Manifests.ListManifestFilesAsync(tx, source.Key, image, cancellationToken))
        {
            if (V2Layout.IsTagFolderName(ItemPath.Name(ItemPath.Parent(file.Path))) && await allowed(source, file.Path, AccessActions.Read))
            {
                tags.Add(ItemPath.Name(ItemPath.Parent(file.Path)));
            }
        }

        if (tags.Count == 0)
        {
            return OperationResult.NotFound($"Docker image '{image}' not found in '{source.Key}'.");
        }

        if (request.Tag is { } only)
        {
            if (!tags.Contains(only, StringComparer.Ordinal))
            {
                return OperationResult.NotFound($"Tag '{only}' of '{image}' not found in '{source.Key}'.");
            }

            tags = [only];
        }

        var now = time.GetUtcNow();
        foreach (var tag in tags.Distinct(StringComparer.Ordinal))
        {
            var to = request.TargetTag ?? tag;
            var targetFolder = V2Layout.TagFolder(targetImage, to);
            var sourceManifest = await V2Manifests.ManifestFileInAsync(tx, source.Key, V2Layout.TagFolder(image, tag), cancellationToken);
            var targetManifest = await V2Manifests.ManifestFileInAsync(tx, target.Key, targetFolder, cancellationToken);
            if (targetManifest is not null && targetManifest.Sha256 != sourceManifest?.Sha256)
            {
                if (!await V2Manifests.MayOnFilesInAsync(tx, target.Key, targetFolder, (path, actions) => allowed(target, path, actions), AccessActions.Delete, cancellationToken))
                {
                    return OperationResult.Forbidden($"Replacing tag '{to}' of '{targetImage}' in '{target.Key}' needs delete permission.");
                }

                await V2Manifests.ClearManifestFolderAsync(tx, target.Key, targetFolder, cancellationToken);
            }

            // A folder of the target that holds the same manifest already stays as it is (names,
            // properties, creation time): nothing there is replaced.
            var folders = new List<(string From, string To, string Manifest)>();
            if (targetManifest is null || targetManifest.Sha256 != sourceManifest?.Sha256)
            {
                folders.Add((V2Layout.TagFolder(image, tag), targetFolder, to));
            }

            if (await tx.Tree.GetAsync(source.Key, $"{V2Layout.TagFolder(image, tag)}/{V2Layout.ListManifestFile}", cancellationToken) is { Sha256: { } listHex })
            {
                // A list's platform manifests live in digest folders beside the tags.
                var list = Manifests.Parse(await content.ReadAllBytesAsync(listHex, cancellationToken) ?? [], null, blockSchema1: true).Manifest;
                foreach (var child in list?.Children ?? [])
                {
                    var childFolder = V2Layout.DigestFolder(image, child.Digest);
                    if (await tx.Tree.GetAsync(source.Key, childFolder, cancellationToken) is not null
                        && await V2Manifests.ManifestFileInAsync(tx, target.Key, V2Layout.DigestFolder(targetImage, child.Digest), cancellationToken) is null)
                    {
                        folders.Add((childFolder, V2Layout.DigestFolder(targetImage, child.Digest), child.Digest.ToString()));
                    }
                }
            }

            foreach (var (from, toFolder, manifestName) in folders)
            {
                foreach (var file in await tx.Tree.ListChildrenAsync(source.Key, from, cancellationToken))
                {
                    if (file.IsFolder)
                    {
                        continue;
                    }

                    if (!await allowed(source, file.Path, AccessActions.Read))
                    {
                        return OperationResult.Forbidden($"Reading '{image}:{tag}' in '{source.Key}' and every manifest it names is not permitted.");
                    }

                    if (!await allowed(target, $"{toFolder}/{file.Name}", AccessActions.Deploy))
                    {
                        return OperationResult.Forbidden($"Deploying '{targetImage}:{to}' to '{target.Key}' is not permitted.");
                    }

                    var properties = new Dictionary<string, IReadOnlyList<string>>(await tx.Tree.GetPropertiesAsync(source.Key, file.Path, cancellationToken));
                    if (V2Layout.IsManifestFile(file.Name))
                    {
                        properties[V2Properties.RepoName] = [targetImage];
                        properties[V2Properties.Manifest] = [manifestName];
                    }

                    if (!await tx.Tree.TryPutFileAsync(target.Key, new NewFile($"{toFolder}/{file.Name}", file.Sha256!, file.Size, file.MimeType ?? V2Blobs.OctetStream, properties), user, now, cancellationToken))
                    {
                        // Put there by a copy or move; returning uncommitted changes nothing.
                        return OperationResult.Conflict($"An item of '{target.Key}' is in the way of '{targetImage}:{to}'; move or delete it first.");
                    }
                }
            }

            if (move)
            {
                if (!await V2Manifests.MayOnFilesInAsync(tx, source.Key, V2Layout.TagFolder(image, tag), (path, actions) => allowed(source, path, actions), AccessActions.Delete, cancellationToken))
                {
                    return OperationResult.Forbidden($"Deleting '{image}:{tag}' from '{source.Key}' (needed to move it) is not permitted.");
                }

                await V2Manifests.ClearManifestFolderAsync(tx, source.Key, V2Layout.TagFolder(image, tag), cancellationToken);
            }
        }

        await tx.CommitAsync(cancellationToken);
        return OperationResult.Ok("Promotion ended successfully");
    }
}
