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

    public static IResult Write(V2Error error, string? challenge = null) => new ErrorResult(error, challenge);

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
