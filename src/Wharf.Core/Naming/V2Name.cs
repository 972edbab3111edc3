using System.Text.RegularExpressions;

namespace Wharf.Core.Naming;

/// <summary>
/// Repository names and tags of the OCI distribution spec (§ "Pulling manifests"), narrowed so that
/// every folder they name in the V2 tree (<c>&lt;image&gt;/&lt;tag&gt;/</c>) stays clear of the tree's
/// own names: no component of an image name and no tag is a file name of the tree
/// (<see cref="V2TreeNames.IsFileName"/>), else the image <c>team/app/latest/manifest.json</c>, or the tag
/// <c>manifest.json</c> of <c>team/app/latest</c>, would be a folder running through the manifest
/// file of <c>team/app:latest</c>.
/// </summary>
internal static partial class V2Name
{
    public const int MaxNameLength = 255;

    /// <summary>The grammar keeps names clear of the tree's own folders (<c>_uploads</c>, <c>sha256:…</c>); the file names are refused here.</summary>
    public static bool IsValidName(string? name) =>
        name is { Length: > 0 and <= MaxNameLength } && NameGrammar().IsMatch(name) && !HasTreeFileComponent(name);

    /// <summary>The OCI tag grammar, except <c>_uploads</c> (the tree's uploads folder) and the tree's file names.</summary>
    public static bool IsValidTag(string? tag) =>
        tag is not null && tag != V2TreeNames.UploadsFolder && !V2TreeNames.IsFileName(tag) && TagGrammar().IsMatch(tag);

    private static bool HasTreeFileComponent(string name)
    {
        foreach (var component in name.AsSpan().Split('/'))
        {
            if (V2TreeNames.IsFileName(name.AsSpan()[component]))
            {
                return true;
            }
        }

        return false;
    }

    [GeneratedRegex("^[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*$", RegexOptions.CultureInvariant)]
    private static partial Regex NameGrammar();

    [GeneratedRegex("^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex TagGrammar();
}
