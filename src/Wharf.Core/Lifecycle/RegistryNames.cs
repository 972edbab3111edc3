using Wharf.Core.Docker.V1;
using Wharf.Core.Docker.V2;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Tree;

namespace Wharf.Core.Lifecycle;

/// <summary>
/// The names a copy or move may give the registry's own files: only those a push could have
/// created, so that no copy leaves a tag that clients list but cannot pull. In a V2 repository
/// every <c>manifest.json</c> at <c>&lt;image&gt;/&lt;reference&gt;/</c> is a tag (or digest) of that
/// image, and blob names live beside manifests or in <c>_uploads</c>; in a V1 repository tags and
/// indexes live below <c>repositories/&lt;name&gt;/</c> and images in <c>.images/&lt;id&gt;/</c>.
/// Other files and folders carry no registry meaning and may go anywhere.
/// </summary>
internal static class RegistryNames
{
    private const string V2NameRule = "OCI image names are lower-case components of [a-z0-9] joined by '.', '_', '__' or '-', none of them a file name of the tree (manifest.json, list.manifest.json, sha256__…, sha512__…)";
    private const string V2TagRule = "OCI tags match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127} and are neither _uploads nor a file name of the tree";
    private const string V1NameRule = "V1 repository names are namespace/name of [a-z0-9._-] components";

    /// <summary>Why <paramref name="item"/>, copied or moved to <paramref name="to"/>, would be a registry file under a name no push could use; null when it would not.</summary>
    public static string? Problem(DockerApiVersion version, TreeItem item, string to) =>
        item.IsFolder ? null : version == DockerApiVersion.V2 ? V2Problem(to) : V1Problem(item.Path, to);

    private static string? V2Problem(string to)
    {
        var name = ItemPath.Name(to);
        if (!V2Layout.IsManifestFile(name) && !V2Layout.IsBlobName(name))
        {
            return null;
        }

        var folder = ItemPath.Name(ItemPath.Parent(to));
        var image = ItemPath.Parent(ItemPath.Parent(to));
        if (!V2Name.IsValidName(image))
        {
            return $"'{image}' is not an image name a push could use ({V2NameRule}).";
        }

        var validFolder = V2Name.IsValidTag(folder) || Digest.TryParse(folder, out _) || (V2Layout.IsBlobName(name) && folder == V2Layout.UploadsFolder);
        return validFolder ? null : $"'{folder}' is not a tag a push could create ({V2TagRule}), nor a digest.";
    }

    private static string? V1Problem(string from, string to)
    {
        var name = ItemPath.Name(to);
        var folder = ItemPath.Parent(to);
        var image = V1Layout.ImageOf(to);
        if (image is not null && image != V1Layout.ImageOf(from))
        {
            return $"'{to}' is inside the folder of image {image}; an image's files stay in their own image's folder.";
        }

        var repositoryPath = name switch
        {
            V1Layout.TagFile => ItemPath.Parent(folder),
            V1Layout.IndexFile => folder,
            _ => null,
        };
        const string prefix = V1Layout.RepositoriesRoot + "/";
        if (repositoryPath is null || !(repositoryPath + "/").StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var repository = repositoryPath.Length > prefix.Length ? repositoryPath[prefix.Length..] : "";
        if (!V1RepositoryName.TryParse(repository, out var parsed) || parsed.FullName != repository)
        {
            return $"'{repository}' is not a repository name a push could use ({V1NameRule}).";
        }

        var tag = ItemPath.Name(folder);
        return name == V1Layout.TagFile && !TagName.IsValid(tag) ? $"'{tag}' is not a tag a push could create ({TagName.InvalidMessage})." : null;
    }
}
