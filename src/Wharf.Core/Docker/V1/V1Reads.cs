using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Security;

namespace Wharf.Core.Docker.V1;

/// <summary>
/// Reads every V1 role shares, on a session the caller holds: the registry index's answers about
/// images, tags and index lists, and what a caller may read of them.
/// </summary>
internal static class V1Reads
{
    /// <summary>Whether <paramref name="tag"/> can name a tag folder: a valid tag that is not the index's file name.</summary>
    public static bool IsStorableTag(string tag) => TagName.IsValid(tag) && tag != V1Layout.IndexFile;

    /// <summary>
    /// Whether the caller may read every file of every image of the ancestry of
    /// <paramref name="imageId"/> (a complete image): what a tag, a promotion or a migration
    /// hands on of it.
    /// </summary>
    public static async Task<bool> MayReadChainAsync(IMetadataSession session, string repo, string imageId, ItemAccess access, CancellationToken cancellationToken)
    {
        foreach (var id in await ReadCompleteAncestryAsync(session, repo, imageId, cancellationToken) ?? [imageId])
        {
            if (!ImageId.IsValid(id) || !await MayReadImageAsync(session, repo, id, access, cancellationToken))
            {
                return false;
            }
        }

        return true;
    }

    private static async Task<bool> MayReadImageAsync(IMetadataSession session, string repo, string imageId, ItemAccess access, CancellationToken cancellationToken)
    {
        foreach (var file in await session.Tree.ListChildrenAsync(repo, V1Layout.ImageFolder(imageId), cancellationToken))
        {
            if (!await access(file.Path, AccessActions.Read))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The image as readers see it: complete, still uploading, or not found.</summary>
    public static async Task<V1ImageLookup> LookupAsync(IMetadataSession session, string repo, string imageId, CancellationToken cancellationToken)
    {
        if (await session.V1Index.ImageAsync(repo, imageId, cancellationToken) is not { Complete: true } image)
        {
            return await session.V1Uploads.GetAsync(repo, imageId, cancellationToken) is null ? V1ImageLookup.NotFound : V1ImageLookup.Uploading;
        }

        return new V1ImageLookup(V1Outcome.Ok, new V1Image(imageId, image.JsonSha256!, image.JsonSize, image.LayerSha256!, image.LayerSize, image.PayloadChecksum ?? "", image.AncestrySha256!));
    }

    /// <summary>Whether the image is COMPLETE (§9): its folder holds all four files.</summary>
    public static async Task<bool> IsCompleteAsync(IMetadataSession session, string repo, string imageId, CancellationToken cancellationToken) =>
        await session.V1Index.ImageAsync(repo, imageId, cancellationToken) is { Complete: true };

    /// <summary>The image's ancestry (itself first) as its <c>ancestry.json</c> holds it; null before its JSON is stored.</summary>
    public static async Task<IReadOnlyList<string>?> ReadCompleteAncestryAsync(IMetadataSession session, string repo, string imageId, CancellationToken cancellationToken) =>
        (await session.V1Index.ImageAsync(repo, imageId, cancellationToken))?.Ancestry;

    /// <summary>Whether the repository's index file exists: the repository is known.</summary>
    public static async Task<bool> IndexExistsAsync(IMetadataSession session, string repo, V1RepositoryName name, CancellationToken cancellationToken) =>
        await session.Tree.GetAsync(repo, V1Layout.Index(name), cancellationToken) is not null;

    /// <summary>The repository's index image list; null when the repository is unknown.</summary>
    public static async Task<IReadOnlyList<string>?> ReadIndexAsync(IMetadataSession session, string repo, V1RepositoryName name, CancellationToken cancellationToken) =>
        await IndexExistsAsync(session, repo, name, cancellationToken) ? await session.V1Index.IndexAsync(repo, V1Layout.Index(name), cancellationToken) : null;

    /// <summary>Tag → image id of every tag of the repository, whoever may read it.</summary>
    public static async Task<IReadOnlyList<(string Tag, string ImageId)>> ReadTagsAsync(IMetadataSession session, string repo, V1RepositoryName name, CancellationToken cancellationToken) =>
        [.. (await session.V1Index.TagsAsync(repo, name.FullName, cancellationToken)).Select(t => (t.Tag, t.ImageId))];

    /// <summary>Tag → image id of the tags whose tag file the caller may read; null when the repository is unknown.</summary>
    public static async Task<IReadOnlyList<(string Tag, string ImageId)>?> ReadReadableTagsAsync(IMetadataSession session, string repo, V1RepositoryName name, ItemAccess access, CancellationToken cancellationToken)
    {
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

    /// <summary>The image a tag file names; null when there is no such tag file.</summary>
    public static async Task<string?> ReadTagAsync(IMetadataSession session, string repo, V1RepositoryName name, string tag, CancellationToken cancellationToken)
    {
        var path = V1Layout.Tag(name, tag);
        if (await session.Tree.GetAsync(repo, path, cancellationToken) is null)
        {
            return null;
        }

        var properties = await session.Tree.GetPropertiesAsync(repo, path, cancellationToken);
        return properties.TryGetValue(DockerProperties.TagContent, out var ids) && ids.Count > 0 ? ids[0] : null;
    }
}
