using Wharf.Core.Naming;

namespace Wharf.Core.Docker.V1;

/// <summary>
/// The Artifactory V1 tree (rest-api §8.1); the one place that names its paths.
/// <code>
/// .images/&lt;imageId&gt;/json.json | layer.tar | ancestry.json | _checksum.json
/// repositories/&lt;namespace&gt;/&lt;name&gt;/_index_images.json
/// repositories/&lt;namespace&gt;/&lt;name&gt;/&lt;tag&gt;/tag.json
/// </code>
/// </summary>
internal static class V1Layout
{
    public const string ImagesRoot = ".images";
    public const string RepositoriesRoot = "repositories";
    public const string JsonFile = "json.json";
    public const string LayerFile = "layer.tar";
    public const string AncestryFile = "ancestry.json";
    public const string ChecksumFile = "_checksum.json";
    public const string IndexFile = "_index_images.json";
    public const string TagFile = "tag.json";

    public static string ImageFolder(string imageId) => $"{ImagesRoot}/{imageId}";

    public static string ImageFile(string imageId, string file) => $"{ImagesRoot}/{imageId}/{file}";

    public static string RepositoryFolder(V1RepositoryName name) => $"{RepositoriesRoot}/{name.FullName}";

    public static string Index(V1RepositoryName name) => $"{RepositoryFolder(name)}/{IndexFile}";

    public static string TagFolder(V1RepositoryName name, string tag) => $"{RepositoryFolder(name)}/{tag}";

    public static string Tag(V1RepositoryName name, string tag) => $"{TagFolder(name, tag)}/{TagFile}";

    /// <summary>The image id when <paramref name="path"/> is an image folder or inside one; else null.</summary>
    public static string? ImageOf(string path)
    {
        var prefix = ImagesRoot + "/";
        if (!path.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = path[prefix.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var id = slash < 0 ? rest : rest[..slash];
        return ImageId.IsValid(id) ? id : null;
    }

    /// <summary>The repository a <c>repositories/…/_index_images.json</c> path belongs to.</summary>
    public static V1RepositoryName? RepositoryOfIndex(string indexPath)
    {
        var prefix = RepositoriesRoot + "/";
        var suffix = "/" + IndexFile;
        if (!indexPath.StartsWith(prefix, StringComparison.Ordinal) || !indexPath.EndsWith(suffix, StringComparison.Ordinal))
        {
            return null;
        }

        var full = indexPath[prefix.Length..^suffix.Length];
        var slash = full.IndexOf('/', StringComparison.Ordinal);
        return slash <= 0 ? null : new V1RepositoryName(full[..slash], full[(slash + 1)..]);
    }
}

/// <summary>Property names Wharf maintains on V1 trees (rest-api §8.3).</summary>
internal static class DockerProperties
{
    public const string ImageId = "docker.imageId";
    public const string Size = "docker.size";
    public const string TagName = "docker.tag.name";
    public const string TagContent = "docker.tag.content";
    public const string RepoName = "docker.repoName";
    public const string TarSum = "docker.checksum.tarsum";

    /// <summary>A V1 repository's description for <c>docker search</c>, set on its index by an administrator.</summary>
    public const string Description = "docker.description";
}
