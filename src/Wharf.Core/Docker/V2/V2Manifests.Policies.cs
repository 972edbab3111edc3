using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Security;
using Wharf.Core.Tree;

namespace Wharf.Core.Docker.V2;

/// <summary>
/// The repository policies a manifest push applies on the pusher's behalf (rest-api §2.2). The
/// pusher causes what they write and remove, so each needs the rights doing it by hand would; a
/// missing one refuses the whole push (the caller drops the transaction, nothing changes).
/// </summary>
internal sealed partial class V2Manifests
{
    /// <summary>
    /// <c>dockerTagRetention</c> N: the manifest a push replaces stays as a revision in
    /// <c>&lt;image&gt;/sha256:&lt;hex&gt;/</c>, marked with the tags it was retained for
    /// (<c>docker.manifest.retainedFor</c>, which only admins may set), and each tag keeps its N−1
    /// most recently retained revisions. A digest folder that already holds the manifest (pushed by
    /// digest, or retained for another tag) is marked rather than copied, and is deleted by the
    /// pruning only when retention created it and no tag still retains it. Needs deploy on each
    /// file written, annotate on each manifest marked or unmarked, delete on each file pruned:
    /// Denied when one is missing, PathBlocked when an item a copy put there is in the way of the
    /// revision's files, else Ok.
    /// </summary>
    private static async Task<V2Outcome> RetainRevisionAsync(
        IMetadataTransaction tx, RepositoryConfig repository, string image, string tag, StoredManifest previous, string user, DateTimeOffset now, ItemAccess access, CancellationToken cancellationToken)
    {
        var repo = repository.Key;
        if (repository.DockerTagRetention > 1)
        {
            var revision = V2Layout.DigestFolder(image, Digest.OfSha256(previous.Sha256Hex));
            var held = await ManifestFileInAsync(tx, repo, revision, cancellationToken);
            if (held is null)
            {
                var files = (await tx.Tree.ListChildrenAsync(repo, V2Layout.TagFolder(image, tag), cancellationToken)).Where(c => !c.IsFolder && c.Sha256 is not null).ToList();
                if (!await MayAllAsync(access, files.Select(f => $"{revision}/{f.Name}"), AccessActions.Deploy))
                {
                    return V2Outcome.Denied;
                }

                foreach (var file in files)
                {
                    var properties = new Dictionary<string, IReadOnlyList<string>>(await tx.Tree.GetPropertiesAsync(repo, file.Path, cancellationToken), StringComparer.Ordinal);
                    if (V2Layout.IsManifestFile(file.Name))
                    {
                        properties[V2Properties.RetainedFor] = [tag];
                    }

                    if (!await tx.Tree.TryPutFileAsync(repo, new NewFile($"{revision}/{file.Name}", file.Sha256!, file.Size, file.MimeType ?? OctetStream, properties), user, now, cancellationToken))
                    {
                        return V2Outcome.PathBlocked;
                    }
                }
            }
            else
            {
                if (!await access(held.Path, AccessActions.Annotate))
                {
                    return V2Outcome.Denied;
                }

                var retainedFor = (await tx.Tree.GetPropertiesAsync(repo, held.Path, cancellationToken)).GetValueOrDefault(V2Properties.RetainedFor) ?? [];
                await tx.Tree.SetPropertiesAsync(repo, held.Path, new Dictionary<string, IReadOnlyList<string>> { [V2Properties.RetainedFor] = [.. retainedFor.Append(tag).Distinct(StringComparer.Ordinal)] }, cancellationToken);
                await tx.Tree.TouchAsync(repo, held.Path, user, now, cancellationToken);
            }
        }

        // Pruned on every replacement, so lowering the setting takes effect at the tag's next push.
        var revisions = new List<(TreeItem File, IReadOnlyDictionary<string, IReadOnlyList<string>> Properties)>();
        foreach (var file in await ListManifestFilesAsync(tx, repo, image, cancellationToken))
        {
            if (!V2Layout.IsTagFolderName(ItemPath.Name(ItemPath.Parent(file.Path)))
                && await tx.Tree.GetPropertiesAsync(repo, file.Path, cancellationToken) is var properties
                && properties.GetValueOrDefault(V2Properties.RetainedFor) is { } tags && tags.Contains(tag, StringComparer.Ordinal))
            {
                revisions.Add((file, properties));
            }
        }

        foreach (var (file, properties) in revisions.OrderByDescending(r => r.File.Modified).ThenByDescending(r => r.File.Path, StringComparer.Ordinal).Skip(repository.DockerTagRetention - 1))
        {
            var remaining = properties[V2Properties.RetainedFor].Where(t => t != tag).ToList();
            var createdByRetention = !(properties.GetValueOrDefault(V2Properties.Manifest) is [var named] && Digest.TryParse(named, out _));
            if (remaining.Count > 0 || !createdByRetention)
            {
                if (!await access(file.Path, AccessActions.Annotate))
                {
                    return V2Outcome.Denied;
                }

                if (remaining.Count > 0)
                {
                    await tx.Tree.SetPropertiesAsync(repo, file.Path, new Dictionary<string, IReadOnlyList<string>> { [V2Properties.RetainedFor] = remaining }, cancellationToken);
                }
                else
                {
                    await tx.Tree.DeletePropertiesAsync(repo, file.Path, [V2Properties.RetainedFor], cancellationToken);
                }
            }
            else if (!await ClearFolderIfAllowedAsync(tx, repo, ItemPath.Parent(file.Path), access, cancellationToken))
            {
                return V2Outcome.Denied;
            }
        }

        return V2Outcome.Ok;
    }

