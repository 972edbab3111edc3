using System.Text.Json;

namespace Wharf.Server.Api.V2;

/// <summary>A registry error code of the OCI distribution spec, with Wharf's added <c>status</c> (rest-api §1.2).</summary>
internal sealed record V2Error(string Code, int Status, string Message);

/// <summary>The one table of V2 error codes and the one writer of V2 error bodies.</summary>
internal static class V2Errors
{
    public const string ApiVersionHeader = "Docker-Distribution-Api-Version";
    public const string ApiVersion = "registry/2.0";

    public static readonly V2Error Unauthorized = new("UNAUTHORIZED", 401, "authentication required");
    public static readonly V2Error Denied = new("DENIED", 403, "requested access to the resource is denied");
    public static readonly V2Error NameUnknown = new("NAME_UNKNOWN", 404, "repository name not known to registry");
    public static readonly V2Error NameInvalid = new("NAME_INVALID", 400, "invalid repository name");

    /// <summary>A file the request writes would run through (or onto) an item a copy or move put in the tree: the name cannot hold it.</summary>
    public static readonly V2Error PathBlocked = new("NAME_INVALID", 400, "an item of the repository tree is in the way of this name; move or delete it first");
    public static readonly V2Error BlobUnknown = new("BLOB_UNKNOWN", 404, "blob unknown to registry");
    public static readonly V2Error BlobUploadUnknown = new("BLOB_UPLOAD_UNKNOWN", 404, "blob upload unknown to registry");
    public static readonly V2Error BlobUploadInvalid = new("BLOB_UPLOAD_INVALID", 400, "blob upload invalid");
    public static readonly V2Error RangeInvalid = new("BLOB_UPLOAD_INVALID", 416, "the chunk does not start where the upload ends");
    public static readonly V2Error DigestInvalid = new("DIGEST_INVALID", 400, "provided digest did not match uploaded content");
    public static readonly V2Error ManifestUnknown = new("MANIFEST_UNKNOWN", 404, "manifest unknown");
    public static readonly V2Error ManifestInvalid = new("MANIFEST_INVALID", 400, "manifest invalid");
    public static readonly V2Error ManifestBlobUnknown = new("MANIFEST_BLOB_UNKNOWN", 400, "manifest references a blob or manifest unknown to the repository");
    public static readonly V2Error SizeInvalid = new("SIZE_INVALID", 413, "manifest too large");
    public static readonly V2Error TagInvalid = new("TAG_INVALID", 400, "manifest tag did not match URI");
    public static readonly V2Error PaginationInvalid = new("PAGINATION_NUMBER_INVALID", 400, "invalid number of results requested");
    public static readonly V2Error Unsupported = new("UNSUPPORTED", 405, "the operation is unsupported");
    public static readonly V2Error UnsupportedMediaType = new("MANIFEST_INVALID", 415, "unsupported manifest media type");

    public static IResult Write(V2Error error, string? challenge = null) => new ErrorResult(error, challenge, null);

    /// <summary>The error with a specific message (and the table's code and status).</summary>
    public static IResult Write(V2Error error, string message, IReadOnlyDictionary<string, string>? headers) =>
        new ErrorResult(error with { Message = message }, null, headers);

    private sealed class ErrorResult(V2Error error, string? challenge, IReadOnlyDictionary<string, string>? headers) : IResult
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

            foreach (var (name, value) in headers ?? new Dictionary<string, string>())
            {
                response.Headers[name] = value;
            }

            response.ContentType = "application/json";
            var body = new { errors = new[] { new { status = error.Status, code = error.Code, message = error.Message, detail = (object?)null } } };
            await response.WriteAsync(JsonSerializer.Serialize(body), httpContext.RequestAborted);
        }
    }
}
