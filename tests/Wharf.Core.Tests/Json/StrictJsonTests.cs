using System.Text;
using System.Text.Json;
using Wharf.Core.Json;

namespace Wharf.Core.Tests.Json;

/// <summary>The one check of JSON text: what it refuses is exactly what System.Text.Json would fail on later, when a string is read.</summary>
public sealed class StrictJsonTests
{
    [Theory]
    [InlineData("{}")]
    [InlineData("[]")]
    [InlineData("\"plain\"")]
    [InlineData("{\"a\":\"caf\\u00e9\"}")]
    [InlineData("{\"a\":\"\\ud83d\\ude00\"}")] // an escaped surrogate pair
    [InlineData("{\"\\ud83d\\ude00\":1}")]
    [InlineData("{\"a\":\"\\\\ud800\"}")] // an escaped backslash, then the text "ud800"
    [InlineData("{\"a\":\"\\\\\\ud83d\\ude00\"}")]
    [InlineData("{\"a\":\"x\\n\\t\\\"\\/\\u0000\"}")]
    [InlineData("{\"a\":\"\\uFFFF\\uD83D\\uDE00\"}")] // upper-case hex
    [InlineData("{\"a\":[1,2.5e3,true,false,null,{\"b\":{}}]}")]
    public void Valid_text_passes(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        Assert.Equal(JsonTextProblem.None, StrictJson.Check(bytes));
        var (document, problem) = StrictJson.Parse(bytes);
        using (document)
        {
            Assert.Equal(JsonTextProblem.None, problem);
            Assert.NotNull(document);
            AssertEveryStringReads(document.RootElement);
        }
    }

    [Fact]
    public void Raw_non_ascii_text_and_a_byte_order_mark_pass()
    {
        Assert.Equal(JsonTextProblem.None, StrictJson.Check(Encoding.UTF8.GetBytes("{\"a\":\"caf\u00e9 \u2603 \ud83d\udc33\"}")));
        Assert.Equal(JsonTextProblem.None, StrictJson.Check([0xEF, 0xBB, 0xBF, .. "{\"a\":1}"u8]));
    }

    [Theory]
    [InlineData("{\"a\":\"\\ud800\"}")]
    [InlineData("{\"a\":\"x\\udc00y\"}")]
    [InlineData("{\"a\":\"\\ud800\\u0041\"}")]
    [InlineData("{\"a\":\"\\ud800\\n\"}")]
    [InlineData("{\"a\":\"\\ud800x\"}")]
    [InlineData("{\"a\":\"\\ud800\\ud800\\udc00\"}")]
    [InlineData("{\"a\":\"\\ud83d\\ude00\\ude00\"}")]
    [InlineData("{\"\\udfff\":1}")]
    [InlineData("[\"ok\",\"\\uDBFF\"]")]
    [InlineData("\"\\\\\\ud800\"")]
    public void Escaped_lone_surrogates_are_invalid_text(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        Assert.Equal(JsonTextProblem.InvalidText, StrictJson.Check(bytes));
        Assert.Null(StrictJson.Parse(bytes).Document);

        // What the check stands in for: the parser takes it, reading the string fails.
        using var document = JsonDocument.Parse(bytes);
        Assert.Throws<InvalidOperationException>(() => AssertEveryStringReads(document.RootElement));
    }

    [Theory]
    [InlineData(new byte[] { 0xFF })]
    [InlineData(new byte[] { 0xC0, 0xAF })] // overlong "/"
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })] // an encoded surrogate
    [InlineData(new byte[] { 0xE2, 0x82 })] // truncated
    [InlineData(new byte[] { 0xF4, 0x90, 0x80, 0x80 })] // beyond U+10FFFF
    [InlineData(new byte[] { 0x80 })] // a lone continuation byte
    public void Invalid_utf8_in_a_string_or_a_name_is_invalid_text(byte[] bad)
    {
        Assert.Equal(JsonTextProblem.InvalidText, StrictJson.Check([.. "{\"a\":\""u8, .. bad, .. "\"}"u8]));
        Assert.Equal(JsonTextProblem.InvalidText, StrictJson.Check([.. "{\""u8, .. bad, .. "\":1}"u8]));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("{")]
    [InlineData("{\"a\":}")]
    [InlineData("[1,]")]
    [InlineData("{} {}")]
    [InlineData("{\"a\":\"\\x\"}")]
    [InlineData("{\"a\":\"\\u12\"}")]
    [InlineData("// comment\n{}")]
    [InlineData("'single'")]
    public void What_is_not_JSON_is_not_json(string text)
    {
        Assert.Equal(JsonTextProblem.NotJson, StrictJson.Check(Encoding.UTF8.GetBytes(text)));
    }

    [Fact]
    public void Nesting_is_limited_like_the_parsers()
    {
        Assert.Equal(JsonTextProblem.None, StrictJson.Check(Encoding.UTF8.GetBytes(new string('[', 64) + new string(']', 64))));
        Assert.Equal(JsonTextProblem.NotJson, StrictJson.Check(Encoding.UTF8.GetBytes(new string('[', 65) + new string(']', 65))));
        Assert.Equal(JsonTextProblem.NotJson, StrictJson.Check(Encoding.UTF8.GetBytes(new string('[', 100_000))));
    }

    [Fact]
    public void Garbage_that_is_not_json_is_not_json_even_when_it_is_not_utf8()
    {
        Assert.Equal(JsonTextProblem.NotJson, StrictJson.Check([0xFF, 0x00, 0xFE]));
    }

    private static void AssertEveryStringReads(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    _ = property.Name;
                    AssertEveryStringReads(property.Value);
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    AssertEveryStringReads(item);
                }

                break;
            case JsonValueKind.String:
                _ = element.GetString();
                break;
        }
    }
}
