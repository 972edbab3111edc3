using System.Buffers;
using System.Security.Cryptography;

namespace Wharf.Core.Naming;

/// <summary>Lower-case hex helpers for SHA-256 digests, the content address of every blob.</summary>
internal static class Sha256Hex
{
    public const int Length = 64;

    private static readonly SearchValues<char> LowerHex = SearchValues.Create("0123456789abcdef");

    /// <summary>True when <paramref name="value"/> is exactly 64 lower-case hex characters.</summary>
    public static bool IsValid(ReadOnlySpan<char> value) =>
        value.Length == Length && !value.ContainsAnyExcept(LowerHex);

    public static string Of(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));

    public static string Format(ReadOnlySpan<byte> hash) => Convert.ToHexStringLower(hash);

    /// <summary>Parses <c>sha256:&lt;hex&gt;</c>, comparing the hex part case-insensitively.</summary>
    public static bool TryParsePrefixed(string? value, out string hex)
    {
        hex = "";
        if (value is null || !value.StartsWith("sha256:", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var candidate = value[7..].Trim().ToLowerInvariant();
        if (!IsValid(candidate))
        {
            return false;
        }

        hex = candidate;
        return true;
    }
}
