using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Storage;
using Wharf.Core.Tree;

namespace Wharf.Core.Docker.V2;

/// <summary>
/// What a file of a V2 tree means to the registry (rest-api §8.2), the one rule both the index
/// upkeep and the consistency check apply: a manifest file in a folder directly below an image
/// (other than <c>_uploads</c>) is a manifest of that image under that tag or digest; a blob name
/// in such a folder, or in <c>_uploads</c>, is a blob the image may serve and mount. The image is
/// the file's grandparent folder, as every registry route resolves it.
/// </summary>
internal static class V2TreeIndex
{
    /// <summary>The image and folder name of a file at <paramref name="path"/>; null when it has no image.</summary>
    public static (string Image, string Folder)? PlaceOf(string path)
    {
        var folder = ItemPath.Parent(path);
        var image = ItemPath.Parent(folder);
        return image.Length == 0 ? null : (image, ItemPath.Name(folder));
    }

    /// <summary>Whether a file at <paramref name="path"/> may mean something to the registry (its name alone tells).</summary>
    public static bool MayMatter(string path)
    {
        var name = ItemPath.Name(path);
        return V2Layout.IsManifestFile(name) || V2Layout.IsBlobName(name);
    }

    /// <summary>The manifest row of a file, or null when it is no manifest of an image.</summary>
    public static V2ManifestRow? Manifest(TreeItem file, IReadOnlyDictionary<string, IReadOnlyList<string>> properties, string? configDigest)
    {
        if (file.IsFolder || file.Sha256 is not { } sha256 || !V2Layout.IsManifestFile(file.Name)
            || PlaceOf(file.Path) is not { } place || place.Folder == V2Layout.UploadsFolder)
        {
            return null;
        }

        var (image, folder) = place;

        // Known by a sha512 digest only in the folder it was pushed into by it (V2Manifests.PutManifestAsync).
        var digest = Digest.TryParse(folder, out var named) && named.Algorithm == Digest.Sha512 ? named.ToString() : Digest.OfSha256(sha256).ToString();
        return new V2ManifestRow(
            file.Repo, file.Path, image, folder, V2Layout.IsTagFolderName(folder), digest, sha256, file.MimeType ?? Manifests.OciManifest, file.Size,
            configDigest, First(properties, V2Properties.Subject), First(properties, V2Properties.ArtifactType), file.Created, file.Modified);
    }

    /// <summary>The blob link of a file, or null when it names no blob of an image.</summary>
    public static V2BlobLinkRow? BlobLink(TreeItem file)
    {
        if (file.IsFolder || file.Sha256 is not { } sha256 || !V2Layout.IsBlobName(file.Name) || PlaceOf(file.Path) is not { } place)
        {
            return null;
        }

        var (image, folder) = place;

        var name = file.Name;
        var separator = name.IndexOf("__", StringComparison.Ordinal);
        return new V2BlobLinkRow(file.Repo, file.Path, image, folder, name[..separator] + ":" + name[(separator + 2)..], sha256, file.Size, file.Modified);
    }

    /// <summary>
    /// The references of a manifest's content, in order; null when its bytes are gone or no longer
    /// parse (a manifest is checked when pushed, so only a damaged store gives null).
    /// </summary>
    public static async Task<IReadOnlyList<V2ManifestReference>?> ReadReferencesAsync(ContentStore content, string sha256, string mediaType, CancellationToken cancellationToken)
    {
        var bytes = await content.ReadAllBytesAsync(sha256, cancellationToken);
        if (bytes is null || Manifests.Parse(bytes, mediaType, blockSchema1: false).Manifest is not { } manifest)
        {
            return null;
        }

        var references = new List<V2ManifestReference>();
        foreach (var blob in manifest.Blobs)
        {
            var kind = references.Count == 0 && manifest.Config is not null ? V2ManifestReference.Config : V2ManifestReference.Blob;
            references.Add(new V2ManifestReference(references.Count, kind, blob.Digest.ToString(), blob.Size));
        }

        foreach (var child in manifest.Children)
        {
            references.Add(new V2ManifestReference(references.Count, V2ManifestReference.Manifest, child.Digest.ToString(), child.Size));
        }

        return references;
    }

    /// <summary>
    /// Brings the index in line with the file at <paramref name="path"/> (written, changed or gone),
    /// inside the transaction that changed it.
    /// </summary>
    public static async Task IndexFileAsync(IMetadataSession tx, ContentStore content, string repo, string path, CancellationToken cancellationToken)
    {
        await tx.V2Index.ForgetAsync(repo, path, below: false, cancellationToken);
        if (await tx.Tree.GetAsync(repo, path, cancellationToken) is not { IsFolder: false } file)
        {
            return;
        }

        if (BlobLink(file) is { } link)
        {
            await tx.V2Index.PutBlobLinkAsync(link, cancellationToken);
            return;
        }

        if (!V2Layout.IsManifestFile(file.Name) || file.Sha256 is not { } sha256)
        {
            return;
        }

        var references = await tx.V2Index.HasReferencesAsync(sha256, cancellationToken)
            ? null
            : await ReadReferencesAsync(content, sha256, file.MimeType ?? Manifests.OciManifest, cancellationToken);
        var known = references ?? await tx.V2Index.ReferencesAsync(sha256, cancellationToken);
        var config = known.FirstOrDefault(r => r.Kind == V2ManifestReference.Config)?.Digest;
        if (Manifest(file, await tx.Tree.GetPropertiesAsync(repo, path, cancellationToken), config) is { } row)
        {
            await tx.V2Index.PutManifestAsync(row, references, cancellationToken);
        }
    }

    private static string? First(IReadOnlyDictionary<string, IReadOnlyList<string>> properties, string key) =>
        properties.TryGetValue(key, out var values) && values.Count > 0 ? values[0] : null;
}
