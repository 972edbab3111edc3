namespace Wharf.Core.Security;

internal sealed record UserRecord(string Name, string PasswordHash, bool Admin, bool Disabled);

internal interface IUserRecords
{
    Task<UserRecord?> GetAsync(string name, CancellationToken cancellationToken);

    Task<bool> TryCreateAsync(UserRecord user, CancellationToken cancellationToken);

    Task<int> CountAsync(CancellationToken cancellationToken);
}
