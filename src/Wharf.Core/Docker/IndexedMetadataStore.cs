using Wharf.Core.Docker.V1;
using Wharf.Core.Docker.V2;
using Wharf.Core.Metadata;
using Wharf.Core.Storage;
using Wharf.Core.Tree;

namespace Wharf.Core.Docker;

/// <summary>
/// The metadata store with the registry's index kept up: every tree write of a transaction, by
/// whichever operation (a push, the storage API's copy, move and delete, promotion, migration,
/// cleanup), updates the index rows of the paths it touched in that same transaction, by the one
/// rules of <see cref="V2TreeIndex"/> and <see cref="V1TreeIndex"/>. So the index and the tree commit together or not at all and
/// never disagree, and nothing that writes the tree has to remember the index.
/// </summary>
internal sealed class IndexedMetadataStore(IMetadataStore inner, ContentStore content) : IMetadataStore
{
    public long Generation => inner.Generation;

    public Task MigrateAsync(CancellationToken cancellationToken) => inner.MigrateAsync(cancellationToken);

    public Task<IMetadataSession> OpenAsync(CancellationToken cancellationToken) => inner.OpenAsync(cancellationToken);

    public async Task<IMetadataTransaction> BeginAsync(CancellationToken cancellationToken) =>
        new IndexedTransaction(await inner.BeginAsync(cancellationToken), content);

    private sealed class IndexedTransaction : IMetadataTransaction
    {
        private readonly IMetadataTransaction _inner;

        public IndexedTransaction(IMetadataTransaction inner, ContentStore content)
        {
            _inner = inner;
            Tree = new IndexedTree(inner, content);
        }

        public IRepositoryRecords Repositories => _inner.Repositories;

        public ITreeRecords Tree { get; }

        public IV1UploadRecords V1Uploads => _inner.V1Uploads;

        public IUserRecords Users => _inner.Users;

        public IGroupRecords Groups => _inner.Groups;

        public IPermissionRecords Permissions => _inner.Permissions;

        public ICredentialRecords Credentials => _inner.Credentials;

        public ISettingRecords Settings => _inner.Settings;

        public IBlobRecords Blobs => _inner.Blobs;

        public IV2UploadRecords V2Uploads => _inner.V2Uploads;

        public IV2IndexRecords V2Index => _inner.V2Index;

        public IV1IndexRecords V1Index => _inner.V1Index;

        public Task CommitAsync(CancellationToken cancellationToken) => _inner.CommitAsync(cancellationToken);

        public ValueTask DisposeAsync() => _inner.DisposeAsync();
    }

    /// <summary>The transaction's tree, each write followed by the index upkeep of what it changed.</summary>
    private sealed class IndexedTree(IMetadataTransaction tx, ContentStore content) : ITreeRecords
    {
        private readonly ITreeRecords _tree = tx.Tree;

        /// <summary>Each repository's API version, once per transaction (null: no such repository).</summary>
        private readonly Dictionary<string, DockerApiVersion?> _versions = new(StringComparer.OrdinalIgnoreCase);

        private async ValueTask<DockerApiVersion?> VersionAsync(string repo, CancellationToken cancellationToken)
        {
            if (!_versions.TryGetValue(repo, out var version))
            {
                _versions[repo] = version = (await tx.Repositories.GetAsync(repo, cancellationToken))?.DockerApiVersion;
            }

            return version;
        }

        /// <summary>The upkeep after the file at <paramref name="path"/> was written or changed (<paramref name="touched"/>: only its times).</summary>
        private async Task IndexAsync(string repo, string path, CancellationToken cancellationToken, bool touched = false)
        {
            if (V2TreeIndex.MayMatter(path))
            {
                if (await VersionAsync(repo, cancellationToken) == DockerApiVersion.V2)
                {
                    await V2TreeIndex.IndexFileAsync(tx, content, repo, path, cancellationToken);
                    return;
                }
            }

            // Nothing of the V1 index depends on a file's times.
            if (!touched && V1TreeIndex.MayMatter(path) && await VersionAsync(repo, cancellationToken) == DockerApiVersion.V1)
            {
                await V1TreeIndex.IndexChangeAsync(tx, content, repo, path, deleted: false, cancellationToken);
            }
        }

        public async Task PutFileAsync(string repo, NewFile file, string user, DateTimeOffset now, CancellationToken cancellationToken)
        {
            await _tree.PutFileAsync(repo, file, user, now, cancellationToken);
            await IndexAsync(repo, file.Path, cancellationToken);
        }

        public async Task<bool> TryPutFileAsync(string repo, NewFile file, string user, DateTimeOffset now, CancellationToken cancellationToken)
        {
            if (!await _tree.TryPutFileAsync(repo, file, user, now, cancellationToken))
            {
                return false;
            }

            await IndexAsync(repo, file.Path, cancellationToken);
            return true;
        }

