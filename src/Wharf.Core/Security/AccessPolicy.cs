using Wharf.Core.Metadata;

namespace Wharf.Core.Security;

/// <summary>
/// Whether the caller may do <paramref name="actions"/> on exactly <paramref name="path"/> of one
/// repository (a file, or a folder as an item of its own), as the storage API decides it.
/// </summary>
internal delegate ValueTask<bool> ItemAccess(string path, AccessActions actions);

/// <summary>
/// Asks whether the caller may perform <paramref name="actions"/> on exactly <paramref name="path"/>
/// of a repository (an item, as the storage API decides it); operations across repositories ask it
/// for every path they read, write or delete.
/// </summary>
internal delegate ValueTask<bool> PathPermission(RepositoryConfig repository, string path, AccessActions actions);

/// <summary>
/// Who is asking: a user with the groups it belongs to, or nobody (anonymous).
/// <see cref="ViaToken"/> marks a principal derived from an access token: it may not mint
/// credentials broader than itself. <see cref="Origin"/> is the credential it proved itself with
/// (null for anonymous callers): registry and V1 tokens minted for it carry that, and die with it.
/// </summary>
internal sealed record Principal(string? UserName, bool IsAdmin, IReadOnlyList<string>? Groups = null, bool ViaToken = false, CredentialOrigin? Origin = null)
{
    public const string AnonymousName = "anonymous";

    public static readonly Principal Anonymous = new(null, false);

    public bool IsAnonymous => UserName is null;

    /// <summary>
    /// The subject of an access token that was no user when the token was issued: its rights come
    /// from its groups alone, never from grants to a user of its name (one may be created later).
    /// </summary>
    public bool Transient { get; init; }

    /// <summary>The name written to created-by fields and audit lines.</summary>
    public string DisplayName => UserName ?? AnonymousName;
}

/// <summary>
/// The one authorization service: every route asks it what a principal may do at a repository
/// path, computed as rest-api §6.5 says. Admins (flag or admin group) may do everything. Otherwise
/// the actions are the union, over the permission targets that cover the repository and path, of
/// the grants to the user and its groups; anonymous callers count as the user <c>anonymous</c>,
/// and only while anonymous access is on (a repository's <c>anonymousRead</c> flag then also
/// grants read there). Authenticated users do not inherit the anonymous grants.
/// </summary>
internal sealed class AccessPolicy(IMetadataStore store, TimeProvider time)
{
    /// <summary>How long a node may use a snapshot of targets and switches written by another node.</summary>
    private static readonly TimeSpan SnapshotLifetime = TimeSpan.FromSeconds(2);

    private Snapshot? _snapshot;
    private long _version;

    public const string AnonymousAccessSetting = "security.anonymousAccess";

    /// <summary>
    /// The actions on <paramref name="path"/> as an item of its own: a file, or a folder itself.
    /// A folder (<paramref name="isFolder"/>) is also readable when a permitted path lies below it,
    /// so that browsing can reach it; that read covers the folder's listing, never what it holds.
    /// </summary>
    public ValueTask<AccessActions> GetActionsAsync(Principal principal, RepositoryConfig repository, string path, bool isFolder, CancellationToken cancellationToken) =>
        ActionsAsync(principal, repository, path, isFolder ? Reach.Browse : Reach.Item, cancellationToken);

    /// <summary>
    /// Every action the caller holds on <paramref name="folder"/> or on some path below it: an upper
    /// bound for a request about what the folder holds (the registry gates, registry token scopes),
    /// to be followed by the check of each exact path the request touches.
    /// </summary>
    public ValueTask<AccessActions> GetActionsAtOrBelowAsync(Principal principal, RepositoryConfig repository, string folder, CancellationToken cancellationToken) =>
        ActionsAsync(principal, repository, folder, Reach.Below, cancellationToken);

    public async ValueTask<bool> AllowsAtOrBelowAsync(Principal principal, RepositoryConfig repository, string folder, AccessActions needed, CancellationToken cancellationToken) =>
        ((await GetActionsAtOrBelowAsync(principal, repository, folder, cancellationToken)) & needed) == needed;

    /// <summary>The caller's permissions on exact paths of one repository, for services that discover the paths they touch.</summary>
    public ItemAccess ItemAccessFor(Principal principal, RepositoryConfig repository, CancellationToken cancellationToken) =>
        (path, actions) => AllowsAsync(principal, repository, path, isFolder: false, actions, cancellationToken);

    /// <summary>The caller's permissions on exact paths of any repository, for operations across repositories.</summary>
    public PathPermission PermissionFor(Principal principal, CancellationToken cancellationToken) =>
        (repository, path, actions) => AllowsAsync(principal, repository, path, isFolder: false, actions, cancellationToken);

    /// <summary>How a path is judged: as an item, as a folder to browse, or as everything at or below it.</summary>
    private enum Reach
    {
        Item,
        Browse,
        Below,
    }

    private async ValueTask<AccessActions> ActionsAsync(Principal principal, RepositoryConfig repository, string path, Reach reach, CancellationToken cancellationToken)
    {
        if (repository.BlackedOut)
        {
            return AccessActions.None;
        }

        // The path is split once; every pattern is already split (AntPattern caches them).
        var segments = AntPattern.Segments(path);
        var granted = await GrantedActionsAsync(principal, repository, segments, reach, cancellationToken);
        return RepositoryPatternsAllowDeploy(repository, segments, reach) ? granted : granted & ~AccessActions.Deploy;
    }

