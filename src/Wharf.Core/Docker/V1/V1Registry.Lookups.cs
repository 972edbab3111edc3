using System.Text.Json;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Security;
using Wharf.Core.Storage;
using Wharf.Core.Tree;

namespace Wharf.Core.Docker.V1;

/// <summary>Reads every role shares: the registry index's answers about images, tags and index lists, and the tree writes tags and indexes need.</summary>
internal sealed partial class V1Registry
{
    private static async Task DeleteTagFileAsync(IMetadataTransaction tx, string repo, string tagFile, CancellationToken cancellationToken)
    {
        await tx.Tree.DeleteAsync(repo, tagFile, cancellationToken);
        await DeleteFolderIfEmptyAsync(tx, repo, ItemPath.Parent(tagFile), cancellationToken);
    }

    private static async Task DeleteFolderIfEmptyAsync(IMetadataTransaction tx, string repo, string folder, CancellationToken cancellationToken)
    {
        if ((await tx.Tree.ListChildrenAsync(repo, folder, cancellationToken)).Count == 0)
        {
            await tx.Tree.DeleteAsync(repo, folder, cancellationToken);
        }
    }

    /// <summary>
    /// The image's upload record; without one, <paramref name="whenComplete"/> if the image is
    /// complete (§9: COMPLETE is immutable) or ImageNotFound if it was never started.
    /// </summary>
    private async Task<(V1Upload? Upload, V1Outcome Absent)> FindUploadAsync(string repo, string imageId, V1Outcome whenComplete, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        var upload = await session.V1Uploads.GetAsync(repo, imageId, cancellationToken);
        if (upload is not null)
        {
            return (upload, V1Outcome.Ok);
        }

        return (null, await IsCompleteAsync(session, repo, imageId, cancellationToken) ? whenComplete : V1Outcome.ImageNotFound);
    }

    private static bool IsStorableTag(string tag) => TagName.IsValid(tag) && tag != V1Layout.IndexFile;

    /// <inheritdoc cref="MayReadChainAsync(IMetadataSession, string, string, ItemAccess, CancellationToken)"/>
    public async Task<bool> MayReadChainAsync(string repo, string imageId, ItemAccess access, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        return await MayReadChainAsync(session, repo, imageId, access, cancellationToken);
    }

    /// <summary>
    /// Whether the caller may read every file of every image of the ancestry of
    /// <paramref name="imageId"/> (a complete image): what a tag, a promotion or a migration
    /// hands on of it.
    /// </summary>
    internal static async Task<bool> MayReadChainAsync(IMetadataSession session, string repo, string imageId, ItemAccess access, CancellationToken cancellationToken)
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

    private static async Task<V1ImageLookup> LookupAsync(IMetadataSession session, string repo, string imageId, CancellationToken cancellationToken)
    {
        if (await session.V1Index.ImageAsync(repo, imageId, cancellationToken) is not { Complete: true } image)
        {
            return await session.V1Uploads.GetAsync(repo, imageId, cancellationToken) is null ? V1ImageLookup.NotFound : V1ImageLookup.Uploading;
        }

        return new V1ImageLookup(V1Outcome.Ok, new V1Image(imageId, image.JsonSha256!, image.JsonSize, image.LayerSha256!, image.LayerSize, image.PayloadChecksum ?? "", image.AncestrySha256!));
    }

    /// <summary>Whether the image is COMPLETE (§9): its folder holds all four files.</summary>
    private static async Task<bool> IsCompleteAsync(IMetadataSession session, string repo, string imageId, CancellationToken cancellationToken) =>
        await session.V1Index.ImageAsync(repo, imageId, cancellationToken) is { Complete: true };

    /// <summary>The image's ancestry (itself first) as its <c>ancestry.json</c> holds it; null before its JSON is stored.</summary>
    private static async Task<IReadOnlyList<string>?> ReadCompleteAncestryAsync(IMetadataSession session, string repo, string imageId, CancellationToken cancellationToken) =>
        (await session.V1Index.ImageAsync(repo, imageId, cancellationToken))?.Ancestry;

    private static async Task<bool> IndexExistsAsync(IMetadataSession session, string repo, V1RepositoryName name, CancellationToken cancellationToken) =>
        await session.Tree.GetAsync(repo, V1Layout.Index(name), cancellationToken) is not null;

    private static async Task<IReadOnlyList<string>?> ReadIndexAsync(IMetadataSession session, string repo, V1RepositoryName name, CancellationToken cancellationToken) =>
        await IndexExistsAsync(session, repo, name, cancellationToken) ? await session.V1Index.IndexAsync(repo, V1Layout.Index(name), cancellationToken) : null;

    private Task<StoredBlob> WriteIndexBlobAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken) =>
        content.PutBytesAsync(JsonSerializer.SerializeToUtf8Bytes(ids.Select(id => new IndexEntry(id)).ToArray(), Compact), cancellationToken);

    /// <summary>Writes a repository's index; false, writing nothing, when an item is in its way.</summary>
    private async Task<bool> PutIndexAsync(IMetadataTransaction tx, string repo, V1RepositoryName name, StoredBlob blob, string user, CancellationToken cancellationToken)
    {
        var properties = new Dictionary<string, IReadOnlyList<string>> { [DockerProperties.RepoName] = [name.FullName] };
        return await tx.Tree.TryPutFileAsync(repo, new NewFile(V1Layout.Index(name), blob.Sha256, blob.Size, JsonMime, properties), user, time.GetUtcNow(), cancellationToken);
    }

    private static async Task<IReadOnlyList<(string Tag, string ImageId)>> ReadTagsAsync(IMetadataSession session, string repo, V1RepositoryName name, CancellationToken cancellationToken) =>
        [.. (await session.V1Index.TagsAsync(repo, name.FullName, cancellationToken)).Select(t => (t.Tag, t.ImageId))];

    private static async Task<string?> ReadTagAsync(IMetadataSession session, string repo, V1RepositoryName name, string tag, CancellationToken cancellationToken)
    {
        var path = V1Layout.Tag(name, tag);
        if (await session.Tree.GetAsync(repo, path, cancellationToken) is null)
        {
            return null;
        }

        var properties = await session.Tree.GetPropertiesAsync(repo, path, cancellationToken);
        return properties.TryGetValue(DockerProperties.TagContent, out var ids) && ids.Count > 0 ? ids[0] : null;
    }

    private async Task<T?> ReadJsonAsync<T>(string sha256, CancellationToken cancellationToken)
    {
        var bytes = await content.ReadAllBytesAsync(sha256, cancellationToken)
            ?? throw new InvalidOperationException($"Blob {sha256} is referenced but missing.");
        return JsonSerializer.Deserialize<T>(bytes);
    }

    private sealed record IndexEntry([property: System.Text.Json.Serialization.JsonPropertyName("id")] string Id);
}
