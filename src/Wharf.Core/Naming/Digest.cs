using System.Diagnostics.CodeAnalysis;

namespace Wharf.Core.Naming;

/// <summary>
/// An OCI content digest, <c>algorithm:hex</c>, with the two registered algorithms: sha256 (64 hex)
/// and sha512 (128 hex), lower case. Anything else is not a digest.
/// </summary>
internal sealed record Digest(string Algorithm, string Hex)
{
    public const string Sha256 = "sha256";
    public const string Sha512 = "sha512";

    public override string ToString() => Algorithm + ":" + Hex;

    public static Digest OfSha256(string hex) => new(Sha256, hex);

    public static bool TryParse(string? text, [NotNullWhen(true)] out Digest? digest)
    {
        digest = null;
        var colon = text?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        if (colon <= 0)
        {
            return false;
        }

        var algorithm = text![..colon];
        var hex = text[(colon + 1)..];
        var length = algorithm switch
        {
            Sha256 => 64,
            Sha512 => 128,
            _ => -1,
        };
        if (hex.Length != length || !hex.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f'))
        {
            return false;
        }

        digest = new Digest(algorithm, hex);
        return true;
    }
}
