using Wharf.Core.Tree;

namespace Wharf.Core.Metadata;

/// <summary>
/// Entry point of the metadata store (SQLite by default, PostgreSQL later). A session owns one
/// connection; a transaction is a session whose writes commit together or not at all.
/// </summary>
internal interface IMetadataStore
{
    /// <summary>Creates or upgrades the schema.</summary>
    Task MigrateAsync(CancellationToken cancellationToken);

    Task<IMetadataSession> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Begins a write transaction; writers are serialised by the store.</summary>
    Task<IMetadataTransaction> BeginAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Grows with every write this process commits (and may grow without one); read caches compare
    /// it to know they are current. Writes by other nodes do not move it.
    /// </summary>
    long Generation { get; }
}

internal interface IMetadataSession : IAsyncDisposable
{
    IRepositoryRecords Repositories { get; }

    ITreeRecords Tree { get; }

    IV1UploadRecords V1Uploads { get; }

    IUserRecords Users { get; }

    IGroupRecords Groups { get; }

    IPermissionRecords Permissions { get; }

    ICredentialRecords Credentials { get; }

    ISettingRecords Settings { get; }

    IBlobRecords Blobs { get; }

    IV2UploadRecords V2Uploads { get; }

    /// <summary>The registry's index of V2 repositories; written only by Docker's <c>IndexedMetadataStore</c>.</summary>
    IV2IndexRecords V2Index { get; }

    /// <summary>The registry's index of V1 repositories; written only by Docker's <c>IndexedMetadataStore</c>.</summary>
    IV1IndexRecords V1Index { get; }
}

internal interface IMetadataTransaction : IMetadataSession
{
    Task CommitAsync(CancellationToken cancellationToken);
}

internal interface IRepositoryRecords
{
    Task<RepositoryConfig?> GetAsync(string key, CancellationToken cancellationToken);

    Task<IReadOnlyList<RepositoryConfig>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Inserts unless a repository with that key exists (compared case-insensitively).</summary>
    Task<bool> TryCreateAsync(RepositoryConfig config, CancellationToken cancellationToken);

    /// <summary>Replaces every mutable field of an existing repository; false when it does not exist.</summary>
    Task<bool> UpdateAsync(RepositoryConfig config, CancellationToken cancellationToken);

    /// <summary>Deletes the repository, its tree and its V1 uploads (V2 sessions: <see cref="IV2UploadRecords.DeleteForRepositoryAsync"/>); false when it did not exist.</summary>
    Task<bool> DeleteAsync(string key, CancellationToken cancellationToken);
}

internal interface ITreeRecords
{
    Task<TreeItem?> GetAsync(string repo, string path, CancellationToken cancellationToken);

    Task<IReadOnlyList<TreeItem>> ListChildrenAsync(string repo, string path, CancellationToken cancellationToken);

    /// <summary>Every item strictly below <paramref name="path"/>, ordered by path.</summary>
    Task<IReadOnlyList<TreeItem>> ListDescendantsAsync(string repo, string path, CancellationToken cancellationToken);

    /// <summary>Files named <paramref name="name"/> whose folder is a child of <paramref name="grandParent"/>.</summary>
    Task<IReadOnlyList<TreeItem>> ListGrandChildrenNamedAsync(string repo, string grandParent, string name, CancellationToken cancellationToken);

    /// <summary>Files named <paramref name="name"/> anywhere in <paramref name="repo"/>.</summary>
    Task<IReadOnlyList<TreeItem>> ListNamedAsync(string repo, string name, CancellationToken cancellationToken);

    Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> GetPropertiesAsync(string repo, string path, CancellationToken cancellationToken);

    Task<BlobChecksums?> GetChecksumsAsync(string sha256, CancellationToken cancellationToken);

    Task SetLegacyChecksumsAsync(string sha256, string sha1, string md5, CancellationToken cancellationToken);

