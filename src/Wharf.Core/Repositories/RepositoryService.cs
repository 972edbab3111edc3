using Wharf.Core.Lifecycle;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Operations;
using Wharf.Core.Security;
using Wharf.Core.Storage;
using Wharf.Core.WebServer;

namespace Wharf.Core.Repositories;

/// <summary>
/// Creating, changing and deleting repositories (rest-api §2). Deleting one removes its tree and
/// uploads (V1 images in flight and V2 upload sessions) at once, and the sessions' chunks after
/// that; the content nobody else references is reclaimed by <see cref="Cleanup"/>.
/// </summary>
internal sealed class RepositoryService(IMetadataStore store, ContentStore content, AccessPolicy policy, TimeProvider time)
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
        if ((await KeyRefusedAsync(tx, config, cancellationToken) ?? await PortTakenAsync(tx, config, cancellationToken)) is { } clash)
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
        if ((await KeyRefusedAsync(tx, config, cancellationToken) ?? await PortTakenAsync(tx, config, cancellationToken)) is { } clash)
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

    /// <summary>
    /// Deletes the repository, its tree and uploads, and its key from permission targets. Its V2
    /// upload sessions go in the same transaction (a repository created again under the key must not
    /// accept them), and their chunks right after it: no row names them any more.
    /// </summary>
    public async Task<OperationResult> DeleteAsync(string key, CancellationToken cancellationToken)
    {
        IReadOnlyList<V2Upload> sessions;
        RepositoryConfig? existing;
        await using (var tx = await store.BeginAsync(cancellationToken))
        {
            existing = await tx.Repositories.GetAsync(key, cancellationToken);
            if (existing is null || !await tx.Repositories.DeleteAsync(existing.Key, cancellationToken))
            {
                return OperationResult.NotFound($"Repository '{key}' not found.");
            }

            sessions = await tx.V2Uploads.DeleteForRepositoryAsync(existing.Key, cancellationToken);
            await RemoveFromPermissionTargetsAsync(tx, existing.Key, cancellationToken);
            await tx.CommitAsync(cancellationToken);
        }

        policy.Invalidate();

        // Chunks a PATCH still writes are its own: it finds the session gone and deletes them.
        await content.DeleteKeysAsync(sessions.SelectMany(s => s.ChunkKeys), CancellationToken.None);
        return OperationResult.Ok($"Repository '{existing.Key}' and all its content have been removed successfully.");
    }

    private static async Task RemoveFromPermissionTargetsAsync(IMetadataTransaction tx, string key, CancellationToken cancellationToken)
    {

        foreach (var target in await tx.Permissions.ListAsync(cancellationToken))
        {
            if (target.Repositories.Contains(key, StringComparer.OrdinalIgnoreCase))
            {
                await tx.Permissions.UpsertAsync(target with { Repositories = [.. target.Repositories.Where(r => !r.Equals(key, StringComparison.OrdinalIgnoreCase))] }, cancellationToken);
            }
        }
    }

    /// <summary>
    /// A key the web-server configuration rules out (rest-api §2.3: under the subdomain method a key
    /// is a DNS label). Read in the repository's own write transaction, so a change of method cannot
    /// slip in between (<see cref="WebServerSettings.UpdateAsync"/> checks the keys in its own).
    /// </summary>
    private static async Task<OperationResult?> KeyRefusedAsync(IMetadataSession session, RepositoryConfig config, CancellationToken cancellationToken) =>
        (await WebServerSettings.ReadAsync(session.Settings, cancellationToken))?.KeyProblem(config.Key) is { } problem
            ? OperationResult.BadRequest(problem)
            : null;

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
