using System.Text;

namespace Wharf.Core.Tree;

/// <summary>
/// The property string syntax of rest-api §1.4: pairs separated by <c>;</c> or <c>|</c>, values by
/// <c>,</c>, and <c>\</c> escaping any of <c>, ; | = \</c>.
/// </summary>
internal static class PropertyString
{
    public const int MaxKeyLength = 255;
    public const int MaxValueLength = 2400;

    private const string ForbiddenKeyCharacters = " (){}[]*+^$\\/~`!@#%&<>;=,±§";

    /// <summary>Keys Wharf maintains (rest-api §8.3); only admins may set or delete them.</summary>
    public static bool IsProtected(string key) =>
        key.StartsWith("docker.", StringComparison.Ordinal) || key is "sha256" or "artifactory.content-type";

    /// <summary>Returns null when the key is acceptable, else why not.</summary>
    public static string? ValidateKey(string key)
    {
        if (key.Length == 0)
        {
            return "Property keys must not be empty.";
        }

        if (key.Length > MaxKeyLength)
        {
            return $"Property key '{key[..32]}…' is longer than {MaxKeyLength} characters.";
        }

        foreach (var c in key)
        {
            if (ForbiddenKeyCharacters.Contains(c, StringComparison.Ordinal) || char.IsControl(c) || char.IsWhiteSpace(c))
            {
                return $"Property key '{key}' contains the forbidden character '{c}'.";
            }
        }

        return null;
    }

    /// <summary>
    /// Parses <c>a=1;b=2,3</c>. A key without <c>=</c> gets one empty value; a key repeated adds its
    /// values. The error names the first problem.
    /// </summary>
    public static (Dictionary<string, IReadOnlyList<string>>? Properties, string? Error) Parse(string text)
    {
        var result = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var pair in Split(text, [';', '|']))
        {
            if (pair.Length == 0)
            {
                continue;
            }

            var equals = IndexOfUnescaped(pair, '=');
            var key = Unescape(equals < 0 ? pair : pair[..equals]);
            if (ValidateKey(key) is { } problem)
            {
                return (null, problem);
            }

            var values = equals < 0 ? [""] : Split(pair[(equals + 1)..], [',']).Select(Unescape).ToList();
            if (values.FirstOrDefault(v => v.Length > MaxValueLength) is not null)
            {
                return (null, $"A value of property '{key}' is longer than {MaxValueLength} characters.");
            }

            if (values.Any(v => v.Any(c => char.IsControl(c) && c != '\t')))
            {
                return (null, $"A value of property '{key}' contains a control character.");
            }

            if (!result.TryGetValue(key, out var list))
            {
                result[key] = list = [];
            }

            list.AddRange(values.Where(v => !list.Contains(v, StringComparer.Ordinal)));
        }

        return result.Count == 0
            ? (null, "No properties were given.")
            : (result.ToDictionary(p => p.Key, p => (IReadOnlyList<string>)p.Value, StringComparer.Ordinal), null);
    }

    /// <summary>The values of one search parameter: split on unescaped commas, escapes removed.</summary>
    public static IReadOnlyList<string> SplitValues(string text) => [.. Split(text, [',']).Select(Unescape)];

    /// <summary>Parses the comma-separated key list of a property delete.</summary>
    public static (IReadOnlyList<string>? Keys, string? Error) ParseKeys(string text)
    {
        var keys = Split(text, [',']).Select(Unescape).Where(k => k.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        if (keys.Count == 0)
        {
            return (null, "No property keys were given.");
        }

        return keys.Select(ValidateKey).FirstOrDefault(p => p is not null) is { } problem ? (null, problem) : (keys, null);
    }

    /// <summary>Splits on separators not preceded by an escaping backslash; escapes are kept.</summary>
    private static List<string> Split(string text, char[] separators)
    {
        var parts = new List<string>();
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\')
            {
                i++;
            }
            else if (separators.Contains(text[i]))
            {
                parts.Add(text[start..i]);
                start = i + 1;
            }
        }

        parts.Add(text[start..]);
        return parts;
    }

    private static int IndexOfUnescaped(string text, char wanted)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\')
            {
                i++;
            }
            else if (text[i] == wanted)
            {
                return i;
            }
        }

        return -1;
    }

    private static string Unescape(string text)
    {
        if (!text.Contains('\\', StringComparison.Ordinal))
        {
            return text;
        }

        var builder = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\' && i + 1 < text.Length)
            {
                i++;
            }

            builder.Append(text[i]);
        }

        return builder.ToString();
    }
}
