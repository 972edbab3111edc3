using Wharf.Core.Metadata;

namespace Wharf.Server.Api;

/// <summary>
/// Repository configurations as the gates resolve them: every registry and REST request asks, so
/// each is read once and kept until the store's next write (<see cref="GenerationCache{TKey, TValue}"/>).
/// </summary>
internal sealed class RepositoryLookup(IMetadataStore store)
{
    private readonly GenerationCache<string, RepositoryConfig?> _repositories = new(store, 1024);

    /// <summary>The repository of <paramref name="key"/> (as the store matches keys), or null.</summary>
    public ValueTask<RepositoryConfig?> FindAsync(string key, CancellationToken cancellationToken) =>
        _repositories.GetOrReadAsync(key, async (k, ct) =>
        {
            await using var session = await store.OpenAsync(ct);
            return await session.Repositories.GetAsync(k, ct);
        }, cancellationToken);

    public async Task<IReadOnlyList<RepositoryConfig>> ListAsync(CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        return await session.Repositories.ListAsync(cancellationToken);
    }
}
