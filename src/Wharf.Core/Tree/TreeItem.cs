using Wharf.Core.Naming;

namespace Wharf.Core.Tree;

/// <summary>
/// One file or folder of a repository tree. Files point at a blob by SHA-256; the bytes live in the
/// content store, so the same blob may appear under many paths and repositories.
/// </summary>
internal sealed record TreeItem(
    string Repo,
    string Path,
    bool IsFolder,
    long Size,
    string? Sha256,
    string? MimeType,
    DateTimeOffset Created,
    string CreatedBy,
    DateTimeOffset Modified,
    string ModifiedBy)
{
    public string Name => ItemPath.Name(Path);
}

/// <summary>A new file to place in the tree; parent folders are created as needed.</summary>
internal sealed record NewFile(string Path, string Sha256, long Size, string MimeType, IReadOnlyDictionary<string, IReadOnlyList<string>>? Properties = null);

/// <summary>Checksums of a blob as the storage API shows them.</summary>
internal sealed record BlobChecksums(string Sha256, string? Sha1, string? Md5);
