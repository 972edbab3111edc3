namespace Wharf.Core.Security;

/// <summary>
/// Ant-style path patterns of permission targets (rest-api §6.3): <c>**</c> any number of
/// segments, <c>*</c> any characters within a segment, <c>?</c> one character. <c>a/**</c> also
/// matches <c>a</c> itself. Matching is ordinal: paths are case-sensitive like the tree.
/// </summary>
internal static class AntPattern
{
    /// <summary>
    /// Comma-separated pattern lists, split into segments once: every request asks every target's
    /// patterns, and targets change rarely. Cleared whole when it grows past its bound.
    /// </summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string[][]> Compiled = new(StringComparer.Ordinal);

    private const int MaxCompiled = 4096;

    /// <summary>True when <paramref name="path"/> matches any of the comma-separated patterns.</summary>
    public static bool MatchesAny(string patterns, string path) => MatchesAny(patterns, Segments(path));

    /// <inheritdoc cref="MatchesAny(string, string)"/>
    public static bool MatchesAny(string patterns, string[] path)
    {
        foreach (var pattern in Compile(patterns))
        {
            if (Match(pattern, 0, path, 0))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when some path below <paramref name="folder"/> could match one of the patterns.</summary>
    public static bool CouldMatchBelowAny(string patterns, string folder) => CouldMatchBelowAny(patterns, Segments(folder));

    /// <inheritdoc cref="CouldMatchBelowAny(string, string)"/>
    public static bool CouldMatchBelowAny(string patterns, string[] folder)
    {
        foreach (var pattern in Compile(patterns))
        {
            if (CouldMatchBelow(pattern, folder))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// True when one of the patterns matches <paramref name="folder"/> and everything below it: a
    /// pattern that ends in <c>/**</c> (or is <c>**</c>) and matches the folder, since its trailing
    /// <c>**</c> absorbs any further segments.
    /// </summary>
    public static bool CoversAllBelowAny(string patterns, string[] folder)
    {
        foreach (var pattern in Compile(patterns))
        {
            if (pattern.Length > 0 && pattern[^1] == "**" && Match(pattern, 0, folder, 0))
            {
                return true;
            }
        }

        return false;
    }

    public static IEnumerable<string> Split(string patterns) =>
        patterns.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public static bool Matches(string pattern, string path) =>
        Match(Segments(pattern), 0, Segments(path), 0);

    public static bool CouldMatchBelow(string pattern, string folder) => CouldMatchBelow(Segments(pattern), Segments(folder));

    /// <summary>A path or pattern as its segments (leading, trailing and doubled slashes ignored).</summary>
    public static string[] Segments(string value) => value.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);

    private static string[][] Compile(string patterns)
    {
        if (Compiled.TryGetValue(patterns, out var compiled))
        {
            return compiled;
        }

        if (Compiled.Count >= MaxCompiled)
        {
            Compiled.Clear();
        }

        return Compiled.GetOrAdd(patterns, p => [.. Split(p).Select(Segments)]);
    }

    private static bool CouldMatchBelow(string[] patternSegments, string[] folderSegments)
    {
        for (var i = 0; i < folderSegments.Length; i++)
        {
            if (i >= patternSegments.Length)
            {
                return false;
            }

            if (patternSegments[i] == "**")
            {
                return true;
            }

            if (!SegmentMatches(patternSegments[i], folderSegments[i]))
            {
                return false;
            }
        }

        return patternSegments.Length > folderSegments.Length;
    }

    private static bool Match(string[] pattern, int p, string[] path, int s)
    {
        while (p < pattern.Length)
        {
            if (pattern[p] == "**")
            {
                // Collapse runs of ** and try every split point.
                while (p < pattern.Length && pattern[p] == "**")
                {
                    p++;
                }

                if (p == pattern.Length)
                {
                    return true;
                }

                for (var k = s; k < path.Length; k++)
                {
                    if (Match(pattern, p, path, k))
                    {
                        return true;
                    }
                }

                return false;
            }

            if (s >= path.Length || !SegmentMatches(pattern[p], path[s]))
            {
                return false;
            }

            p++;
            s++;
        }

        return s == path.Length;
    }

    /// <summary>Glob match of one segment: <c>*</c> and <c>?</c>, everything else literal.</summary>
    private static bool SegmentMatches(string pattern, string segment)
    {
        int p = 0, s = 0, star = -1, mark = 0;
        while (s < segment.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == segment[s]))
            {
                p++;
                s++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = s;
            }
            else if (star >= 0)
            {
                p = star + 1;
                s = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
