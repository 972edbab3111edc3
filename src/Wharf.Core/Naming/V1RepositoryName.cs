using System.Diagnostics.CodeAnalysis;

namespace Wharf.Core.Naming;

/// <summary>
/// A V1 repository remote name, normalised as docker-v1-protocol §2.2 requires: a single component
/// <c>X</c> is the repository <c>library/X</c>; otherwise the namespace is the first component and
/// the repository the rest (which may hold further slashes, docker 1.8+).
/// </summary>
internal sealed record V1RepositoryName(string Namespace, string Repository)
{
    public const int MaxLength = 255;

    /// <summary>File names of the V1 tree (rest-api §8.1); a folder of that name would collide with the file.</summary>
    private static readonly HashSet<string> TreeFileNames = new(StringComparer.Ordinal) { "tag.json", "_index_images.json" };

    /// <summary>Last components that would make the routing of §2.2.4 ambiguous.</summary>
    private static readonly HashSet<string> ReservedLastComponents =
        new(StringComparer.Ordinal) { "tags", "images", "json", "properties", "auth", "layer" };

    /// <summary>The canonical key, e.g. <c>library/web</c> or <c>acme/web</c>.</summary>
    public string FullName => Namespace + "/" + Repository;

    public override string ToString() => FullName;

    /// <summary>
    /// Accepts the union of the client grammars (§2.2.3): components of <c>[a-z0-9._-]+</c>, never
    /// <c>.</c> or <c>..</c> or a tree file name, total length 1..255, no reserved last component.
    /// </summary>
    public static bool TryParse(string? remoteName, [NotNullWhen(true)] out V1RepositoryName? name)
    {
        name = null;
        if (string.IsNullOrEmpty(remoteName) || remoteName.Length > MaxLength)
        {
            return false;
        }

        var components = remoteName.Split('/');
        foreach (var component in components)
        {
            if (!IsValidComponent(component))
            {
                return false;
            }
        }

        if (ReservedLastComponents.Contains(components[^1]))
        {
            return false;
        }

        name = components.Length == 1
            ? new V1RepositoryName("library", components[0])
            : new V1RepositoryName(components[0], string.Join('/', components, 1, components.Length - 1));
        return name.FullName.Length <= MaxLength + "library/".Length;
    }

    private static bool IsValidComponent(string component)
    {
        if (component.Length == 0 || component is "." or ".." || TreeFileNames.Contains(component))
        {
            return false;
        }

        foreach (var c in component)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }
}