        public async Task SetPropertiesAsync(string repo, string path, IReadOnlyDictionary<string, IReadOnlyList<string>> properties, CancellationToken cancellationToken)
        {
            await _tree.SetPropertiesAsync(repo, path, properties, cancellationToken);
            await IndexAsync(repo, path, cancellationToken);
        }

        public async Task<int> DeletePropertiesAsync(string repo, string path, IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
        {
            var removed = await _tree.DeletePropertiesAsync(repo, path, keys, cancellationToken);
            await IndexAsync(repo, path, cancellationToken);
            return removed;
        }

        public async Task TouchAsync(string repo, string path, string user, DateTimeOffset now, CancellationToken cancellationToken)
        {
            await _tree.TouchAsync(repo, path, user, now, cancellationToken);
            await IndexAsync(repo, path, cancellationToken, touched: true);
        }

        public async Task<int> DeleteAsync(string repo, string path, CancellationToken cancellationToken)
        {
            var removed = await _tree.DeleteAsync(repo, path, cancellationToken);
            switch (await VersionAsync(repo, cancellationToken))
            {
                case DockerApiVersion.V2:
                    await tx.V2Index.ForgetAsync(repo, path, below: true, cancellationToken);
                    break;
                case DockerApiVersion.V1 when V1TreeIndex.MayMatter(path):
                    await V1TreeIndex.IndexChangeAsync(tx, content, repo, path, deleted: true, cancellationToken);
                    break;
            }

            return removed;
        }

        // Folders mean nothing to the index (an image exists while it names a manifest or a blob).
        public Task EnsureFolderAsync(string repo, string path, string user, DateTimeOffset now, CancellationToken cancellationToken) =>
            _tree.EnsureFolderAsync(repo, path, user, now, cancellationToken);

        public Task<int> PruneEmptyFoldersAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken) =>
            _tree.PruneEmptyFoldersAsync(createdBefore, cancellationToken);

        public Task SetLegacyChecksumsAsync(string sha256, string sha1, string md5, CancellationToken cancellationToken) =>
            _tree.SetLegacyChecksumsAsync(sha256, sha1, md5, cancellationToken);

        // Reads pass through.
        public Task<TreeItem?> GetAsync(string repo, string path, CancellationToken cancellationToken) => _tree.GetAsync(repo, path, cancellationToken);

        public Task<IReadOnlyList<TreeItem>> ListChildrenAsync(string repo, string path, CancellationToken cancellationToken) => _tree.ListChildrenAsync(repo, path, cancellationToken);

        public Task<IReadOnlyList<TreeItem>> ListDescendantsAsync(string repo, string path, CancellationToken cancellationToken) => _tree.ListDescendantsAsync(repo, path, cancellationToken);

        public Task<IReadOnlyList<TreeItem>> ListGrandChildrenNamedAsync(string repo, string grandParent, string name, CancellationToken cancellationToken) =>
            _tree.ListGrandChildrenNamedAsync(repo, grandParent, name, cancellationToken);

        public Task<IReadOnlyList<TreeItem>> ListNamedAsync(string repo, string name, CancellationToken cancellationToken) => _tree.ListNamedAsync(repo, name, cancellationToken);

        public Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> GetPropertiesAsync(string repo, string path, CancellationToken cancellationToken) =>
            _tree.GetPropertiesAsync(repo, path, cancellationToken);

        public Task<BlobChecksums?> GetChecksumsAsync(string sha256, CancellationToken cancellationToken) => _tree.GetChecksumsAsync(sha256, cancellationToken);

        public Task<TreeItem?> FindObstacleAsync(string repo, string path, bool folder, CancellationToken cancellationToken) => _tree.FindObstacleAsync(repo, path, folder, cancellationToken);

        public Task<IReadOnlyList<(string Path, string Value)>> ListPropertyValuesAsync(string repo, string key, CancellationToken cancellationToken) =>
            _tree.ListPropertyValuesAsync(repo, key, cancellationToken);

        public Task<IReadOnlyList<(long Id, TreeItem Item)>> SearchByPropertiesAsync(
            IReadOnlyList<PropertyCriterion> criteria, IReadOnlyCollection<string>? repos, long afterId, int limit, CancellationToken cancellationToken) =>
            _tree.SearchByPropertiesAsync(criteria, repos, afterId, limit, cancellationToken);

        public Task<IReadOnlyList<(long Id, TreeItem Item)>> SearchByNameAsync(string pattern, IReadOnlyCollection<string>? repos, long afterId, int limit, CancellationToken cancellationToken) =>
            _tree.SearchByNameAsync(pattern, repos, afterId, limit, cancellationToken);

        public Task<IReadOnlyList<RepositoryUsage>> UsageAsync(CancellationToken cancellationToken) => _tree.UsageAsync(cancellationToken);
    }
}
