namespace Wharf.Core.Metadata;

/// <summary>The actions of rest-api §6.3.</summary>
[Flags]
internal enum AccessActions
{
    None = 0,
    Read = 1,
    Annotate = 2,
    Deploy = 4,
    Delete = 8,
    Manage = 16,
    All = Read | Annotate | Deploy | Delete | Manage,
}

/// <summary>A group (rest-api §6.2). Members of a group with admin privileges are admins.</summary>
internal sealed record GroupRecord(string Name, string Description, bool AutoJoin, bool AdminPrivileges);

/// <summary>
/// A permission target (rest-api §6.3): which repositories and paths, and who may do what there.
/// Principal names compare case-insensitively, like user and group names.
/// </summary>
internal sealed record PermissionTarget(
    string Name,
    string IncludesPattern,
    string ExcludesPattern,
    IReadOnlyList<string> Repositories,
    IReadOnlyDictionary<string, AccessActions> Users,
    IReadOnlyDictionary<string, AccessActions> Groups)
{
    public const string AnyRepository = "ANY";
    public const string AnyLocal = "ANY LOCAL";
    public const string AnyRemote = "ANY REMOTE";

    public bool CoversRepository(string key) =>
        Repositories.Any(r => r is AnyRepository or AnyLocal || string.Equals(r, key, StringComparison.OrdinalIgnoreCase));
}

internal interface IGroupRecords
{
    Task<GroupRecord?> GetAsync(string name, CancellationToken cancellationToken);

    Task<IReadOnlyList<GroupRecord>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Inserts or replaces; returns false when it replaced an existing group.</summary>
    Task<bool> UpsertAsync(GroupRecord group, CancellationToken cancellationToken);

    Task<bool> DeleteAsync(string name, CancellationToken cancellationToken);

    Task<IReadOnlyList<string>> MembersAsync(string group, CancellationToken cancellationToken);

    Task<IReadOnlyList<string>> GroupsOfAsync(string user, CancellationToken cancellationToken);

    Task SetMembersAsync(string group, IReadOnlyList<string> users, CancellationToken cancellationToken);

    Task SetGroupsOfAsync(string user, IReadOnlyList<string> groups, CancellationToken cancellationToken);
}

internal interface IPermissionRecords
{
    Task<PermissionTarget?> GetAsync(string name, CancellationToken cancellationToken);

    Task<IReadOnlyList<PermissionTarget>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Creates or replaces a target; returns true when it was created.</summary>
    Task<bool> UpsertAsync(PermissionTarget target, CancellationToken cancellationToken);

    Task<bool> DeleteAsync(string name, CancellationToken cancellationToken);
}