    /// <summary>The repository's own include and exclude patterns limit where anything may be deployed (rest-api §2.2).</summary>
    private static bool RepositoryPatternsAllowDeploy(RepositoryConfig repository, string[] path, Reach reach) =>
        path.Length == 0 || reach switch
        {
            Reach.Below => !AntPattern.CoversAllBelowAny(repository.ExcludesPattern, path)
                && (AntPattern.MatchesAny(repository.IncludesPattern, path) || AntPattern.CouldMatchBelowAny(repository.IncludesPattern, path)),
            _ => !AntPattern.MatchesAny(repository.ExcludesPattern, path)
                && (AntPattern.MatchesAny(repository.IncludesPattern, path) || (reach == Reach.Browse && AntPattern.CouldMatchBelowAny(repository.IncludesPattern, path))),
        };

    private async ValueTask<AccessActions> GrantedActionsAsync(Principal principal, RepositoryConfig repository, string[] path, Reach reach, CancellationToken cancellationToken)
    {
        if (principal.IsAdmin)
        {
            return AccessActions.All;
        }

        var snapshot = await SnapshotAsync(cancellationToken);
        if (principal.IsAnonymous && !snapshot.AnonymousAccess)
        {
            return AccessActions.None;
        }

        var actions = principal.IsAnonymous && repository.AnonymousRead ? AccessActions.Read : AccessActions.None;
        foreach (var target in snapshot.Targets)
        {
            // A target that grants the caller nothing adds nothing, whatever its patterns say.
            var granted = Granted(target, principal);
            if (granted == AccessActions.None || !target.CoversRepository(repository.Key))
            {
                continue;
            }

            var excluded = reach == Reach.Below
                ? AntPattern.CoversAllBelowAny(target.ExcludesPattern, path)
                : AntPattern.MatchesAny(target.ExcludesPattern, path);
            if (excluded)
            {
                continue;
            }

            if (AntPattern.MatchesAny(target.IncludesPattern, path))
            {
                actions |= granted;
            }
            else if (reach != Reach.Item && AntPattern.CouldMatchBelowAny(target.IncludesPattern, path))
            {
                // Browsing down to a permitted path needs read on the folders above it; below, the grant itself may apply.
                actions |= reach == Reach.Below ? granted : AccessActions.Read;
            }
        }

        return ActionLetters.Normalize(actions);
    }

    public async ValueTask<bool> AllowsAsync(Principal principal, RepositoryConfig repository, string path, bool isFolder, AccessActions needed, CancellationToken cancellationToken) =>
        ((await GetActionsAsync(principal, repository, path, isFolder, cancellationToken)) & needed) == needed;

    /// <summary>
    /// Every user and group with at least one action on the path through the targets that cover it
    /// (rest-api §4.4), actions normalised as in §6.5.
    /// </summary>
    public async ValueTask<(IReadOnlyDictionary<string, AccessActions> Users, IReadOnlyDictionary<string, AccessActions> Groups)> PrincipalsAtAsync(
        RepositoryConfig repository, string path, CancellationToken cancellationToken)
    {
        var users = new Dictionary<string, AccessActions>(StringComparer.OrdinalIgnoreCase);
        var groups = new Dictionary<string, AccessActions>(StringComparer.OrdinalIgnoreCase);
        foreach (var target in (await SnapshotAsync(cancellationToken)).Targets)
        {
            if (target.CoversRepository(repository.Key) && AntPattern.MatchesAny(target.IncludesPattern, path) && !AntPattern.MatchesAny(target.ExcludesPattern, path))
            {
                foreach (var (user, actions) in target.Users)
                {
                    users[user] = ActionLetters.Normalize(users.GetValueOrDefault(user) | actions);
                }

                foreach (var (group, actions) in target.Groups)
                {
                    groups[group] = ActionLetters.Normalize(groups.GetValueOrDefault(group) | actions);
                }
            }
        }

        return (users, groups);
    }

    /// <summary>Whether anonymous requests are considered at all (rest-api §6.4).</summary>
    public async ValueTask<bool> AnonymousAccessAsync(CancellationToken cancellationToken) =>
        (await SnapshotAsync(cancellationToken)).AnonymousAccess;

    /// <summary>Drops the cached targets and switches after a local change.</summary>
    public void Invalidate()
    {
        Interlocked.Increment(ref _version);
        _snapshot = null;
    }

    private static AccessActions Granted(PermissionTarget target, Principal principal)
    {
        var actions = principal.Transient ? AccessActions.None : target.Users.GetValueOrDefault(principal.UserName ?? Principal.AnonymousName);
        if (!principal.IsAnonymous)
        {
            foreach (var group in principal.Groups ?? [])
            {
                actions |= target.Groups.GetValueOrDefault(group);
            }
        }

        return actions;
    }

    private async ValueTask<Snapshot> SnapshotAsync(CancellationToken cancellationToken)
    {
        var current = _snapshot;
        var now = time.GetUtcNow();
        var version = Interlocked.Read(ref _version);

        // The version check also rejects a snapshot published just after an Invalidate that
        // raced with its publication (the check below and the store are not one atomic step).
        if (current is not null && current.Version == version && now - current.Taken < SnapshotLifetime)
        {
            return current;
        }

        await using var session = await store.OpenAsync(cancellationToken);
        var targets = await session.Permissions.ListAsync(cancellationToken);
        var anonymous = await session.Settings.GetAsync(AnonymousAccessSetting, cancellationToken) == "true";
        current = new Snapshot(targets, anonymous, now, version);

        // A change committed while this snapshot was read must not be hidden by publishing it.
        if (Interlocked.Read(ref _version) == version)
        {
            _snapshot = current;
        }

        return current;
    }

    private sealed record Snapshot(IReadOnlyList<PermissionTarget> Targets, bool AnonymousAccess, DateTimeOffset Taken, long Version);
}
