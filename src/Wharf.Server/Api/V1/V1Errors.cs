using Wharf.Core.Docker.V1;
using Wharf.Core.Naming;
using Wharf.Server.Http;

namespace Wharf.Server.Api.V1;

/// <summary>A V1 error answer: status and the <c>{"error":"…"}</c> message (docker-v1-protocol §3.2).</summary>
internal sealed record V1Error(int Status, string Message);

/// <summary>The one table of V1 errors; messages are the reference server's where clients or tests read them.</summary>
internal static class V1Errors
{
    public static readonly V1Error InvalidImageId = new(404, "Invalid image ID");
    public static readonly V1Error ImageNotFound = new(404, "Image not found");
    public static readonly V1Error ImageUploading = new(400, "Image is being uploaded, retry later");
    public static readonly V1Error InvalidJson = new(400, "Invalid JSON");
    public static readonly V1Error MissingId = new(400, "Missing key `id' in JSON");
    public static readonly V1Error IdMismatch = new(400, "JSON data contains invalid id");
    public static readonly V1Error UnknownParent = new(400, "Image depends on a non existing parent");
    public static readonly V1Error ImageExists = new(409, "Image already exists");
    public static readonly V1Error ChecksumHeaderMissing = new(412, "X-Docker-Checksum-Payload not set. If you are using the Docker daemon, you should upgrade to version 0.10 or later");
    public static readonly V1Error ChecksumEmpty = new(400, "Missing Image's checksum");
    public static readonly V1Error CannotSetChecksum = new(409, "Cannot set this image checksum");
    public static readonly V1Error ChecksumMismatch = new(400, "Checksum mismatch");
    public static readonly V1Error LayerIncomplete = new(400, "Layer upload incomplete: the request body ended early");
    public static readonly V1Error UploadChanged = new(409, "Image JSON was replaced during the layer upload; upload the layer again");
    public static readonly V1Error JsonTooLarge = new(413, $"Image JSON exceeds {V1Images.MaxImageJsonBytes} bytes");
    public static readonly V1Error BodyTooLarge = new(413, "Request body too large");
    public static readonly V1Error BodyTruncated = new(400, "Request body ended early");
    public static readonly V1Error ErrorDecodingJson = new(400, "Error Decoding JSON");
    public static readonly V1Error InvalidData = new(400, "Invalid data");
    public static readonly V1Error InvalidRepositoryName = new(400, "Invalid repository name");
    public static readonly V1Error InvalidTag = new(400, TagName.InvalidMessage);
    public static readonly V1Error RepositoryNotFound = new(404, "Repository not found");
    public static readonly V1Error ImagesNotFound = new(404, "images not found");
    public static readonly V1Error TagNotFound = new(404, "Tag not found");
    public static readonly V1Error RequiresAuthorization = new(401, "Requires authorization");
    public static readonly V1Error AccessDenied = new(403, "access denied");
    public static readonly V1Error AccountNotActive = new(403, "Account is not active");
    public static readonly V1Error TooManyLogins = new(429, "Too many login attempts; retry later");
    public static readonly V1Error NotFound = new(404, "Not found");
    public static readonly V1Error PathBlocked = new(409, "An item of the repository tree is in the way of this name");

    public static V1Error TagNotFoundNamed(string tag) => new(404, $"Tag not found: {tag}");

    /// <summary>A JSON body that could not be read; <paramref name="malformed"/> is the route's error for one that is not JSON or not text.</summary>
    public static V1Error ForBody(JsonBodyOutcome outcome, V1Error malformed) => outcome switch
    {
        JsonBodyOutcome.TooLarge => BodyTooLarge,
        JsonBodyOutcome.Truncated => BodyTruncated,
        _ => malformed,
    };

    /// <summary>The single mapping from domain outcomes to wire errors.</summary>
    public static V1Error For(V1Outcome outcome) => outcome switch
    {
        V1Outcome.InvalidJson => InvalidJson,
        V1Outcome.MissingId => MissingId,
        V1Outcome.IdMismatch => IdMismatch,
        V1Outcome.UnknownParent => UnknownParent,
        V1Outcome.ImageExists => ImageExists,
        V1Outcome.ImageNotFound => ImageNotFound,
        V1Outcome.ImageUploading => ImageUploading,
        V1Outcome.ChecksumMismatch => ChecksumMismatch,
        V1Outcome.CannotSetChecksum => CannotSetChecksum,
        V1Outcome.LayerIncomplete => LayerIncomplete,
        V1Outcome.UploadChanged => UploadChanged,
        V1Outcome.RepositoryNotFound => RepositoryNotFound,
        V1Outcome.TagNotFound => TagNotFound,
        V1Outcome.InvalidTag => InvalidTag,
        V1Outcome.Denied => AccessDenied,
        V1Outcome.PathBlocked => PathBlocked,
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "Not an error outcome."),
    };
}
