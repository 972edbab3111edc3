namespace Wharf.Core.Security;

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

internal static class ActionLetters
{
    private static readonly (AccessActions Action, char Letter)[] Order =
        [(AccessActions.Read, 'r'), (AccessActions.Annotate, 'n'), (AccessActions.Deploy, 'w'), (AccessActions.Delete, 'd'), (AccessActions.Manage, 'm')];

    /// <summary>Parses letters such as <c>["r","w"]</c>; null when one is unknown.</summary>
    public static AccessActions? Parse(IEnumerable<string?>? letters)
    {
        var actions = AccessActions.None;
        foreach (var letter in letters ?? [null])
        {
            var match = Order.FirstOrDefault(o => letter is { Length: 1 } && o.Letter == letter[0]);
            if (match.Letter == default)
            {
                return null;
            }

            actions |= match.Action;
        }

        return actions;
    }

    /// <summary>Letters in the spec's order r, n, w, d, m.</summary>
    public static IReadOnlyList<string> Format(AccessActions actions) =>
        [.. Order.Where(o => (actions & o.Action) != 0).Select(o => o.Letter.ToString())];

    /// <summary>Rule 4 of §6.5: any granted action implies read; manage implies all five.</summary>
    public static AccessActions Normalize(AccessActions actions) =>
        (actions & AccessActions.Manage) != 0 ? AccessActions.All
        : actions == AccessActions.None ? AccessActions.None
        : actions | AccessActions.Read;
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
