using System.Text.Json;
using System.Text.Unicode;

namespace Wharf.Core.Json;

/// <summary>Why bytes are not JSON that every reader and writer can take.</summary>
internal enum JsonTextProblem
{
    None,

    /// <summary>Not JSON at all: a syntax error, trailing data, or nesting deeper than <see cref="StrictJson.MaxDepth"/>.</summary>
    NotJson,

    /// <summary>JSON whose strings are not text: bytes that are not UTF-8, or an escaped lone surrogate such as <c>"\ud800"</c>.</summary>
    InvalidText,
}

/// <summary>
/// The one check of JSON text that Wharf reads from a request (and of JSON it keeps and reads
/// again). System.Text.Json parses a document whose strings hold invalid UTF-8 or a lone
/// surrogate escape and fails only when such a string is read or written, far from the input,
/// as an exception: a 500 on the request, or on every later request that reads what was stored.
/// Checked here first, such a document is refused where it arrives. Strings of valid text,
/// surrogate pairs included (escaped or raw), pass.
/// </summary>
internal static class StrictJson
{
    /// <summary>The nesting limit, the same as <see cref="JsonDocument"/>'s and <see cref="JsonSerializer"/>'s default.</summary>
    public const int MaxDepth = 64;

    /// <summary>Whether <paramref name="utf8"/> is one JSON value made of valid text (a UTF-8 byte order mark before it is allowed, as the parsers allow it).</summary>
    public static JsonTextProblem Check(ReadOnlySpan<byte> utf8)
    {
        if (utf8.StartsWith("\uFEFF"u8))
        {
            utf8 = utf8[3..];
        }

        // Syntax first: what is not JSON is that, whatever its bytes.
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = MaxDepth });
        var loneSurrogate = false;
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped && !loneSurrogate)
                {
                    loneSurrogate = HasLoneSurrogateEscape(reader.ValueSpan);
                }
            }
        }
        catch (JsonException)
        {
            // The reader reports a syntax error only by throwing; it is an outcome here.
            return JsonTextProblem.NotJson;
        }

        // Outside strings JSON is ASCII, so any invalid UTF-8 is inside one.
        return loneSurrogate || !Utf8.IsValid(utf8) ? JsonTextProblem.InvalidText : JsonTextProblem.None;
    }

    /// <summary>The document, when <see cref="Check"/> finds no problem; it then cannot fail to parse.</summary>
    public static (JsonDocument? Document, JsonTextProblem Problem) Parse(ReadOnlyMemory<byte> utf8)
    {
        var problem = Check(utf8.Span);
        return problem == JsonTextProblem.None ? (JsonDocument.Parse(utf8), problem) : (null, problem);
    }

    /// <summary>
    /// Whether the raw (still escaped) bytes of a string hold a <c>\u</c> escape of a surrogate
    /// that is not half of a pair: a high one not followed by an escaped low one, or a low one on
    /// its own. The reader has already checked that every escape is well formed.
    /// </summary>
    private static bool HasLoneSurrogateEscape(ReadOnlySpan<byte> raw)
    {
        var pendingHigh = false;
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] != (byte)'\\' || raw[i + 1] != (byte)'u')
            {
                if (pendingHigh)
                {
                    return true;
                }

                // Another escape is two bytes; skip its second, which may be a backslash.
                i += raw[i] == (byte)'\\' ? 1 : 0;
                continue;
            }

            var unit = (Hex(raw[i + 2]) << 12) | (Hex(raw[i + 3]) << 8) | (Hex(raw[i + 4]) << 4) | Hex(raw[i + 5]);
            i += 5;
            var isLow = unit is >= 0xDC00 and <= 0xDFFF;
            if (pendingHigh != isLow)
            {
                // A high surrogate followed by anything but a low one, or a low one after no high one.
                return true;
            }

            pendingHigh = !pendingHigh && unit is >= 0xD800 and <= 0xDBFF;
        }

        return pendingHigh;
    }

    private static int Hex(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        _ => c - 'A' + 10,
    };
}
