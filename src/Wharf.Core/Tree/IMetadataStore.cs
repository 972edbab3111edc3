using Wharf.Core.Docker.V1;
using Wharf.Core.Repositories;
using Wharf.Core.Security;

namespace Wharf.Core.Tree;

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

    /// <summary>Creates <paramref name="path"/> and its missing ancestors as folders.</summary>
    Task EnsureFolderAsync(string repo, string path, string user, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Creates or replaces a file (and its properties) and records its blob.</summary>
    Task PutFileAsync(string repo, NewFile file, string user, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Replaces every value of each given key on the item.</summary>
    Task SetPropertiesAsync(string repo, string path, IReadOnlyDictionary<string, IReadOnlyList<string>> properties, CancellationToken cancellationToken);

    /// <summary>Deletes the item and everything below it; returns how many items were removed.</summary>
    Task<int> DeleteAsync(string repo, string path, CancellationToken cancellationToken);
}

internal interface ISettingRecords
{
    Task<string?> GetAsync(string name, CancellationToken cancellationToken);

    /// <summary>Stores <paramref name="value"/> unless the setting exists; returns the stored value.</summary>
    Task<string> GetOrAddAsync(string name, string value, CancellationToken cancellationToken);

    Task SetAsync(string name, string value, CancellationToken cancellationToken);
}
