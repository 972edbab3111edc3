using Wharf.Core.Repositories;

namespace Wharf.Core.Security;

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

/// <summary>Who is asking: a user of the database, or nobody (anonymous).</summary>
internal sealed record Principal(string? UserName, bool IsAdmin)
{
    public static readonly Principal Anonymous = new(null, false);

    public bool IsAnonymous => UserName is null;

    /// <summary>The name written to created-by fields and audit lines.</summary>
    public string DisplayName => UserName ?? "anonymous";
}

/// <summary>
/// The one authorization service: every route asks it what a principal may do at a repository
/// path. Until permission targets exist (the security issue), the rules are: admins may do
/// everything; any other authenticated user may read, annotate, deploy and delete; anonymous
/// callers may read where the repository allows anonymous reads.
/// </summary>
internal sealed class AccessPolicy
{
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822", Justification = "Injected service; permission targets give it state.")]
    public ValueTask<AccessActions> GetActionsAsync(Principal principal, RepositoryConfig repository, string path, CancellationToken cancellationToken)
    {
        _ = path;
        _ = cancellationToken;
        if (principal.IsAdmin)
        {
            return ValueTask.FromResult(AccessActions.All);
        }

        if (!principal.IsAnonymous)
        {
            return ValueTask.FromResult(AccessActions.Read | AccessActions.Annotate | AccessActions.Deploy | AccessActions.Delete);
        }

        return ValueTask.FromResult(repository.AnonymousRead ? AccessActions.Read : AccessActions.None);
    }

    public async ValueTask<bool> AllowsAsync(Principal principal, RepositoryConfig repository, string path, AccessActions needed, CancellationToken cancellationToken) =>
        ((await GetActionsAsync(principal, repository, path, cancellationToken)) & needed) == needed;
}
