using Wharf.Core.Metadata;
using Wharf.Core.Security;

namespace Wharf.Server.Auth;

/// <summary>Permission targets (rest-api §6.3) and the anonymous switch (§6.4).</summary>
internal sealed partial class SecurityService
{
    public async Task<IReadOnlyList<PermissionTarget>> ListPermissionsAsync(CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        return await session.Permissions.ListAsync(cancellationToken);
    }

    public async Task<PermissionTarget?> GetPermissionAsync(string name, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        return await session.Permissions.GetAsync(name, cancellationToken);
    }

    /// <summary>Creates or replaces a permission target after validating every field (rest-api §6.3).</summary>
    public async Task<(int Status, string? Message)> PutPermissionAsync(string name, PermissionBody body, CancellationToken cancellationToken)
    {
        if (name.Length is 0 or > MaxNameLength)
        {
            return (400, $"A permission target name has 1 to {MaxNameLength} characters.");
        }

        if (body.Name is not null && body.Name != name)
        {
            return (400, "The permission target name in the body differs from the one in the URL.");
        }

        var includes = body.IncludesPattern ?? "**";
        var excludes = body.ExcludesPattern ?? "";
        if (includes.Length + excludes.Length > 1024)
        {
            return (400, "Include and exclude patterns may hold 1024 characters together.");
        }

        if (body.Repositories is not { Count: > 0 } repositories)
        {
            return (400, "Field 'repositories' must list at least one repository key or ANY, ANY LOCAL, ANY REMOTE.");
        }

        await using var tx = await store.BeginAsync(cancellationToken);
        foreach (var repository in repositories)
        {
            if (repository is not (PermissionTarget.AnyRepository or PermissionTarget.AnyLocal or PermissionTarget.AnyRemote)
                && await tx.Repositories.GetAsync(repository, cancellationToken) is null)
            {
                return (400, $"Repository '{repository}' does not exist.");
            }
        }

        var grantedUsers = new Dictionary<string, AccessActions>(StringComparer.OrdinalIgnoreCase);
        foreach (var (user, letters) in body.Principals?.Users ?? new Dictionary<string, IReadOnlyList<string>>())
        {
            if (ActionLetters.Parse(letters) is not { } actions)
            {
                return (400, $"Unknown action in [{string.Join(',', letters ?? [])}] for user '{user}'; use r, n, w, d, m.");
            }

            if (await tx.Users.GetAsync(user, cancellationToken) is null)
            {
                return (400, $"User '{user}' does not exist.");
            }

            grantedUsers[user] = actions;
        }

        var grantedGroups = new Dictionary<string, AccessActions>(StringComparer.OrdinalIgnoreCase);
        foreach (var (group, letters) in body.Principals?.Groups ?? new Dictionary<string, IReadOnlyList<string>>())
        {
            if (ActionLetters.Parse(letters) is not { } actions)
            {
                return (400, $"Unknown action in [{string.Join(',', letters ?? [])}] for group '{group}'; use r, n, w, d, m.");
            }

            if (await tx.Groups.GetAsync(group, cancellationToken) is null)
            {
                return (400, $"Group '{group}' does not exist.");
            }

            grantedGroups[group] = actions;
        }

        var created = await tx.Permissions.UpsertAsync(new PermissionTarget(name, includes, excludes, [.. repositories], grantedUsers, grantedGroups), cancellationToken);
        await tx.CommitAsync(cancellationToken);
        Changed(created ? "permission.create" : "permission.replace", name);
        return (200, null);
    }

    /// <summary>Whether the caller holds m on the target itself, directly or through a group.</summary>
    public async Task<bool> ManagesAsync(Principal caller, string targetName, CancellationToken cancellationToken)
    {
        if (await GetPermissionAsync(targetName, cancellationToken) is not { } target)
        {
            return false;
        }

        var actions = caller.Transient ? AccessActions.None : target.Users.GetValueOrDefault(caller.UserName ?? "");
        foreach (var group in caller.Groups ?? [])
        {
            actions |= target.Groups.GetValueOrDefault(group);
        }

        return (actions & AccessActions.Manage) != 0;
    }

    public async Task<bool> DeletePermissionAsync(string name, CancellationToken cancellationToken)
    {
        await using var tx = await store.BeginAsync(cancellationToken);
        var deleted = await tx.Permissions.DeleteAsync(name, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        if (deleted)
        {
            Changed("permission.delete", name);
        }

        return deleted;
    }

    public async Task SetAnonymousAccessAsync(bool enabled, CancellationToken cancellationToken)
    {
        await using var tx = await store.BeginAsync(cancellationToken);
        await tx.Settings.SetAsync(AccessPolicy.AnonymousAccessSetting, enabled ? "true" : "false", cancellationToken);
        await tx.CommitAsync(cancellationToken);
        Changed("anonymousAccess." + (enabled ? "on" : "off"), "anonymous");
    }
}
