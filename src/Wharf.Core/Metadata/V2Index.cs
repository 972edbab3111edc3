using Wharf.Core.Tree;

namespace Wharf.Core.Metadata;

/// <summary>
/// A manifest file of a tag or digest folder (<c>&lt;image&gt;/&lt;folder&gt;/manifest.json</c> or
/// <c>list.manifest.json</c>), as the registry means it: which image, under which tag or digest,
/// which content. <see cref="Digest"/> is what it is known by: <c>sha256:&lt;Sha256&gt;</c>, or the
/// sha512 digest of the <c>sha512:…</c> folder it was pushed into. <see cref="Subject"/> and
/// <see cref="ArtifactType"/> are the referrers API's (the <c>docker.manifest.subject</c> and
/// <c>docker.manifest.artifactType</c> properties of the file).
/// </summary>
internal sealed record V2ManifestRow(
    string Repo,
    string Path,
    string Image,
    string Folder,
    bool IsTag,
    string Digest,
    string Sha256,
    string MediaType,
    long Size,
    string? ConfigDigest,
    string? Subject,
    string? ArtifactType,
    DateTimeOffset Created,
    DateTimeOffset Modified)
{
    /// <summary>The manifest file as the tree holds it (the creator and modifier are the tree's to tell).</summary>
    public TreeItem ToItem() => new(Repo, Path, false, Size, Sha256, MediaType, Created, "", Modified, "");
}

/// <summary>
/// A blob named in an image (<c>&lt;image&gt;/&lt;folder&gt;/sha256__&lt;hex&gt;</c> or <c>sha512__…</c>), in
/// a tag or digest folder or in <c>_uploads</c>: what the image may serve and mount.
/// <see cref="Digest"/> is the name's; a sha512 one holds only when it is the recorded SHA-512 of
/// the content (names can be copied), which readers check.
/// </summary>
internal sealed record V2BlobLinkRow(string Repo, string Path, string Image, string Folder, string Digest, string Sha256, long Size, DateTimeOffset Modified)
{
    public TreeItem ToItem() => new(Repo, Path, false, Size, Sha256, "application/octet-stream", Modified, "", Modified, "");
}

/// <summary>What a manifest's bytes reference, in order: its config, layers or blobs, and the manifests an index lists.</summary>
internal sealed record V2ManifestReference(int Position, string Kind, string Digest, long Size)
{
    public const string Config = "config";
    public const string Blob = "blob";
    public const string Manifest = "manifest";
}

/// <summary>
/// The registry's typed index of V2 repositories, kept in the transaction of every tree write that
/// changes it (Docker's <c>IndexedMetadataStore</c>), so it never disagrees with the tree. Paths
/// compare case-sensitively, as the tree's do.
/// </summary>
internal interface IV2IndexRecords
{
    /// <summary>Records (or replaces) the manifest at its path, and its references unless its content's are known.</summary>
    Task PutManifestAsync(V2ManifestRow row, IReadOnlyList<V2ManifestReference>? references, CancellationToken cancellationToken);

    Task PutBlobLinkAsync(V2BlobLinkRow row, CancellationToken cancellationToken);

    /// <summary>Whether the references of the manifest content are recorded (they depend on its bytes only).</summary>
    Task<bool> HasReferencesAsync(string manifestSha256, CancellationToken cancellationToken);

    /// <summary>Forgets what is recorded at <paramref name="path"/> and, when <paramref name="below"/>, at every path under it (the repository's all when empty).</summary>
    Task ForgetAsync(string repo, string path, bool below, CancellationToken cancellationToken);

    /// <summary>The manifest files of one folder, <c>manifest.json</c> before <c>list.manifest.json</c>.</summary>
    Task<IReadOnlyList<V2ManifestRow>> ManifestsInFolderAsync(string repo, string image, string folder, CancellationToken cancellationToken);

    /// <summary>Every manifest file of the image (tags and digests), ordered by path, manifests before lists.</summary>
    Task<IReadOnlyList<V2ManifestRow>> ManifestsOfImageAsync(string repo, string image, CancellationToken cancellationToken);

    /// <summary>The manifest files of the image whose content is <paramref name="sha256"/>, ordered like <see cref="ManifestsOfImageAsync"/>.</summary>
    Task<IReadOnlyList<V2ManifestRow>> ManifestsWithContentAsync(string repo, string image, string sha256, CancellationToken cancellationToken);

    /// <summary>The tag folders' manifest files of the image, ordered by tag, then manifests before lists.</summary>
    Task<IReadOnlyList<V2ManifestRow>> TagsAsync(string repo, string image, CancellationToken cancellationToken);

    /// <summary>Whether the image holds any manifest or blob.</summary>
    Task<bool> ImageExistsAsync(string repo, string image, CancellationToken cancellationToken);

    /// <summary>Images with at least one tag, in ordinal order.</summary>
    Task<IReadOnlyList<string>> TaggedImagesAsync(string repo, CancellationToken cancellationToken);

    /// <summary>The image's manifest files whose subject is <paramref name="subject"/>, ordered by path.</summary>
    Task<IReadOnlyList<V2ManifestRow>> ReferrersAsync(string repo, string image, string subject, CancellationToken cancellationToken);

    /// <summary>Where the image names the blob, ordered by path.</summary>
    Task<IReadOnlyList<V2BlobLinkRow>> BlobLinksAsync(string repo, string image, string digest, CancellationToken cancellationToken);

    /// <summary>Where any image of the repository names the blob, ordered by path.</summary>
    Task<IReadOnlyList<V2BlobLinkRow>> BlobLinksInRepositoryAsync(string repo, string digest, CancellationToken cancellationToken);

    /// <summary>Blob names in <c>_uploads</c> folders last modified before <paramref name="modifiedBefore"/>, up to <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<V2BlobLinkRow>> StaleUploadsAsync(DateTimeOffset modifiedBefore, int limit, CancellationToken cancellationToken);

    /// <summary>Every manifest row of the repository, ordered by path (the consistency check).</summary>
    Task<IReadOnlyList<V2ManifestRow>> AllManifestsAsync(string repo, CancellationToken cancellationToken);

    /// <summary>Every blob link of the repository, ordered by path (the consistency check).</summary>
    Task<IReadOnlyList<V2BlobLinkRow>> AllBlobLinksAsync(string repo, CancellationToken cancellationToken);

    /// <summary>The references recorded for a manifest's content, by position.</summary>
    Task<IReadOnlyList<V2ManifestReference>> ReferencesAsync(string manifestSha256, CancellationToken cancellationToken);
}
