using Wharf.Core.Metadata;
using Wharf.Core.Security;

namespace Wharf.Server.Auth;

// What a change to a user, group or permission target carries (rest-api §6.1–§6.3): the REST API's
// JSON bodies bind to these. Every field is optional, so that POST is a partial update;
// SecurityService checks each one.

internal sealed record UserBody(
    string? Name,
    string? Email,
    string? Password,
    bool? Admin,
    bool? ProfileUpdatable,
    bool? DisableUIAccess,
    bool? InternalPasswordDisabled,
    bool? Disabled,
    IReadOnlyList<string>? Groups,
    string? Realm,
    string? LastLoggedIn);

internal sealed record GroupBody(string? Name, string? Description, bool? AutoJoin, bool? AdminPrivileges, string? Realm, IReadOnlyList<string>? UserNames);

internal sealed record PrincipalsBody(IReadOnlyDictionary<string, IReadOnlyList<string>>? Users, IReadOnlyDictionary<string, IReadOnlyList<string>>? Groups);

internal sealed record PermissionBody(string? Name, string? IncludesPattern, string? ExcludesPattern, IReadOnlyList<string>? Repositories, PrincipalsBody? Principals)
{
    public static PermissionBody From(PermissionTarget target) => new(
        target.Name, target.IncludesPattern, target.ExcludesPattern, target.Repositories,
        new PrincipalsBody(
            target.Users.ToDictionary(u => u.Key, u => ActionLetters.Format(u.Value)),
            target.Groups.ToDictionary(g => g.Key, g => ActionLetters.Format(g.Value))));
}
