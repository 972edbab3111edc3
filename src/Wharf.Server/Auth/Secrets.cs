using System.Security.Cryptography;
using System.Text;

namespace Wharf.Server.Auth;

/// <summary>Generation and hashing of the random secrets Wharf hands out (API keys, access tokens).</summary>
internal static class Secrets
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>A random string with about 5.95 bits per character.</summary>
    public static string Random(int length) => RandomNumberGenerator.GetString(Alphabet, length);

    /// <summary>
    /// Secrets of 64 random characters (~380 bits) need no slow hash: SHA-256 makes the stored
    /// value useless to whoever reads the database, and allows lookup by hash.
    /// </summary>
    public static string Sha256(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));
}

internal static class ApiKeys
{
    /// <summary>Artifactory's API keys start with this prefix; tools recognise them by it.</summary>
    public const string Prefix = "AKCp";

    public static string New() => Prefix + Secrets.Random(69);

    public static bool LooksLikeKey(string secret) => secret.StartsWith(Prefix, StringComparison.Ordinal) && secret.Length == Prefix.Length + 69;

    /// <summary>
    /// Names one key (of its stored hash) inside the tokens minted with it, so that they die when
    /// it is regenerated or revoked. A hash of the hash, shortened: it identifies, it proves nothing.
    /// </summary>
    public static string Fingerprint(string keySha256) => Secrets.Sha256("apikey-fingerprint:" + keySha256)[..24];
}

internal static class AccessTokens
{
    public const string Prefix = "wharf_at_";
    public const string RefreshPrefix = "wharf_rt_";

    public static string New() => Prefix + Secrets.Random(64);

    public static string NewRefresh() => RefreshPrefix + Secrets.Random(64);

    public static bool LooksLikeToken(string secret) => secret.StartsWith(Prefix, StringComparison.Ordinal) && secret.Length == Prefix.Length + 64;
}
