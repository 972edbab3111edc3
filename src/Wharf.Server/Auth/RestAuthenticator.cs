using Wharf.Core.Security;

namespace Wharf.Server.Auth;

/// <summary>
/// Credentials on REST routes (rest-api §1.5): Bearer access token, then <c>X-JFrog-Art-Api</c>,
/// then Basic (password, API key or access token), or none. Invalid credentials always answer
/// 401; Wharf never falls back to anonymous after a failed credential.
/// </summary>
internal sealed class RestAuthenticator(UserAuthenticator users)
{
    public const string ApiKeyHeader = "X-JFrog-Art-Api";

    public async Task<Principal?> AuthenticateAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var credentials = Credentials.Parse(request);
        if (credentials.Kind == CredentialKind.Bearer)
        {
            return await users.AccessTokenAsync(credentials.Secret, cancellationToken);
        }

        var apiKeys = request.Headers[ApiKeyHeader];
        if (apiKeys.Count > 0)
        {
            return apiKeys.Count == 1 && apiKeys[0] is { Length: > 0 and <= Credentials.MaxHeaderLength } key
                ? await users.ApiKeyAsync(key, cancellationToken)
                : null;
        }

        switch (credentials.Kind)
        {
            case CredentialKind.None:
                return Principal.Anonymous;
            case CredentialKind.Basic:
                // A throttled attempt (LoginOutcome.Throttled) answers 401 here like any failed credential.
                var (outcome, principal) = await users.LoginAsync(credentials.User, credentials.Secret, request.HttpContext.Connection.RemoteIpAddress?.ToString(), cancellationToken);
                return outcome == LoginOutcome.Ok ? principal : null;
            default:
                return null;
        }
    }
}
