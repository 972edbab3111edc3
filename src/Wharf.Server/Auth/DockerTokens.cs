using System.Security.Claims;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Wharf.Core.Security;

namespace Wharf.Server.Auth;

/// <summary>One granted scope of the Docker token spec: <c>repository:&lt;name&gt;:pull,push</c>.</summary>
internal sealed record DockerAccess(string Type, string Name, IReadOnlyList<string> Actions);

/// <summary>
/// What a verified registry token says: who, for which repository key, which access, and the
/// credential it was minted with (null for anonymous callers), which must still stand when it is used.
/// </summary>
internal sealed record DockerTokenGrant(string Subject, string RepoKey, IReadOnlyList<DockerAccess> Access, CredentialOrigin? Origin);

/// <summary>
/// Registry tokens of the V2 login flow (rest-api §3.3): HMAC-SHA256 JWTs bound to subject,
/// repository key, granted scopes, expiry and the minting credential (claims <c>uid</c>, <c>gen</c>,
/// <c>via</c>, <c>cid</c>: see <see cref="CredentialOrigin"/>). A token expires with the credential
/// it was minted with at the latest. The key lives in the database, shared by every node.
/// </summary>
internal sealed class DockerTokens(byte[] key, TimeProvider time, TimeSpan lifetime)
{
    public const string Issuer = "wharf";

    /// <summary>How far another node's clock may run ahead of this one's for a token it issued.</summary>
    private static readonly TimeSpan NotBeforeSkew = TimeSpan.FromSeconds(30);

    private readonly SymmetricSecurityKey _key = new(key);
    private readonly JsonWebTokenHandler _handler = new();

    public TimeSpan Lifetime => lifetime;

    /// <summary>A token and when it expires: after the lifetime, or with <paramref name="origin"/>'s credential if that ends first.</summary>
    public (string Token, DateTimeOffset Expires) Issue(string subject, string repoKey, string service, IReadOnlyList<DockerAccess> access, CredentialOrigin? origin)
    {
        var now = time.GetUtcNow();
        var expires = Origins.Cap(now.Add(lifetime), origin);
        var claims = new Dictionary<string, object>
        {
            ["access"] = access.Select(a => new Dictionary<string, object> { ["type"] = a.Type, ["name"] = a.Name, ["actions"] = a.Actions }).ToList(),
        };
        if (origin is not null)
        {
            claims["via"] = Origins.Name(origin.Kind);
            claims["gen"] = origin.Generation;
            if (origin.UserId is not null)
            {
                claims["uid"] = origin.UserId;
            }

            if (origin.CredentialId is not null)
            {
                claims["cid"] = origin.CredentialId;
            }
        }

        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = service,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            Subject = new ClaimsIdentity([new Claim("sub", subject), new Claim("repo", repoKey)]),
            Claims = claims,
            SigningCredentials = new SigningCredentials(_key, SecurityAlgorithms.HmacSha256),
        });
        return (token, expires);
    }

    /// <summary>The grant of a registry token; null when forged, expired or not one of ours.</summary>
    public async Task<DockerTokenGrant?> VerifyAsync(string token)
    {
        var result = await _handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = Issuer,
            ValidateAudience = false,
            IssuerSigningKey = _key,
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            RequireExpirationTime = true,

            // By the injected clock, the one that issued the token (the handler's own check reads
            // the system clock): expired at exp exactly; nbf allows other nodes' clocks to run ahead.
            LifetimeValidator = (notBefore, expires, _, _) =>
            {
                var now = time.GetUtcNow().UtcDateTime;
                return expires is { } exp && now < exp && !(notBefore is { } nbf && now + NotBeforeSkew < nbf);
            },
        });
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            return null;
        }

        var access = new List<DockerAccess>();
        if (jwt.TryGetPayloadValue<JsonElement>("access", out var array) && array.ValueKind == JsonValueKind.Array)
        {
            foreach (var entry in array.EnumerateArray())
            {
                access.Add(new DockerAccess(
                    entry.GetProperty("type").GetString() ?? "",
                    entry.GetProperty("name").GetString() ?? "",
                    [.. entry.GetProperty("actions").EnumerateArray().Select(a => a.GetString() ?? "")]));
            }
        }

        CredentialOrigin? origin = null;
        if (jwt.TryGetPayloadValue<string>("via", out var via) && Origins.Parse(via) is { } kind && jwt.TryGetPayloadValue<long>("gen", out var generation))
        {
            origin = new CredentialOrigin(
                kind,
                jwt.TryGetPayloadValue<string>("uid", out var uid) ? uid : null,
                generation,
                jwt.TryGetPayloadValue<string>("cid", out var cid) ? cid : null);
        }

        return new DockerTokenGrant(jwt.Subject, jwt.TryGetPayloadValue<string>("repo", out var repo) ? repo : "", access, origin);
    }
}
