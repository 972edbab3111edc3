using System.Globalization;
using System.Text.Json;

namespace Wharf.Core.Json;

/// <summary>
/// Typed fields of a JSON request object, for endpoints that apply only the fields a body carries
/// (partial updates). Absent and <c>null</c> fields are null; a field of another type is a
/// <see cref="JsonFieldException"/> naming it, which the endpoint answers as its 400. Booleans and
/// integers also come as strings (rest-api §1.3).
/// </summary>
internal static class JsonFields
{
    public static string? String(JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw new JsonFieldException($"Field '{name}' must be a string.");
    }

    public static bool? Bool(JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.String when bool.TryParse(value.GetString(), out var parsed) => parsed,
            _ => throw new JsonFieldException($"Field '{name}' must be a boolean."),
        };
    }

    public static int? Int(JsonElement body, string name, int min, int max)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var number = value.ValueKind switch
        {
            JsonValueKind.Number => value.TryGetInt32(out var n) ? n : (int?)null,
            JsonValueKind.String => int.TryParse(value.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : null,
            _ => null,
        };
        return number is { } valid && valid >= min && valid <= max ? valid : throw new JsonFieldException($"Field '{name}' must be an integer from {min} to {max}.");
    }
}

/// <summary>A field of a JSON request object has the wrong type or range; the message names it.</summary>
internal sealed class JsonFieldException(string message) : Exception(message);
