using System.Text.Json;
using Wharf.Core.Docker.V2;

namespace Wharf.Server.Api.V2;

/// <summary>
/// A registry error of the OCI distribution spec: its wire code, the HTTP status it answers with,
/// and its message (Wharf also sends the status in the body, rest-api §1.2).
/// </summary>
internal sealed record V2Error(string Code, int Status, string Message)
{
    /// <summary>The same error with a message that says more about this request.</summary>
    public V2Error WithMessage(string message) => this with { Message = message };
}

/// <summary>
/// The one table of V2 errors (as distribution's <c>registry/api/errcode/register.go</c>), the one
/// mapping from registry outcomes to them (<see cref="For"/>), and the one writer of the
/// <c>errors</c> envelope (<see cref="Result"/>). Handlers name an entry; none picks a status.
/// </summary>
internal static class V2Errors
{
    public const string ApiVersionHeader = "Docker-Distribution-Api-Version";
    public const string ApiVersion = "registry/2.0";

    public static readonly V2Error Unauthorized = new("UNAUTHORIZED", 401, "authentication required");
    public static readonly V2Error Denied = new("DENIED", 403, "requested access to the resource is denied");
    public static readonly V2Error NameUnknown = new("NAME_UNKNOWN", 404, "repository name not known to registry");
    public static readonly V2Error NameInvalid = new("NAME_INVALID", 400, "invalid repository name");

    /// <summary>A path below a V2 prefix that names no image and route of the API.</summary>
    public static readonly V2Error RouteInvalid = new("NAME_INVALID", 400, "invalid repository name or route");

    /// <summary>A file the request writes would run through (or onto) an item a copy or move put in the tree: the name cannot hold it.</summary>
    public static readonly V2Error PathBlocked = new("NAME_INVALID", 400, "an item of the repository tree is in the way of this name; move or delete it first");
    public static readonly V2Error BlobUnknown = new("BLOB_UNKNOWN", 404, "blob unknown to registry");
    public static readonly V2Error BlobUploadUnknown = new("BLOB_UPLOAD_UNKNOWN", 404, "blob upload unknown to registry");
    public static readonly V2Error BlobUploadInvalid = new("BLOB_UPLOAD_INVALID", 400, "blob upload invalid");

    /// <summary>A blob body (monolithic, chunk or final chunk) shorter than its declared length.</summary>
    public static readonly V2Error BodyIncomplete = new("BLOB_UPLOAD_INVALID", 400, "the request body ended early");
    public static readonly V2Error RangeInvalid = new("BLOB_UPLOAD_INVALID", 416, "the chunk does not start where the upload ends");
    public static readonly V2Error DigestInvalid = new("DIGEST_INVALID", 400, "provided digest did not match uploaded content");

    /// <summary>A digest in the path or query that does not parse.</summary>
    public static readonly V2Error DigestMalformed = new("DIGEST_INVALID", 400, "invalid digest");

    /// <summary>The completing PUT of an upload without a parseable <c>digest</c> parameter.</summary>
    public static readonly V2Error DigestParameterInvalid = new("DIGEST_INVALID", 400, "the digest parameter is missing or invalid");
    public static readonly V2Error ManifestUnknown = new("MANIFEST_UNKNOWN", 404, "manifest unknown");
    public static readonly V2Error ManifestInvalid = new("MANIFEST_INVALID", 400, "manifest invalid");

    /// <summary>A manifest PUT to a reference that is neither a tag nor a digest.</summary>
    public static readonly V2Error ManifestReferenceInvalid = new("MANIFEST_INVALID", 400, "invalid tag or digest");

    /// <summary>A manifest body shorter than its declared length.</summary>
    public static readonly V2Error ManifestBodyIncomplete = new("MANIFEST_INVALID", 400, "the request body ended early");
    public static readonly V2Error ManifestBlobUnknown = new("MANIFEST_BLOB_UNKNOWN", 400, "manifest references a blob or manifest unknown to the repository");
    public static readonly V2Error SizeInvalid = new("SIZE_INVALID", 413, "manifest too large");

    /// <summary>A manifest body over <see cref="Manifests.MaxBytes"/>.</summary>
    public static readonly V2Error ManifestTooLarge = new("SIZE_INVALID", 413, $"manifests are limited to {Manifests.MaxBytes} bytes");
    public static readonly V2Error TagInvalid = new("TAG_INVALID", 400, "manifest tag did not match URI");
    public static readonly V2Error PaginationInvalid = new("PAGINATION_NUMBER_INVALID", 400, "invalid number of results requested");
    public static readonly V2Error Unsupported = new("UNSUPPORTED", 405, "the operation is unsupported");

    /// <summary>A blob delete refused because a manifest of the image names the blob.</summary>
    public static readonly V2Error BlobInUse = new("UNSUPPORTED", 405, "blob is used by a manifest of the image");
    public static readonly V2Error UnsupportedMediaType = new("MANIFEST_INVALID", 415, "unsupported manifest media type");

    /// <summary>
    /// The single mapping from registry outcomes to wire errors. <paramref name="reason"/> (the
    /// registry's or the handler's account of this request) replaces the table's message, except
    /// for <see cref="V2Outcome.PathBlocked"/>, which answers alike on every route and names no path.
    /// A denial reaches anonymous callers as a challenge instead (the gate's refusal).
    /// </summary>
    public static V2Error For(V2Outcome outcome, string? reason = null)
    {
        var error = outcome switch
        {
            V2Outcome.BlobUnknown => BlobUnknown,
            V2Outcome.UploadUnknown => BlobUploadUnknown,
            V2Outcome.RangeInvalid => RangeInvalid,
            V2Outcome.DigestInvalid => DigestInvalid,
            V2Outcome.SizeInvalid => SizeInvalid,
            V2Outcome.BodyIncomplete => BodyIncomplete,
            V2Outcome.ManifestUnknown => ManifestUnknown,
            V2Outcome.ManifestInvalid => ManifestInvalid,
            V2Outcome.ManifestUnsupported => UnsupportedMediaType,
            V2Outcome.ManifestBlobUnknown => ManifestBlobUnknown,
            V2Outcome.BlobInUse => BlobInUse,
            V2Outcome.Denied => Denied,
            V2Outcome.PathBlocked => PathBlocked,
            _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "Not an error outcome."),
        };
        return string.IsNullOrEmpty(reason) || outcome == V2Outcome.PathBlocked ? error : error.WithMessage(reason);
    }

    /// <summary>The one writer of V2 error bodies; <paramref name="challenge"/> is the 401's <c>WWW-Authenticate</c>.</summary>
    public static IResult Result(V2Error error, string? challenge = null) => new ErrorResult(error, challenge);

    private sealed class ErrorResult(V2Error error, string? challenge) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = error.Status;
            response.Headers[ApiVersionHeader] = ApiVersion;
            if (challenge is not null)
            {
                response.Headers.WWWAuthenticate = challenge;
            }

            response.ContentType = "application/json";
            var body = new { errors = new[] { new { status = error.Status, code = error.Code, message = error.Message, detail = (object?)null } } };
            await response.WriteAsync(JsonSerializer.Serialize(body), httpContext.RequestAborted);
        }
    }
}
