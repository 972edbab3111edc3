using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Wharf.Core.Security;
using Wharf.Server.Auth;

namespace Wharf.Server.Ui;

/// <summary>
/// Who the visitor of a UI page is. The cookie holds only the credential origin of the login
/// (user id, credential generation, API key or token id), and each request resolves it again
/// through <see cref="UserAuthenticator.FromOriginAsync"/>: a password change, a disabled user or
/// a revoked token ends the session at once, and rights are always the current ones.
/// </summary>
internal sealed class UiSession(UserAuthenticator users, AccessPolicy policy, IHttpContextAccessor accessor)
{
    private const string KindClaim = "wharf:kind";
    private const string UserIdClaim = "wharf:uid";
    private const string GenerationClaim = "wharf:gen";
    private const string CredentialClaim = "wharf:cred";

    private Principal? _resolved;

    /// <summary>The signed-in user, or anonymous when there is no (valid) session.</summary>
    public async Task<Principal> CurrentAsync(CancellationToken cancellationToken)
    {
        if (_resolved is not null)
        {
            return _resolved;
        }

        var user = accessor.HttpContext?.User;
        _resolved = Principal.Anonymous;
        if (user?.Identity?.IsAuthenticated == true
            && Enum.TryParse<OriginKind>(user.FindFirstValue(KindClaim), out var kind)
            && long.TryParse(user.FindFirstValue(GenerationClaim), CultureInfo.InvariantCulture, out var generation))
        {
            var origin = new CredentialOrigin(kind, user.FindFirstValue(UserIdClaim), generation, user.FindFirstValue(CredentialClaim));
            _resolved = await users.FromOriginAsync(origin, cancellationToken) ?? Principal.Anonymous;
        }

        return _resolved;
    }

    /// <summary>Whether a visitor without a session may browse (anonymous access is on).</summary>
    public ValueTask<bool> AnonymousMayBrowseAsync(CancellationToken cancellationToken) => policy.AnonymousAccessAsync(cancellationToken);

    /// <summary>Starts a session for <paramref name="principal"/>, who just logged in.</summary>
    public static Task SignInAsync(HttpContext context, Principal principal)
    {
        var origin = principal.Origin ?? throw new InvalidOperationException("A login always has an origin.");
        var claims = new List<Claim>
        {
            new(ClaimTypes.Name, principal.DisplayName),
            new(KindClaim, origin.Kind.ToString()),
            new(GenerationClaim, origin.Generation.ToString(CultureInfo.InvariantCulture)),
        };
        if (origin.UserId is not null)
        {
            claims.Add(new Claim(UserIdClaim, origin.UserId));
        }

        if (origin.CredentialId is not null)
        {
            claims.Add(new Claim(CredentialClaim, origin.CredentialId));
        }

        var properties = new AuthenticationProperties();
        if (origin.Expiry is { } expiry)
        {
            properties.ExpiresUtc = expiry;
        }

        return context.SignInAsync(UiSetup.Scheme, new ClaimsPrincipal(new ClaimsIdentity(claims, UiSetup.Scheme)), properties);
    }

    public static Task SignOutAsync(HttpContext context) => context.SignOutAsync(UiSetup.Scheme);
}
