namespace Wharf.Core.Naming;

/// <summary>Repository key rules of rest-api §2.3.</summary>
internal static class RepositoryKey
{
    public const int MaxLength = 64;

    private static readonly HashSet<string> Reserved = new(StringComparer.OrdinalIgnoreCase)
    {
        "api", "ui", "webapp", "v1", "v2", "list", "metrics", "auto-trashcan", "repo",
    };

    /// <summary>Returns null when <paramref name="key"/> is acceptable, else the rule it breaks.</summary>
    public static string? Validate(string? key)
    {
        if (string.IsNullOrEmpty(key) || key.Length > MaxLength)
        {
            return $"Repository key must be 1 to {MaxLength} characters long.";
        }

        if (!char.IsAsciiLetterLower(key[0]) && !char.IsAsciiDigit(key[0]))
        {
            return "Repository key must start with a lower-case letter or a digit.";
        }

        foreach (var c in key)
        {
            if (!char.IsAsciiLetterLower(c) && !char.IsAsciiDigit(c) && c is not ('-' or '.'))
            {
                return "Repository key may contain only lower-case letters, digits, '-' and '.'.";
            }
        }

        if (key.EndsWith("-cache", StringComparison.Ordinal))
        {
            return "Repository key must not end with '-cache'.";
        }

        return Reserved.Contains(key) ? $"Repository key '{key}' is reserved." : null;
    }

    public static bool IsValid(string? key) => Validate(key) is null;
}
