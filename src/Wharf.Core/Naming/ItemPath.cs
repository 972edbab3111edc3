using System.Diagnostics.CodeAnalysis;

namespace Wharf.Core.Naming;

/// <summary>
/// Paths of items in a repository tree: slash-separated, relative, no empty, <c>.</c> or <c>..</c>
/// segment, no backslash, no control character. The repository root is the empty path.
/// </summary>
internal static class ItemPath
{
    public const int MaxLength = 1024;

    /// <summary>Normalises a client-supplied path (leading/trailing slashes dropped) or rejects it.</summary>
    public static bool TryNormalize(string? raw, [NotNullWhen(true)] out string? path)
    {
        path = null;
        var trimmed = (raw ?? "").Trim('/');
        if (trimmed.Length > MaxLength)
        {
            return false;
        }

        if (trimmed.Length == 0)
        {
            path = "";
            return true;
        }

        foreach (var segment in trimmed.Split('/'))
        {
            if (segment.Length == 0 || segment is "." or ".." || segment.EndsWith('.') && segment.Trim('.').Length == 0)
            {
                return false;
            }

            foreach (var c in segment)
            {
                if (char.IsControl(c) || c is '\\' or '%')
                {
                    return false;
                }
            }
        }

        path = trimmed;
        return true;
    }

    public static string Parent(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? "" : path[..slash];
    }

    public static string Name(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? path : path[(slash + 1)..];
    }

    public static string Combine(string parent, string child) => parent.Length == 0 ? child : parent + "/" + child;

    /// <summary>Every ancestor folder of <paramref name="path"/>, root-most first, excluding the root.</summary>
    public static IEnumerable<string> Ancestors(string path)
    {
        for (var i = path.IndexOf('/'); i >= 0; i = path.IndexOf('/', i + 1))
        {
            yield return path[..i];
        }
    }
}
