using Microsoft.AspNetCore.Identity;
using Wharf.Core.Metadata;
using Wharf.Core.Security;
using Wharf.Server.Hosting;
using Wharf.Server.Http;

namespace Wharf.Server.Auth;

/// <summary>What the admin sees of a user; the password never leaves the server.</summary>
internal sealed record UserView(
    string Name, string Email, bool Admin, bool ProfileUpdatable, bool DisableUIAccess, bool InternalPasswordDisabled,
    bool Disabled, IReadOnlyList<string> Groups, string Realm, string? LastLoggedIn);

internal sealed record GroupView(string Name, string Description, bool AutoJoin, bool AdminPrivileges, string Realm, IReadOnlyList<string> UserNames);

/// <summary>
/// Users, groups, permission targets and the anonymous switch (rest-api §6; the last two in
/// SecurityService.Permissions.cs). Each change commits in one transaction, drops cached logins
/// and permissions, and writes one audit line. Outcomes are HTTP statuses with a message, since
/// this service exists only for the REST API.
/// </summary>
internal sealed partial class SecurityService(
    IMetadataStore store,
    IPasswordHasher<UserRecord> hasher,
    UserAuthenticator users,
    AccessPolicy policy,
    ILogger<SecurityService> logger)
{
    public const int MaxNameLength = 64;

    public async Task<IReadOnlyList<UserRecord>> ListUsersAsync(CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        return await session.Users.ListAsync(cancellationToken);
    }

    public async Task<UserView?> GetUserAsync(string name, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        var user = await session.Users.GetAsync(name, cancellationToken);
        return user is null ? null : new UserView(
            user.Name, user.Email, user.Admin, user.ProfileUpdatable, user.DisableUIAccess, user.InternalPasswordDisabled, user.Disabled,
            await session.Groups.GroupsOfAsync(user.Name, cancellationToken), "internal",
            user.LastLoggedIn is { } t ? WireTime.Iso(t) : null);
    }

    public async Task<(int Status, string? Message)> SaveUserAsync(string name, UserBody body, bool create, CancellationToken cancellationToken)
    {
        if (InvalidName(name) is { } problem)
        {
            return (400, problem);
        }

        if (body.Name is not null && !string.Equals(body.Name, name, StringComparison.OrdinalIgnoreCase))
        {
            return (400, "The user name in the body differs from the one in the URL.");
        }

        await using var tx = await store.BeginAsync(cancellationToken);
        var existing = await tx.Users.GetAsync(name, cancellationToken);
        if (create && existing is not null)
        {
            return (400, $"User '{name}' already exists.");
        }

        if (!create && existing is null)
        {
            return (404, $"User '{name}' not found.");
        }

        if (name.Equals(Principal.AnonymousName, StringComparison.OrdinalIgnoreCase) && (body.Password is not null || body.Admin == true))
        {
            return (400, "The anonymous user cannot have a password or admin rights.");
        }

        if (create && (string.IsNullOrWhiteSpace(body.Email) || string.IsNullOrEmpty(body.Password)))
        {
            return (400, "Fields 'email' and 'password' are required.");
        }

        if (body.Password is { Length: 0 })
        {
            return (400, "The password must not be empty.");
        }

        var groups = body.Groups;
        if (groups is not null)
        {
            foreach (var group in groups)
            {
                if (await tx.Groups.GetAsync(group, cancellationToken) is null)
                {
                    return (400, $"Group '{group}' does not exist.");
                }
            }
        }
        else if (create)
        {
            groups = [.. (await tx.Groups.ListAsync(cancellationToken)).Where(g => g.AutoJoin).Select(g => g.Name)];
        }

        var user = existing ?? new UserRecord(name, "", false, false);
        user = user with
        {
            Email = body.Email ?? user.Email,
            Admin = body.Admin ?? user.Admin,
            Disabled = body.Disabled ?? user.Disabled,
            ProfileUpdatable = body.ProfileUpdatable ?? user.ProfileUpdatable,
            DisableUIAccess = body.DisableUIAccess ?? user.DisableUIAccess,
            InternalPasswordDisabled = body.InternalPasswordDisabled ?? user.InternalPasswordDisabled,
        };
        if (body.Password is not null)
        {
            user = user with { PasswordHash = hasher.HashPassword(user, body.Password) };
        }

        if (create)
        {
            await tx.Users.TryCreateAsync(user, cancellationToken);
        }
        else
        {
            await tx.Users.UpdateAsync(user, cancellationToken);

            // A new password, disabling, or turning password logins off ends every registry and V1
            // token minted before, whatever credential minted it (re-enabling revives none).
            if (body.Password is not null || (user.Disabled && !existing!.Disabled) || (user.InternalPasswordDisabled && !existing!.InternalPasswordDisabled))
            {
                await tx.Users.BumpCredentialGenerationAsync(user.Name, cancellationToken);
            }
        }

        if (groups is not null)
        {
            await tx.Groups.SetGroupsOfAsync(user.Name, groups, cancellationToken);
        }

        if (!await HasActiveAdminAsync(tx, cancellationToken))
        {
            return (400, "The last administrator cannot lose admin rights or be disabled.");
        }

        await tx.CommitAsync(cancellationToken);
        Changed(create ? "user.create" : "user.update", user.Name);
        return (create ? 201 : 200, null);
    }

    public async Task<(int Status, string? Message)> DeleteUserAsync(string name, CancellationToken cancellationToken)
    {
        if (name.Equals(Principal.AnonymousName, StringComparison.OrdinalIgnoreCase))
        {
            return (400, "The anonymous user cannot be deleted.");
        }

        await using var tx = await store.BeginAsync(cancellationToken);
        if (!await tx.Users.DeleteAsync(name, cancellationToken))
        {
            return (404, $"User '{name}' not found.");
        }

        // Its API key goes with the row (foreign key); its access tokens are revoked here, and its
        // grants leave every target so that a later user of the same name inherits nothing.
        await tx.Credentials.RevokeTokensOfAsync(name, cancellationToken);
        await ForgetPrincipalAsync(tx, name, isGroup: false, cancellationToken);

        if (!await HasActiveAdminAsync(tx, cancellationToken))
        {
            return (400, "The last administrator cannot be deleted.");
        }

        await tx.CommitAsync(cancellationToken);
        Changed("user.delete", name);
        return (200, null);
    }

    public async Task<IReadOnlyList<GroupRecord>> ListGroupsAsync(CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        return await session.Groups.ListAsync(cancellationToken);
    }

    public async Task<GroupView?> GetGroupAsync(string name, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        var group = await session.Groups.GetAsync(name, cancellationToken);
        return group is null ? null : new GroupView(group.Name, group.Description, group.AutoJoin, group.AdminPrivileges, "internal", await session.Groups.MembersAsync(group.Name, cancellationToken));
    }

    public async Task<(int Status, string? Message)> SaveGroupAsync(string name, GroupBody body, bool create, CancellationToken cancellationToken)
    {
        if (InvalidName(name) is { } problem)
        {
            return (400, problem);
        }

        await using var tx = await store.BeginAsync(cancellationToken);
        var existing = await tx.Groups.GetAsync(name, cancellationToken);
        if (create && existing is not null)
        {
            return (400, $"Group '{name}' already exists.");
        }

        if (!create && existing is null)
        {
            return (404, $"Group '{name}' not found.");
        }

        var group = existing ?? new GroupRecord(name, "", false, false);
        group = group with
        {
            Description = body.Description ?? group.Description,
            AutoJoin = body.AutoJoin ?? group.AutoJoin,
            AdminPrivileges = body.AdminPrivileges ?? group.AdminPrivileges,
        };
        if (group.AutoJoin && group.AdminPrivileges)
        {
            return (400, "A group with admin privileges cannot join new users automatically (autoJoin must be false).");
        }

        if (body.UserNames is not null)
        {
            foreach (var user in body.UserNames)
            {
                if (await tx.Users.GetAsync(user, cancellationToken) is null)
                {
                    return (400, $"User '{user}' does not exist.");
                }
            }
        }

        await tx.Groups.UpsertAsync(group, cancellationToken);
        if (body.UserNames is not null)
        {
            await tx.Groups.SetMembersAsync(group.Name, body.UserNames, cancellationToken);
        }

        if (!await HasActiveAdminAsync(tx, cancellationToken))
        {
            return (400, "The last administrator cannot lose admin rights.");
        }

        await tx.CommitAsync(cancellationToken);
        Changed(create ? "group.create" : "group.update", group.Name);
        return (create ? 201 : 200, null);
    }

    public async Task<(int Status, string? Message)> DeleteGroupAsync(string name, CancellationToken cancellationToken)
    {
        await using var tx = await store.BeginAsync(cancellationToken);
        if (!await tx.Groups.DeleteAsync(name, cancellationToken))
        {
            return (404, $"Group '{name}' not found.");
        }

        await ForgetPrincipalAsync(tx, name, isGroup: true, cancellationToken);

        if (!await HasActiveAdminAsync(tx, cancellationToken))
        {
            return (400, "The last administrator cannot lose admin rights.");
        }

        await tx.CommitAsync(cancellationToken);
        Changed("group.delete", name);
        return (200, null);
    }

    private static async Task ForgetPrincipalAsync(IMetadataTransaction tx, string name, bool isGroup, CancellationToken cancellationToken)
    {
        foreach (var target in await tx.Permissions.ListAsync(cancellationToken))
        {
            var grants = isGroup ? target.Groups : target.Users;
            if (grants.ContainsKey(name))
            {
                var remaining = grants.Where(g => !string.Equals(g.Key, name, StringComparison.OrdinalIgnoreCase))
                    .ToDictionary(g => g.Key, g => g.Value, StringComparer.OrdinalIgnoreCase);
                await tx.Permissions.UpsertAsync(isGroup ? target with { Groups = remaining } : target with { Users = remaining }, cancellationToken);
            }
        }
    }

    private static string? InvalidName(string name) =>
        name.Length is 0 or > MaxNameLength || name.Any(c => char.IsControl(c) || c is '/' or '\\' or ':' or ' ')
            ? $"A name has 1 to {MaxNameLength} characters without spaces, slashes or colons."
            : null;

    /// <summary>At least one enabled user is an admin, by flag or through an admin group.</summary>
    private static async Task<bool> HasActiveAdminAsync(IMetadataSession session, CancellationToken cancellationToken)
    {
        var adminGroups = (await session.Groups.ListAsync(cancellationToken)).Where(g => g.AdminPrivileges).Select(g => g.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var user in await session.Users.ListAsync(cancellationToken))
        {
            if (!user.Disabled && !user.InternalPasswordDisabled && (user.Admin || (await session.Groups.GroupsOfAsync(user.Name, cancellationToken)).Any(adminGroups.Contains)))
            {
                return true;
            }
        }

        return false;
    }

    private void Changed(string action, string subject)
    {
        users.Invalidate();
        policy.Invalidate();
        Log.Audit(logger, action, subject);
    }
}
