namespace Wharf.Core.Naming;

/// <summary>V1 image ids: 64 lower-case hex characters (docker-v1-protocol §2.1). Opaque otherwise.</summary>
internal static class ImageId
{
    public static bool IsValid(string? id) => id is not null && Sha256Hex.IsValid(id);
}
