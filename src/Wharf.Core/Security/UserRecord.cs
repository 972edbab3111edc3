namespace Wharf.Core.Security;

/// <summary>A user (rest-api §6.1). The password is held only as a salted hash.</summary>
internal sealed record UserRecord(
    string Name,
    string PasswordHash,
    bool Admin,
    bool Disabled,
    string Email = "",
    bool ProfileUpdatable = true,
    bool DisableUIAccess = false,
    bool InternalPasswordDisabled = false,
    DateTimeOffset? LastLoggedIn = null);

internal interface IUserRecords
{
    Task<UserRecord?> GetAsync(string name, CancellationToken cancellationToken);

    Task<IReadOnlyList<UserRecord>> ListAsync(CancellationToken cancellationToken);

    Task<bool> TryCreateAsync(UserRecord user, CancellationToken cancellationToken);

    /// <summary>Replaces every field of an existing user; false when there is none.</summary>
    Task<bool> UpdateAsync(UserRecord user, CancellationToken cancellationToken);

    Task<bool> DeleteAsync(string name, CancellationToken cancellationToken);

    Task<int> CountAsync(CancellationToken cancellationToken);
}
