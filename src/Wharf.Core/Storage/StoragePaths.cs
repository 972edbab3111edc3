using Wharf.Core.Naming;

namespace Wharf.Core.Storage;

/// <summary>
/// The one owner of every byte-store key. Nothing else concatenates storage paths.
/// <code>
/// &lt;store root&gt;/
///   blobs/sha256/&lt;first two hex&gt;/&lt;64 hex&gt;   content, addressed by its SHA-256; written once
///   uploads/&lt;upload id&gt;                      bytes in flight; renamed into blobs/ once verified
///   uploads/v2/&lt;session id&gt;-&lt;n&gt;-&lt;attempt&gt;    chunk n of a resumable V2 upload session
///   reclaiming/&lt;64 hex&gt;                      a blob the collector has taken aside to delete
/// </code>
/// Repository trees (V1 <c>.images/…</c>, <c>repositories/…</c>) are metadata rows pointing at
/// blobs; they never appear as keys here.
/// </summary>
internal static class StoragePaths
{
    public const string BlobsRoot = "blobs/sha256";

    public const string UploadsRoot = "uploads";

    public static string Blob(string sha256Hex)
    {
        if (!Sha256Hex.IsValid(sha256Hex))
        {
            throw new ArgumentException("Not a SHA-256 hex digest.", nameof(sha256Hex));
        }

        return $"{BlobsRoot}/{sha256Hex[..2]}/{sha256Hex}";
    }

    public const string ReclaimingRoot = "reclaiming";

    public static string Upload(Guid uploadId) => $"{UploadsRoot}/{uploadId:N}";

    /// <summary>
    /// One attempt at chunk <paramref name="index"/> of a V2 upload session (each write gets its own
    /// object); <paramref name="uploadId"/> is 32 hex digits. All sessions share one folder: a
    /// folder per session would cost a directory inode per upload, which on ext4 is the dearest
    /// part of a small push.
    /// </summary>
    public static string UploadChunk(string uploadId, int index, Guid attempt)
    {
        if (uploadId.Length != 32 || !uploadId.All(char.IsAsciiHexDigitLower))
        {
            throw new ArgumentException("Not an upload id.", nameof(uploadId));
        }

        return $"{UploadsRoot}/v2/{uploadId}-{index}-{attempt:N}";
    }

    /// <summary>The session a V2 chunk key belongs to (also for chunks written as <c>v2/&lt;id&gt;/&lt;n&gt;-…</c> before the folder was shared); null for other keys.</summary>
    public static string? UploadIdOfChunk(string key)
    {
        var parts = key.Split('/');
        return parts.Length switch
        {
            3 when parts[0] == UploadsRoot && parts[1] == "v2" && parts[2].Length > 33 && parts[2][32] == '-' => parts[2][..32],
            4 when parts[0] == UploadsRoot && parts[1] == "v2" => parts[2],
            _ => null,
        };
    }

    public static string Reclaiming(string sha256Hex) => $"{ReclaimingRoot}/{Sha256Hex.Format(Convert.FromHexString(sha256Hex))}";

    /// <summary>The digest a <see cref="Blob"/> key names; null for any other key.</summary>
    public static string? DigestOfBlobKey(string key)
    {
        var hex = key.StartsWith(BlobsRoot + "/", StringComparison.Ordinal) ? key[(key.LastIndexOf('/') + 1)..] : null;
        return hex is not null && Sha256Hex.IsValid(hex) && key == Blob(hex) ? hex : null;
    }
}
