using Wharf.Core.Naming;

namespace Wharf.Core.Docker.V2;

/// <summary>
/// The Artifactory V2 tree (rest-api §8.2); the one place that names its paths.
/// <code>
/// &lt;image&gt;/&lt;tag&gt;/manifest.json | list.manifest.json | sha256__&lt;hex&gt;
/// &lt;image&gt;/sha256:&lt;hex&gt;/manifest.json …     manifests pushed or referenced by digest
/// &lt;image&gt;/_uploads/sha256__&lt;hex&gt;               blobs uploaded, not yet named by a manifest
/// </code>
/// Content pushed under a sha512 digest is named <c>sha512__&lt;hex&gt;</c> (and its manifests
/// <c>sha512:&lt;hex&gt;</c>); the item's checksum is still the content's SHA-256, which is how the
/// content store addresses it.
/// </summary>
internal static class V2Layout
{
    public const string ManifestFile = V2TreeNames.ManifestFile;
    public const string ListManifestFile = V2TreeNames.ListManifestFile;
    public const string UploadsFolder = V2TreeNames.UploadsFolder;
    public const string BlobPrefix = V2TreeNames.BlobPrefix;

    public static string TagFolder(string image, string tag) => $"{image}/{tag}";

    public static string DigestFolder(string image, Digest digest) => $"{image}/{digest}";

    public static string BlobName(string sha256Hex) => BlobPrefix + sha256Hex;

    public static string BlobName(Digest digest) => $"{digest.Algorithm}__{digest.Hex}";

    /// <summary>Whether a file name is a blob's name in the tree (<c>sha256__…</c> or <c>sha512__…</c>).</summary>
    public static bool IsBlobName(string name) =>
        name.StartsWith(BlobPrefix, StringComparison.Ordinal) || name.StartsWith(Digest.Sha512 + "__", StringComparison.Ordinal);

    public static string UploadedBlob(string image, Digest digest) => $"{image}/{UploadsFolder}/{BlobName(digest)}";

    /// <summary>The folder an image's uploads land in; upload sessions are authorized on it before their digest is known.</summary>
    public static string Uploads(string image) => $"{image}/{UploadsFolder}";

    public static bool IsManifestFile(string name) => name is ManifestFile or ListManifestFile;

    /// <summary>Whether a name is one the tree gives files (<see cref="V2TreeNames.IsFileName"/>).</summary>
    public static bool IsFileName(ReadOnlySpan<char> name) => V2TreeNames.IsFileName(name);

    /// <summary>Whether a folder directly below an image is a tag (not a digest or the uploads folder); tags never hold a colon.</summary>
    public static bool IsTagFolderName(string name) => name != UploadsFolder && !name.Contains(':', StringComparison.Ordinal);
}

/// <summary>Properties Wharf maintains on V2 trees (rest-api §8.3).</summary>
internal static class V2Properties
{
    public const string Manifest = "docker.manifest";
    public const string ManifestDigest = "docker.manifest.digest";
    public const string ManifestType = "docker.manifest.type";
    public const string RepoName = "docker.repoName";
    public const string Sha256 = "sha256";
    public const string ContentType = "artifactory.content-type";
    public const string LabelPrefix = "docker.label.";

    /// <summary>Wharf's: the digest a manifest's <c>subject</c> names, for the referrers API.</summary>
    public const string Subject = "docker.manifest.subject";

    /// <summary>Wharf's: the manifest's artifact type (its <c>artifactType</c>, else its config media type).</summary>
    public const string ArtifactType = "docker.manifest.artifactType";

    /// <summary>Wharf's: on a revision kept by <c>dockerTagRetention</c>, the tags it is kept for.</summary>
    public const string RetainedFor = "docker.manifest.retainedFor";
}
