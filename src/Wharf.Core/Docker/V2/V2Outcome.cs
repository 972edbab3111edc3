using Wharf.Core.Naming;

namespace Wharf.Core.Docker.V2;

/// <summary>The expected outcomes of the V2 registry's operations; the protocol's one error table maps them.</summary>
internal enum V2Outcome
{
    Ok,
    Created,
    BlobUnknown,
    UploadUnknown,
    RangeInvalid,
    DigestInvalid,
    SizeInvalid,
    BodyIncomplete,
    ManifestUnknown,
    ManifestInvalid,
    ManifestUnsupported,
    ManifestBlobUnknown,
    BlobInUse,
    Denied,

    /// <summary>An item of the tree (a copy may put one under any name) is in the way of a file the request writes; nothing was written.</summary>
    PathBlocked,
}

/// <summary>A stored manifest as GET and HEAD answer it.</summary>
internal sealed record StoredManifest(string Sha256Hex, long Size, string MediaType, Digest Digest, string? Subject, string Path);
