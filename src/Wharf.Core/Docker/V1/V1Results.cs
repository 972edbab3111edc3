namespace Wharf.Core.Docker.V1;

/// <summary>Outcomes of V1 operations; each maps to exactly one wire answer at the edge.</summary>
internal enum V1Outcome
{
    Ok,
    InvalidJson,
    MissingId,
    IdMismatch,
    UnknownParent,
    ImageExists,
    ImageNotFound,
    ImageUploading,
    ChecksumMismatch,
    CannotSetChecksum,
    LayerIncomplete,
    UploadChanged,
    RepositoryNotFound,
    TagNotFound,
    InvalidTag,

    /// <summary>The caller may not write or delete one of the paths the operation touches.</summary>
    Denied,

    /// <summary>An item of the tree (a file copied there) is in the way of a path the operation writes; nothing was written.</summary>
    PathBlocked,
}

/// <summary>A complete image as readers see it.</summary>
internal sealed record V1Image(string ImageId, string JsonSha256, long JsonSize, string LayerSha256, long LayerSize, string PayloadChecksum, string AncestrySha256);

internal sealed record V1ImageLookup(V1Outcome Outcome, V1Image? Image)
{
    public static readonly V1ImageLookup NotFound = new(V1Outcome.ImageNotFound, null);
    public static readonly V1ImageLookup Uploading = new(V1Outcome.ImageUploading, null);
}

internal sealed record V1SearchHit(string Name, string Description);

internal sealed record V1SearchPage(int Total, int Page, int PageSize, IReadOnlyList<V1SearchHit> Results);
