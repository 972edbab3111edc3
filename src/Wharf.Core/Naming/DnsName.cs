namespace Wharf.Core.Naming;

/// <summary>
/// Host names as RFC 1123 writes them: labels of 1–63 ASCII letters, digits and <c>-</c>, neither
/// starting nor ending with <c>-</c>, joined by dots, at most 253 characters. Used where a value
/// becomes a host name: the web server's <c>serverName</c>, and under the subdomain access method
/// every repository key (rest-api §2.3, §3.1).
/// </summary>
internal static class DnsName
{
    public const int MaxLabelLength = 63;

    public const int MaxLength = 253;

    public static bool IsLabel(ReadOnlySpan<char> label)
    {
        if (label.Length is 0 or > MaxLabelLength || label[0] == '-' || label[^1] == '-')
        {
            return false;
        }

        foreach (var c in label)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A host name of one or more labels (no trailing dot, no IP-literal brackets).</summary>
    public static bool IsName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxLength)
        {
            return false;
        }

        foreach (var range in name.AsSpan().Split('.'))
        {
            if (!IsLabel(name.AsSpan()[range]))
            {
                return false;
            }
        }

        return true;
    }
}
