using System.Text.Json;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Storage;
using Wharf.Core.Tree;

namespace Wharf.Core.Docker.V1;

/// <summary>
/// What a file of a V1 tree means to the registry (rest-api §8.1), the one rule both the index
/// upkeep and the consistency check apply: the files of <c>.images/&lt;id&gt;/</c> make an image,
/// a <c>tag.json</c> below <c>repositories/&lt;ns&gt;/&lt;name&gt;/&lt;tag&gt;/</c> a tag, and an
/// <c>_index_images.json</c> the image list of its repository. The JSON files are read once, when
/// written, so reachability and ancestry never read a blob again.
/// </summary>
internal static class V1TreeIndex
{
    /// <summary>Whether a change at <paramref name="path"/> (a file, or a folder deleted) may touch the index.</summary>
    public static bool MayMatter(string path) =>
        path.Length == 0 || path == V1Layout.ImagesRoot || path == V1Layout.RepositoriesRoot
        || path.StartsWith(V1Layout.ImagesRoot + "/", StringComparison.Ordinal) || path.StartsWith(V1Layout.RepositoriesRoot + "/", StringComparison.Ordinal);

    /// <summary>The tag row of a file, or null when it is no tag file of a repository.</summary>
    public static V1TagRow? Tag(TreeItem file, IReadOnlyDictionary<string, IReadOnlyList<string>> properties)
    {
        if (file.IsFolder || file.Name != V1Layout.TagFile || RepositoryOf(ItemPath.Parent(ItemPath.Parent(file.Path))) is not { } repository
            || !properties.TryGetValue(DockerProperties.TagContent, out var ids) || ids.Count == 0)
        {
            return null;
        }

        return new V1TagRow(file.Repo, file.Path, repository, ItemPath.Name(ItemPath.Parent(file.Path)), ids[0], file.Created);
    }

    /// <summary>The repository (<c>ns/name</c>) whose folder is <paramref name="folder"/>; null outside <c>repositories/</c>.</summary>
    public static string? RepositoryOf(string folder)
    {
        var prefix = V1Layout.RepositoriesRoot + "/";
        if (!folder.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var full = folder[prefix.Length..];
        return full.IndexOf('/', StringComparison.Ordinal) > 0 ? full : null;
    }

    /// <summary>Whether a file is a repository's index (<c>repositories/&lt;ns&gt;/&lt;name&gt;/_index_images.json</c>).</summary>
    public static bool IsIndexFile(TreeItem file) => !file.IsFolder && V1Layout.RepositoryOfIndex(file.Path) is not null;

    /// <summary>The image row of an image folder's files; null when none of them is there.</summary>
    public static async Task<V1ImageRow?> ImageAsync(ContentStore content, string repo, string id, IReadOnlyList<TreeItem> files, CancellationToken cancellationToken)
    {
        TreeItem? File(string name) => files.FirstOrDefault(f => !f.IsFolder && f.Name == name && f.Sha256 is not null);
        if (files.Count == 0)
        {
            return null;
        }

        var (json, layer, ancestry, checksums) = (File(V1Layout.JsonFile), File(V1Layout.LayerFile), File(V1Layout.AncestryFile), File(V1Layout.ChecksumFile));
        var ids = ancestry is null ? null : await ReadJsonAsync<string[]>(content, ancestry.Sha256!, cancellationToken);
        var payload = checksums is null ? null : (await ReadJsonAsync<string[]>(content, checksums.Sha256!, cancellationToken))?.FirstOrDefault();
        var created = files.Min(f => f.Created);
        return new V1ImageRow(
            repo, id, ids, json is not null && layer is not null && ancestry is not null && checksums is not null,
            json?.Sha256, json?.Size ?? 0, layer?.Sha256, layer?.Size ?? 0, ancestry?.Sha256, payload, created);
    }

    /// <summary>The ids an index file lists, in order (an index that no longer parses lists none).</summary>
    public static async Task<IReadOnlyList<string>> ReadIndexAsync(ContentStore content, string sha256, CancellationToken cancellationToken) =>
        [.. (await ReadJsonAsync<IndexEntry[]>(content, sha256, cancellationToken) ?? []).Select(e => e.Id).OfType<string>()];

    /// <summary>
    /// Brings the index in line with a change at <paramref name="path"/>: a file written or
    /// changed, or (with <paramref name="deleted"/>) an item and everything below it gone.
    /// </summary>
    public static async Task IndexChangeAsync(IMetadataSession tx, ContentStore content, string repo, string path, bool deleted, CancellationToken cancellationToken)
    {
        if (deleted)
        {
            await tx.V1Index.ForgetAsync(repo, path, below: true, cancellationToken);
        }

        // A file of an image changes the image's row; a deleted image folder is forgotten above.
        if (V1Layout.ImageOf(path) is { } id && path != V1Layout.ImageFolder(id))
        {
            await IndexImageAsync(tx, content, repo, id, cancellationToken);
            return;
        }

        if (deleted)
        {
            return;
        }

        await tx.V1Index.ForgetAsync(repo, path, below: false, cancellationToken);
        if (await tx.Tree.GetAsync(repo, path, cancellationToken) is not { IsFolder: false } file)
        {
            return;
        }

        if (Tag(file, await tx.Tree.GetPropertiesAsync(repo, path, cancellationToken)) is { } tag)
        {
            await tx.V1Index.PutTagAsync(tag, cancellationToken);
        }
        else if (IsIndexFile(file))
        {
            await tx.V1Index.PutIndexAsync(repo, path, await ReadIndexAsync(content, file.Sha256!, cancellationToken), cancellationToken);
        }
    }

    public static async Task IndexImageAsync(IMetadataSession tx, ContentStore content, string repo, string id, CancellationToken cancellationToken)
    {
        var row = await ImageAsync(content, repo, id, await tx.Tree.ListChildrenAsync(repo, V1Layout.ImageFolder(id), cancellationToken), cancellationToken);
        if (row is null)
        {
            await tx.V1Index.ForgetImageAsync(repo, id, cancellationToken);
        }
        else
        {
            await tx.V1Index.PutImageAsync(row, cancellationToken);
        }
    }

    /// <summary>A JSON file's content; null when it is gone or does not parse as <typeparamref name="T"/>.</summary>
    private static async Task<T?> ReadJsonAsync<T>(ContentStore content, string sha256, CancellationToken cancellationToken)
        where T : class
    {
        var bytes = await content.ReadAllBytesAsync(sha256, cancellationToken);
        if (bytes is null)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<T>(bytes);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private sealed record IndexEntry([property: System.Text.Json.Serialization.JsonPropertyName("id")] string? Id);
}
