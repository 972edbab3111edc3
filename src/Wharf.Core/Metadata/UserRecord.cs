namespace Wharf.Core.Metadata;

/// <summary>
/// A user (rest-api §6.1). The password is held only as a salted hash. <see cref="Id"/> is random
/// and immutable, given by the store at creation (a later user of the same name gets another);
/// <see cref="CredentialGeneration"/> grows when the password changes or the user is disabled,
/// which ends every registry and V1 token minted before.
/// </summary>
internal sealed record UserRecord(
    string Name,
    string PasswordHash,
    bool Admin,
    bool Disabled,
    string Email = "",
    bool ProfileUpdatable = true,
    bool DisableUIAccess = false,
    bool InternalPasswordDisabled = false,
    DateTimeOffset? LastLoggedIn = null,
    string Id = "",
    long CredentialGeneration = 0);

internal interface IUserRecords
{
    Task<UserRecord?> GetAsync(string name, CancellationToken cancellationToken);

    Task<IReadOnlyList<UserRecord>> ListAsync(CancellationToken cancellationToken);

    /// <summary>The user of that immutable id; null when there is none (deleted).</summary>
    Task<UserRecord?> GetByIdAsync(string id, CancellationToken cancellationToken);

    /// <summary>Creates the user with a new random <see cref="UserRecord.Id"/> (the record's is ignored) and generation 0.</summary>
    Task<bool> TryCreateAsync(UserRecord user, CancellationToken cancellationToken);

    /// <summary>Replaces every field of an existing user but its id and credential generation; false when there is none.</summary>
    Task<bool> UpdateAsync(UserRecord user, CancellationToken cancellationToken);

    /// <summary>Adds one to the user's credential generation; false when there is no such user.</summary>
    Task<bool> BumpCredentialGenerationAsync(string name, CancellationToken cancellationToken);

    Task<bool> DeleteAsync(string name, CancellationToken cancellationToken);

    Task<int> CountAsync(CancellationToken cancellationToken);
}
