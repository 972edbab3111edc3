namespace Wharf.Core.Metadata;

/// <summary>
/// A V1 image of a repository's <c>.images/&lt;id&gt;/</c> folder, as the registry means it.
/// <see cref="Ancestry"/> is its <c>ancestry.json</c> (the image first, then its parents; null
/// before the JSON is stored), <see cref="PayloadChecksum"/> the first entry of its
/// <c>_checksum.json</c>. It is complete (§9) when the folder holds all four files.
/// </summary>
internal sealed record V1ImageRow(
    string Repo,
    string Id,
    IReadOnlyList<string>? Ancestry,
    bool Complete,
    string? JsonSha256,
    long JsonSize,
    string? LayerSha256,
    long LayerSize,
    string? AncestrySha256,
    string? PayloadChecksum,
    DateTimeOffset Created)
{
    public string? Parent => Ancestry is [_, var parent, ..] ? parent : null;

    /// <summary>Records compare their lists by reference; the consistency check compares by value.</summary>
    public bool SameAs(V1ImageRow other) =>
        this with { Ancestry = null } == other with { Ancestry = null }
        && (Ancestry ?? []).SequenceEqual(other.Ancestry ?? [], StringComparer.Ordinal) && (Ancestry is null) == (other.Ancestry is null);
}

/// <summary>A tag file (<c>repositories/&lt;ns&gt;/&lt;name&gt;/&lt;tag&gt;/tag.json</c>) and the image its <c>docker.tag.content</c> names.</summary>
internal sealed record V1TagRow(string Repo, string Path, string Repository, string Tag, string ImageId, DateTimeOffset Created);

/// <summary>
/// The registry's typed index of V1 repositories, kept like the V2 one in the transaction of
/// every tree write (Docker's <c>IndexedMetadataStore</c>).
/// </summary>
internal interface IV1IndexRecords
{
    Task PutImageAsync(V1ImageRow row, CancellationToken cancellationToken);

    Task ForgetImageAsync(string repo, string id, CancellationToken cancellationToken);

    Task PutTagAsync(V1TagRow row, CancellationToken cancellationToken);

    /// <summary>Records the image ids an index file lists, in order (replacing what it listed before).</summary>
    Task PutIndexAsync(string repo, string path, IReadOnlyList<string> imageIds, CancellationToken cancellationToken);

    /// <summary>
    /// Forgets the tags and index lists at <paramref name="path"/> and, when <paramref name="below"/>,
    /// under it, and the images whose folder is there (the repository's all when the path is empty).
    /// </summary>
    Task ForgetAsync(string repo, string path, bool below, CancellationToken cancellationToken);

    Task<V1ImageRow?> ImageAsync(string repo, string id, CancellationToken cancellationToken);

    /// <summary>The tags of one V1 repository (<c>ns/name</c>), ordered by path.</summary>
    Task<IReadOnlyList<V1TagRow>> TagsAsync(string repo, string repository, CancellationToken cancellationToken);

    /// <summary>The ids an index file lists, in order; empty when it lists none or is not recorded.</summary>
    Task<IReadOnlyList<string>> IndexAsync(string repo, string path, CancellationToken cancellationToken);

    /// <summary>Every image each tag reaches through its ancestry, with the path of the tag file, ordered by that path.</summary>
    Task<IReadOnlyList<(string ImageId, string TagPath)>> ReachableAsync(string repo, CancellationToken cancellationToken);

    /// <summary>Every image id the given index files list.</summary>
    Task<IReadOnlyList<string>> ListedByIndexesAsync(string repo, IReadOnlyCollection<string> indexPaths, CancellationToken cancellationToken);

    Task<IReadOnlyList<V1ImageRow>> AllImagesAsync(string repo, CancellationToken cancellationToken);

    Task<IReadOnlyList<V1TagRow>> AllTagsAsync(string repo, CancellationToken cancellationToken);

    /// <summary>Every index file's list, by path.</summary>
    Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> AllIndexesAsync(string repo, CancellationToken cancellationToken);
}
