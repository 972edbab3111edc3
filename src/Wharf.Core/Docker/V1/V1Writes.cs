using System.Text.Json;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Storage;
using Wharf.Core.Tree;

namespace Wharf.Core.Docker.V1;

/// <summary>
/// The tree writes more than one V1 role makes, inside a transaction the caller holds: index blobs
/// and index files, and tag files deleted with the folders they leave empty.
/// </summary>
internal static class V1Writes
{
    /// <summary>The media type of every JSON file of a V1 tree.</summary>
    public const string JsonMime = "application/json";

    /// <summary>How the JSON files Wharf writes itself (ancestry, checksums, tags, indexes) are serialized.</summary>
    public static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };

    /// <summary>Deletes a tag file and its tag folder when nothing else is left in it.</summary>
    public static async Task DeleteTagFileAsync(IMetadataTransaction tx, string repo, string tagFile, CancellationToken cancellationToken)
    {
        await tx.Tree.DeleteAsync(repo, tagFile, cancellationToken);
        await DeleteFolderIfEmptyAsync(tx, repo, ItemPath.Parent(tagFile), cancellationToken);
    }

    public static async Task DeleteFolderIfEmptyAsync(IMetadataTransaction tx, string repo, string folder, CancellationToken cancellationToken)
    {
        if ((await tx.Tree.ListChildrenAsync(repo, folder, cancellationToken)).Count == 0)
        {
            await tx.Tree.DeleteAsync(repo, folder, cancellationToken);
        }
    }

    /// <summary>Stores an index's content (<c>[{"id":…},…]</c>) in the content store; durable before any row names it.</summary>
    public static Task<StoredBlob> WriteIndexBlobAsync(ContentStore content, IReadOnlyList<string> ids, CancellationToken cancellationToken) =>
        content.PutBytesAsync(JsonSerializer.SerializeToUtf8Bytes(ids.Select(id => new IndexEntry(id)).ToArray(), Compact), cancellationToken);

    /// <summary>Writes a repository's index; false, writing nothing, when an item is in its way.</summary>
    public static async Task<bool> PutIndexAsync(IMetadataTransaction tx, TimeProvider time, string repo, V1RepositoryName name, StoredBlob blob, string user, CancellationToken cancellationToken)
    {
        var properties = new Dictionary<string, IReadOnlyList<string>> { [DockerProperties.RepoName] = [name.FullName] };
        return await tx.Tree.TryPutFileAsync(repo, new NewFile(V1Layout.Index(name), blob.Sha256, blob.Size, JsonMime, properties), user, time.GetUtcNow(), cancellationToken);
    }

    private sealed record IndexEntry([property: System.Text.Json.Serialization.JsonPropertyName("id")] string Id);
}
