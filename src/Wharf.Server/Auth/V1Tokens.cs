using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Wharf.Core.Naming;
using Wharf.Core.Security;

namespace Wharf.Server.Auth;

internal enum V1Access
{
    Read,
    Write,
}

/// <summary>
/// What a V1 token (docker-v1-protocol §5.3) grants: one access to one repository, for one identity,
/// as long as the credential it was minted with stands (<see cref="Via"/> and the fields after it,
/// see <see cref="CredentialOrigin"/>; no <see cref="Via"/> for anonymous callers).
/// </summary>
internal sealed record V1TokenGrant(
    string User, string RepoKey, string Repository, V1Access Access, long ExpiresUnix,
    string? Via = null, string? UserId = null, long Generation = 0, string? CredentialId = null)
{
    /// <summary>The minting credential; null for anonymous callers or when the grant names none.</summary>
    public CredentialOrigin? Origin => Origins.Parse(Via) is { } kind ? new CredentialOrigin(kind, UserId, Generation, CredentialId) : null;
}

/// <summary>
/// Issues and verifies V1 tokens. The value keeps the documented shape
/// <c>signature=…,repository="ns/name",access=write</c>; the signature carries the signed grant
/// (<c>base64url(json).base64url(HMAC-SHA256)</c>), so tokens need no storage and work across nodes
/// that share the key.
/// </summary>
internal sealed partial class V1Tokens(byte[] key, TimeProvider time, TimeSpan lifetime)
{
    /// <summary>A token for <paramref name="user"/>, expiring after the lifetime or with <paramref name="origin"/>'s credential if that ends first.</summary>
    public string Issue(string user, string repoKey, V1RepositoryName repository, V1Access access, CredentialOrigin? origin)
    {
        var expires = Origins.Cap(time.GetUtcNow().Add(lifetime), origin).ToUnixTimeSeconds();
        var grant = new V1TokenGrant(
            user, repoKey, repository.FullName, access, expires,
            origin is null ? null : Origins.Name(origin.Kind), origin?.UserId, origin?.Generation ?? 0, origin?.CredentialId);
        var payload = Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(grant));
        var signature = Base64Url.EncodeToString(HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(payload)));
        return $"signature={payload}.{signature},repository=\"{repository.FullName}\",access={(access == V1Access.Write ? "write" : "read")}";
    }

    /// <summary>
    /// The grant of a token value (after the <c>Token</c> scheme); null when forged, malformed,
    /// expired, or when its readable <c>repository</c>/<c>access</c> fields disagree with the signed grant.
    /// </summary>
    public V1TokenGrant? Verify(string value)
    {
        var match = SignaturePattern().Match(value);
        if (!match.Success)
        {
            return null;
        }

        var payload = match.Groups["payload"].Value;
        Span<byte> expected = stackalloc byte[32];
        HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(payload), expected);
        Span<byte> actual = stackalloc byte[64];
        if (!Base64Url.IsValid(match.Groups["mac"].Value) || !Base64Url.TryDecodeFromChars(match.Groups["mac"].Value, actual, out var written)
            || !CryptographicOperations.FixedTimeEquals(actual[..written], expected))
        {
            return null;
        }

        try
        {
            var grant = JsonSerializer.Deserialize<V1TokenGrant>(Base64Url.DecodeFromChars(payload));
            return grant is not null && grant.ExpiresUnix > time.GetUtcNow().ToUnixTimeSeconds()
                && ReadableFieldsMatch(value, grant) ? grant : null;
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            return null;
        }
    }

    private static bool ReadableFieldsMatch(string value, V1TokenGrant grant)
    {
        foreach (Match field in FieldPattern().Matches(value))
        {
            var expected = field.Groups["key"].Value switch
            {
                "repository" => grant.Repository,
                "access" => grant.Access == V1Access.Write ? "write" : "read",
                _ => null,
            };
            if (expected is not null && field.Groups["value"].Value != expected)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The reference server's lenient field syntax (docker-v1-protocol §5.3).</summary>
    [GeneratedRegex(@"(?<key>\w+)[:=][\s""]?(?<value>[^"",]+)""?", RegexOptions.CultureInvariant)]
    private static partial Regex FieldPattern();

    [GeneratedRegex(@"signature[:=]\s*""?(?<payload>[A-Za-z0-9_-]+)\.(?<mac>[A-Za-z0-9_-]+)", RegexOptions.CultureInvariant)]
    private static partial Regex SignaturePattern();
}
