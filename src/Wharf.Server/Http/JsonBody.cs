using Wharf.Core.Json;

namespace Wharf.Server.Http;

internal enum JsonBodyOutcome
{
    Ok,
    TooLarge,
    Truncated,

    /// <summary>Not JSON (<see cref="JsonTextProblem.NotJson"/>).</summary>
    NotJson,

    /// <summary>JSON whose strings are not text (<see cref="JsonTextProblem.InvalidText"/>).</summary>
    InvalidText,
}

/// <summary>
/// The one way a JSON request body is read: whole, capped before it is buffered
/// (<see cref="RequestBody"/>), and checked by <see cref="StrictJson"/> before any endpoint looks
/// at it, so that invalid UTF-8 and lone surrogates are bad input wherever they arrive, never an
/// exception where a string is read later. Each protocol turns the outcome into its own error
/// (REST: <c>RestBodies</c>; V1: <c>V1Errors</c>); manifests and V1 image JSON, parsed in Core,
/// go through the same check there.
/// </summary>
internal static class JsonBody
{
    /// <summary>The message for <see cref="JsonBodyOutcome.InvalidText"/>.</summary>
    public const string InvalidTextMessage = "The body is not valid JSON text: a string holds invalid UTF-8 or a lone surrogate (\\ud800-\\udfff without its pair).";

    public static async Task<(JsonBodyOutcome Outcome, byte[] Body)> ReadAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        var (read, body) = await RequestBody.ReadAsync(request, maxBytes, cancellationToken);
        if (read != BodyReadOutcome.Ok)
        {
            return (read == BodyReadOutcome.TooLarge ? JsonBodyOutcome.TooLarge : JsonBodyOutcome.Truncated, []);
        }

        return StrictJson.Check(body) switch
        {
            JsonTextProblem.None => (JsonBodyOutcome.Ok, body),
            JsonTextProblem.NotJson => (JsonBodyOutcome.NotJson, []),
            _ => (JsonBodyOutcome.InvalidText, []),
        };
    }
}
