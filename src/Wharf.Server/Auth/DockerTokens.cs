using System.Security.Claims;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Wharf.Server.Auth;

/// <summary>One granted scope of the Docker token spec: <c>repository:&lt;name&gt;:pull,push</c>.</summary>
internal sealed record DockerAccess(string Type, string Name, IReadOnlyList<string> Actions);

/// <summary>What a verified registry token says: who, for which repository key, and which access.</summary>
internal sealed record DockerTokenGrant(string Subject, string RepoKey, IReadOnlyList<DockerAccess> Access);

/// <summary>
/// Registry tokens of the V2 login flow (rest-api §3.3): HMAC-SHA256 JWTs bound to subject,
/// repository key, granted scopes and expiry. The key lives in the database, shared by every node.
/// </summary>
internal sealed class DockerTokens(byte[] key, TimeProvider time, TimeSpan lifetime)
{
    public const string Issuer = "wharf";

    /// <summary>How far another node's clock may run ahead of this one's for a token it issued.</summary>
    private static readonly TimeSpan NotBeforeSkew = TimeSpan.FromSeconds(30);

    private readonly SymmetricSecurityKey _key = new(key);
    private readonly JsonWebTokenHandler _handler = new();

    public TimeSpan Lifetime => lifetime;

    public string Issue(string subject, string repoKey, string service, IReadOnlyList<DockerAccess> access)
    {
        var now = time.GetUtcNow().UtcDateTime;
        return _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = service,
            IssuedAt = now,
            NotBefore = now,
            Expires = now.Add(lifetime),
            Subject = new ClaimsIdentity([new Claim("sub", subject), new Claim("repo", repoKey)]),
            Claims = new Dictionary<string, object>
            {
                ["access"] = access.Select(a => new Dictionary<string, object> { ["type"] = a.Type, ["name"] = a.Name, ["actions"] = a.Actions }).ToList(),
            },
            SigningCredentials = new SigningCredentials(_key, SecurityAlgorithms.HmacSha256),
        });
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

        return new DockerTokenGrant(jwt.Subject, jwt.TryGetPayloadValue<string>("repo", out var repo) ? repo : "", access);
    }
}
