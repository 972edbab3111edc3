using System.Text.RegularExpressions;

namespace Wharf.Core.Naming;

/// <summary>Repository names and tags of the OCI distribution spec (§ "Pulling manifests").</summary>
internal static partial class V2Name
{
    public const int MaxNameLength = 255;

    /// <summary>The grammar keeps names clear of the tree's own folders (<c>_uploads</c>, <c>sha256:…</c>).</summary>
    public static bool IsValidName(string? name) =>
        name is { Length: > 0 and <= MaxNameLength } && NameGrammar().IsMatch(name);

    /// <summary>The OCI tag grammar, except <c>_uploads</c>: that name is the tree's uploads folder.</summary>
    public static bool IsValidTag(string? tag) => tag is not null && tag != "_uploads" && TagGrammar().IsMatch(tag);

    [GeneratedRegex("^[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*$", RegexOptions.CultureInvariant)]
    private static partial Regex NameGrammar();

    [GeneratedRegex("^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex TagGrammar();
}
