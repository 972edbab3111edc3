using System.Text.Json;
using Wharf.Server.Http;

namespace Wharf.Server.Api.Rest;

/// <summary>Reading small JSON request bodies (<see cref="JsonBody"/>), with every failure as a REST error.</summary>
internal static class RestBodies
{
    public static async Task<(T? Body, IResult? Failure)> ReadJsonAsync<T>(HttpContext context, JsonSerializerOptions options, int maxBytes, CancellationToken cancellationToken)
        where T : class
    {
        var (bytes, failure) = await ReadBytesAsync(context, maxBytes, cancellationToken);
        if (bytes is null)
        {
            return (null, failure);
        }

        try
        {
            return JsonSerializer.Deserialize<T>(bytes, options) is { } body ? (body, null) : (null, RestErrors.BadRequest("A JSON object is required."));
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NotSupportedException)
        {
            return (null, RestErrors.BadRequest("Malformed JSON: " + (e is JsonException json ? json.Path + " " : "") + "could not be read."));
        }
    }

    /// <summary>The body as a JSON object, for endpoints that must know which fields were sent.</summary>
    public static async Task<(JsonElement? Body, IResult? Failure)> ReadObjectAsync(HttpContext context, int maxBytes, CancellationToken cancellationToken)
    {
        var (bytes, failure) = await ReadBytesAsync(context, maxBytes, cancellationToken);
        if (bytes is null)
        {
            return (null, failure);
        }

        // Checked by JsonBody: it parses, and every string in it reads.
        using var document = JsonDocument.Parse(bytes);
        return document.RootElement.ValueKind == JsonValueKind.Object
            ? (document.RootElement.Clone(), null)
            : (null, RestErrors.BadRequest("A JSON object is required."));
    }

    private static async Task<(byte[]? Bytes, IResult? Failure)> ReadBytesAsync(HttpContext context, int maxBytes, CancellationToken cancellationToken)
    {
        var (read, bytes) = await JsonBody.ReadAsync(context.Request, maxBytes, cancellationToken);
        return read switch
        {
            JsonBodyOutcome.Ok => (bytes, null),
            JsonBodyOutcome.TooLarge => (null, RestErrors.Write(413, "Request body too large.")),
            JsonBodyOutcome.NotJson => (null, RestErrors.BadRequest("Malformed JSON: the body could not be read.")),
            JsonBodyOutcome.InvalidText => (null, RestErrors.BadRequest(JsonBody.InvalidTextMessage)),
            _ => (null, RestErrors.BadRequest("Request body ended early.")),
        };
    }
}