    /// <summary>
    /// <c>maxUniqueTags</c>: a push that creates a tag beyond the limit deletes the image's oldest
    /// tags by creation time, <c>latest</c> included; never the tag just pushed. A tag moved to
    /// other content counts as created then; pushing the same manifest again keeps its time. Needs
    /// delete on every file of every tag dropped; false when one is missing.
    /// </summary>
    private static async Task<bool> DropOldestTagsAsync(IMetadataTransaction tx, string repo, string image, string pushed, int max, ItemAccess access, CancellationToken cancellationToken)
    {
        var tags = (await ListManifestFilesAsync(tx, repo, image, cancellationToken)).Where(f => V2Layout.IsTagFolderName(ItemPath.Name(ItemPath.Parent(f.Path)))).ToList();
        foreach (var oldest in tags.Where(t => ItemPath.Name(ItemPath.Parent(t.Path)) != pushed)
            .OrderBy(t => t.Created).ThenBy(t => t.Path, StringComparer.Ordinal).Take(Math.Max(0, tags.Count - max)))
        {
            if (!await ClearFolderIfAllowedAsync(tx, repo, ItemPath.Parent(oldest.Path), access, cancellationToken))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Clears a manifest folder when the caller may delete each of its files; false, changing nothing, otherwise.</summary>
    private static async Task<bool> ClearFolderIfAllowedAsync(IMetadataTransaction tx, string repo, string folder, ItemAccess access, CancellationToken cancellationToken)
    {
        if (!await MayOnFilesInAsync(tx, repo, folder, access, AccessActions.Delete, cancellationToken))
        {
            return false;
        }

        await ClearManifestFolderAsync(tx, repo, folder, cancellationToken);
        return true;
    }

    /// <summary>Whether the caller may do <paramref name="actions"/> on every file directly in a folder.</summary>
    internal static async Task<bool> MayOnFilesInAsync(IMetadataSession session, string repo, string folder, ItemAccess access, AccessActions actions, CancellationToken cancellationToken) =>
        await MayAllAsync(access, (await session.Tree.ListChildrenAsync(repo, folder, cancellationToken)).Where(c => !c.IsFolder).Select(c => c.Path), actions);

    private static async Task<bool> MayAllAsync(ItemAccess access, IEnumerable<string> paths, AccessActions actions)
    {
        foreach (var path in paths)
        {
            if (!await access(path, actions))
            {
                return false;
            }
        }

        return true;
    }
}
