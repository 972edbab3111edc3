namespace Wharf.Core.Naming;

/// <summary>
/// The names the V2 tree gives its own files and folders, which <see cref="V2Name"/> keeps image
/// names and tags clear of; Docker's <c>V2Layout</c> builds the tree's paths from them.
/// </summary>
internal static class V2TreeNames
{
    public const string ManifestFile = "manifest.json";
    public const string ListManifestFile = "list.manifest.json";
    public const string UploadsFolder = "_uploads";
    public const string BlobPrefix = "sha256__";

    /// <summary>
    /// Whether a name is one the tree gives files (a manifest or a blob name): no image name
    /// component and no tag may be one (<see cref="V2Name"/>), so no folder of a push
    /// ever takes the place of another push's file.
    /// </summary>
    public static bool IsFileName(ReadOnlySpan<char> name) =>
        name.SequenceEqual(ManifestFile) || name.SequenceEqual(ListManifestFile)
        || name.StartsWith(BlobPrefix, StringComparison.Ordinal) || name.StartsWith(Digest.Sha512 + "__", StringComparison.Ordinal);
}