    /// <summary>
    /// Creates <paramref name="path"/> and its missing ancestors as folders. A file in the way is a
    /// broken invariant (<see cref="InvalidOperationException"/>): callers whose path a request or a
    /// copy can block ask <see cref="FindObstacleAsync"/> first.
    /// </summary>
    Task EnsureFolderAsync(string repo, string path, string user, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Creates or replaces a file (and its properties) and records its blob. An item in the way is
    /// a broken invariant (<see cref="InvalidOperationException"/>): callers whose path a request or a
    /// copy can block use <see cref="TryPutFileAsync"/>.
    /// </summary>
    Task PutFileAsync(string repo, NewFile file, string user, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// The item in the way of a file (or, with <paramref name="folder"/>, a folder) at
    /// <paramref name="path"/>: a file at one of its ancestors, nearest the root first (nothing can be
    /// placed below a file), else an item of the other kind at the path itself (files and folders
    /// never replace each other); null when nothing is. Copies and moves may give any item a name
    /// that carries no registry meaning, so a registry write can meet one; asked inside a write
    /// transaction, the answer holds for the rest of it.
    /// </summary>
    Task<TreeItem?> FindObstacleAsync(string repo, string path, bool folder, CancellationToken cancellationToken);

    /// <summary>
    /// <see cref="PutFileAsync"/>, unless <see cref="FindObstacleAsync"/> finds an item in the way:
    /// false then, with nothing written. An expected outcome, which the caller answers as its protocol's refusal.
    /// </summary>
    Task<bool> TryPutFileAsync(string repo, NewFile file, string user, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Replaces every value of each given key on the item.</summary>
    Task SetPropertiesAsync(string repo, string path, IReadOnlyDictionary<string, IReadOnlyList<string>> properties, CancellationToken cancellationToken);

    /// <summary>Deletes the item and everything below it; returns how many items were removed.</summary>
    Task<int> DeleteAsync(string repo, string path, CancellationToken cancellationToken);

    /// <summary>Sets the item's modification time and user.</summary>
    Task TouchAsync(string repo, string path, string user, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Removes the given keys from the item; returns how many values were removed.</summary>
    Task<int> DeletePropertiesAsync(string repo, string path, IReadOnlyCollection<string> keys, CancellationToken cancellationToken);

    /// <summary>Values of one property on every item of <paramref name="repo"/> that carries it.</summary>
    Task<IReadOnlyList<(string Path, string Value)>> ListPropertyValuesAsync(string repo, string key, CancellationToken cancellationToken);

    /// <summary>
    /// Items matching every criterion (each: a key and any of its values, <c>*</c>/<c>?</c> wildcards;
    /// no values means any value), in the given repositories (all when null), ordered by item id,
    /// starting after <paramref name="afterId"/>.
    /// </summary>
    Task<IReadOnlyList<(long Id, TreeItem Item)>> SearchByPropertiesAsync(
        IReadOnlyList<PropertyCriterion> criteria, IReadOnlyCollection<string>? repos, long afterId, int limit, CancellationToken cancellationToken);

    /// <summary>Items whose name matches <paramref name="pattern"/> (<c>*</c>/<c>?</c>, case-insensitive), ordered by id.</summary>
    Task<IReadOnlyList<(long Id, TreeItem Item)>> SearchByNameAsync(
        string pattern, IReadOnlyCollection<string>? repos, long afterId, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes folders without children created before <paramref name="createdBefore"/>, deepest
    /// first, until none is left; returns how many were removed. Repository roots are not items.
    /// </summary>
    Task<int> PruneEmptyFoldersAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken);

    /// <summary>Item counts per repository: files, folders and the bytes the files name (shared bytes counted each time).</summary>
    Task<IReadOnlyList<RepositoryUsage>> UsageAsync(CancellationToken cancellationToken);
}

/// <summary>One key of a property search and the values that satisfy it (empty: any value).</summary>
internal sealed record PropertyCriterion(string Key, IReadOnlyList<string> Values);

internal sealed record RepositoryUsage(string Repo, long Files, long Folders, long UsedBytes);

/// <summary>
/// The blob catalogue: one row per stored content, whatever names it. Garbage collection asks it
/// which blobs nothing references any more.
/// </summary>
internal interface IBlobRecords
{
    /// <summary>
    /// Records the SHA-512 of a catalogued blob once it has been computed from its bytes; a
    /// <c>sha512</c> name in the tree is trusted only when it equals this (tree names can be copied).
    /// </summary>
    Task RecordSha512Async(string sha256, string sha512, CancellationToken cancellationToken);

    /// <summary>The verified SHA-512 of a catalogued blob; null when none was computed.</summary>
    Task<string?> GetSha512Async(string sha256, CancellationToken cancellationToken);

    /// <summary>
    /// Blobs that no tree item or upload references and that were first recorded before
    /// <paramref name="recordedBefore"/>, up to <paramref name="limit"/>.
    /// </summary>
    Task<IReadOnlyList<StoredBlobRow>> ListUnreferencedAsync(DateTimeOffset recordedBefore, int limit, CancellationToken cancellationToken);

    /// <summary>Whether any tree item or upload names the blob.</summary>
    Task<bool> IsReferencedAsync(string sha256, CancellationToken cancellationToken);

    Task DeleteAsync(string sha256, CancellationToken cancellationToken);

    /// <summary>Totals over the catalogue: all blobs, and those nothing references.</summary>
    Task<BlobTotals> TotalsAsync(CancellationToken cancellationToken);
}

internal sealed record StoredBlobRow(string Sha256, long Size);

internal sealed record BlobTotals(long Count, long Bytes, long UnreferencedCount, long UnreferencedBytes);

internal interface ISettingRecords
{
    Task<string?> GetAsync(string name, CancellationToken cancellationToken);

    /// <summary>Stores <paramref name="value"/> unless the setting exists; returns the stored value.</summary>
    Task<string> GetOrAddAsync(string name, string value, CancellationToken cancellationToken);

    Task SetAsync(string name, string value, CancellationToken cancellationToken);
}
