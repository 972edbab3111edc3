namespace Wharf.Server.Api.Rest;

/// <summary>The one writer of REST errors: <c>{"errors":[{"status":N,"message":"…"}]}</c> (rest-api §1.2).</summary>
internal static class RestErrors
{
    public const string Realm = "Basic realm=\"Artifactory Realm\"";

    public static IResult Write(int status, string message)
    {
        var body = new RestErrorBody([new RestErrorEntry(status, message)]);
        return status == StatusCodes.Status401Unauthorized
            ? new WithHeader(Results.Json(body, statusCode: status, contentType: "application/json"), "WWW-Authenticate", Realm)
            : Results.Json(body, statusCode: status, contentType: "application/json");
    }

    public static IResult NotFound(string message = "File not found.") => Write(404, message);

    public static IResult BadRequest(string message) => Write(400, message);

    public static IResult Unauthorized() => Write(401, "Authentication is required.");

    private sealed class WithHeader(IResult inner, string name, string value) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.Append(name, value);
            return inner.ExecuteAsync(httpContext);
        }
    }
}

internal sealed record RestErrorEntry(
    int Status,
    string Message);

internal sealed record RestErrorBody(
    IReadOnlyList<RestErrorEntry> Errors);
