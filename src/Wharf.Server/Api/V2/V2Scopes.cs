using Wharf.Core.Metadata;
using Wharf.Server.Auth;

namespace Wharf.Server.Api.V2;

/// <summary>
/// How registry token scopes (<c>repository:&lt;name&gt;:&lt;actions&gt;</c>, rest-api §3.3) name
/// images and actions. Issuing a token (<see cref="V2Gate.GrantAsync"/>) and checking one
/// (<see cref="Covers"/>) read names by this one rule, so a scope never covers an image it was not
/// granted for.
/// </summary>
internal static class V2Scopes
{
    /// <summary>The scope of the catalog, as its challenge asks for it (Docker token spec).</summary>
    public const string Catalog = "registry:catalog:*";

    /// <summary>The catalog granted: the holder's catalogs list every name the holder may read (the permission targets still filter each).</summary>
    public static readonly DockerAccess CatalogAccess = new("registry", "catalog", ["*"]);

    public static readonly string[] AllActions = ["pull", "push", "delete"];

    /// <summary>The scope action of a permission: deploy is push, delete is delete, anything else pull.</summary>
    public static string ActionOf(AccessActions needed) => needed switch
    {
        AccessActions.Deploy => "push",
        AccessActions.Delete => "delete",
        _ => "pull",
    };

    /// <summary>The scope asking for <paramref name="action"/> on an image as the client names it.</summary>
    public static string Repository(string clientName, string action) => $"repository:{clientName}:{action}";

    /// <summary>
    /// The repository key and image a scope's name denotes: at a key's token endpoint the image,
    /// or the key and image (a first segment equal to the key is the key); key-less, always the
    /// key and image. Null when a key-less name has no key.
    /// </summary>
    public static (string Key, string Image)? Target(string? repoKey, string name)
    {
        var slash = name.IndexOf('/', StringComparison.Ordinal);
        if (repoKey is not null && !(slash > 0 && string.Equals(name[..slash], repoKey, StringComparison.OrdinalIgnoreCase)))
        {
            return (repoKey, name);
        }

        return slash > 0 ? (name[..slash], name[(slash + 1)..]) : null;
    }

    /// <summary>Whether a registry token was granted <see cref="Catalog"/>.</summary>
    public static bool CoversCatalog(DockerTokenGrant grant) =>
        grant.Access.Any(a => a.Type == CatalogAccess.Type && a.Name == CatalogAccess.Name && a.Actions.Contains("*"));

    /// <summary>
    /// Whether a registry token grants <paramref name="action"/> on the image, its scope names read
    /// as when it was issued (<see cref="Target"/>). A token of another key never reaches here.
    /// </summary>
    public static bool Covers(DockerTokenGrant grant, string key, string image, string action) =>
        grant.Access.Any(a => a.Type == "repository" && a.Actions.Contains(action)
            && Target(grant.RepoKey.Length > 0 ? grant.RepoKey : null, a.Name) is var (k, i)
            && string.Equals(k, key, StringComparison.OrdinalIgnoreCase) && i == image);
}
