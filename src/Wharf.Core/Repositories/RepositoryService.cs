using Wharf.Core.Lifecycle;
using Wharf.Core.Naming;
using Wharf.Core.Security;
using Wharf.Core.Tree;

namespace Wharf.Core.Repositories;

/// <summary>
/// Creating, changing and deleting repositories (rest-api §2). Deleting one removes its tree and
/// uploads at once; the content nobody else references is reclaimed by <see cref="Cleanup"/>.
/// </summary>
internal sealed class RepositoryService(IMetadataStore store, AccessPolicy policy, TimeProvider time)
{
    public async Task<RepositoryConfig?> GetAsync(string key, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        return await session.Repositories.GetAsync(key, cancellationToken);
    }

    public async Task<IReadOnlyList<RepositoryConfig>> ListAsync(CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        return await session.Repositories.ListAsync(cancellationToken);
    }

    public async Task<OperationResult> CreateAsync(RepositoryConfig config, CancellationToken cancellationToken)
    {
        if (RepositoryKey.Validate(config.Key) is { } problem)
        {
            return OperationResult.BadRequest(problem);
        }

        await using var tx = await store.BeginAsync(cancellationToken);
        if (await PortTakenAsync(tx, config, cancellationToken) is { } clash)
        {
            return clash;
        }

        if (!await tx.Repositories.TryCreateAsync(config with { Created = time.GetUtcNow() }, cancellationToken))
        {
            return OperationResult.BadRequest($"Repository '{config.Key}' already exists (keys are unique regardless of case).");
        }

        await tx.CommitAsync(cancellationToken);
        policy.Invalidate();
        return OperationResult.Ok($"Successfully created repository '{config.Key}'");
    }

    public async Task<OperationResult> UpdateAsync(RepositoryConfig config, CancellationToken cancellationToken)
    {
        await using var tx = await store.BeginAsync(cancellationToken);
        if (await PortTakenAsync(tx, config, cancellationToken) is { } clash)
        {
            return clash;
        }

        if (!await tx.Repositories.UpdateAsync(config, cancellationToken))
        {
            return OperationResult.NotFound($"Repository '{config.Key}' not found.");
        }

        await tx.CommitAsync(cancellationToken);
        policy.Invalidate();
        return OperationResult.Ok($"Repository {config.Key} update successful.");
    }

    /// <summary>Deletes the repository, its tree and uploads, and its key from permission targets.</summary>
    public async Task<OperationResult> DeleteAsync(string key, CancellationToken cancellationToken)
    {
        await using var tx = await store.BeginAsync(cancellationToken);
        var existing = await tx.Repositories.GetAsync(key, cancellationToken);
        if (existing is null || !await tx.Repositories.DeleteAsync(existing.Key, cancellationToken))
        {
            return OperationResult.NotFound($"Repository '{key}' not found.");
        }

        foreach (var target in await tx.Permissions.ListAsync(cancellationToken))
        {
            if (target.Repositories.Contains(existing.Key, StringComparer.OrdinalIgnoreCase))
            {
                await tx.Permissions.UpsertAsync(target with { Repositories = [.. target.Repositories.Where(r => !r.Equals(existing.Key, StringComparison.OrdinalIgnoreCase))] }, cancellationToken);
            }
        }

        await tx.CommitAsync(cancellationToken);
        policy.Invalidate();
        return OperationResult.Ok($"Repository '{existing.Key}' and all its content have been removed successfully.");
    }

    private static async Task<OperationResult?> PortTakenAsync(IMetadataSession session, RepositoryConfig config, CancellationToken cancellationToken)
    {
        if (config.RegistryPort is not { } port)
        {
            return null;
        }

        var owner = (await session.Repositories.ListAsync(cancellationToken))
            .FirstOrDefault(r => r.RegistryPort == port && !r.Key.Equals(config.Key, StringComparison.OrdinalIgnoreCase));
        return owner is null ? null : OperationResult.Conflict($"Port {port} is already used by repository '{owner.Key}'.");
    }
}
