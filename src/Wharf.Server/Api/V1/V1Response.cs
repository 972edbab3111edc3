using System.Text.Json;

namespace Wharf.Server.Api.V1;

/// <summary>Which WWW-Authenticate challenge a 401 carries (docker-v1-protocol §5.4).</summary>
internal enum V1RouteKind
{
    Index,
    Registry,
}

/// <summary>The one writer of V1 bodies: JSON with <c>Content-Type: application/json</c>, errors as flat string maps.</summary>
internal sealed class V1Response(int status, byte[] body, IReadOnlyList<KeyValuePair<string, string>>? headers = null) : IResult
{
    /// <summary>V1 wire names are snake_case (<c>num_results</c>, <c>star_count</c>); dictionary keys stay as given.</summary>
    private static readonly JsonSerializerOptions WireOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static readonly V1Response True = Json(200, true);

    public static V1Response Json<T>(int status, T value, IReadOnlyList<KeyValuePair<string, string>>? headers = null) =>
        new(status, JsonSerializer.SerializeToUtf8Bytes(value, WireOptions), headers);

    public static V1Response Raw(byte[] json, IReadOnlyList<KeyValuePair<string, string>>? headers = null) => new(200, json, headers);

    public static V1Response Error(V1Error error, V1RouteKind kind = V1RouteKind.Registry)
    {
        List<KeyValuePair<string, string>>? headers = error.Status == 401
            ? [new("WWW-Authenticate", kind == V1RouteKind.Registry ? "Token" : "Basic realm=\"Wharf\"")]
            : null;
        return Json(error.Status, new Dictionary<string, string> { ["error"] = error.Message }, headers);
    }

    /// <summary>A 204 with no body and no content type.</summary>
    public static IResult NoContent() => Results.NoContent();

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = status;
        if (headers is not null)
        {
            foreach (var (name, value) in headers)
            {
                response.Headers.Append(name, value);
            }
        }

        response.ContentType = "application/json";
        response.ContentLength = body.Length;
        if (!HttpMethods.IsHead(httpContext.Request.Method))
        {
            await response.Body.WriteAsync(body, httpContext.RequestAborted);
        }
    }
}
