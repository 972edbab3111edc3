using Wharf.Core.Security;

namespace Wharf.Server.Auth;

/// <summary>
/// Credentials on REST routes (rest-api §1.5): Basic with a user's password, or none. Invalid
/// credentials always answer 401; Wharf never falls back to anonymous after a failed credential.
/// </summary>
internal sealed class RestAuthenticator(UserAuthenticator users)
{
    public async Task<Principal?> AuthenticateAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var credentials = Credentials.Parse(request);
        switch (credentials.Kind)
        {
            case CredentialKind.None:
                return Principal.Anonymous;
            case CredentialKind.Basic:
                var (outcome, principal) = await users.LoginAsync(credentials.User, credentials.Secret, cancellationToken);
                return outcome == LoginOutcome.Ok ? principal : null;
            default:
                return null;
        }
    }
}
