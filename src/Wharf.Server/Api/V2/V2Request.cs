using Wharf.Core.Metadata;
using Wharf.Core.Naming;

namespace Wharf.Server.Api.V2;

/// <summary>What a V2 request addresses once its path is parsed (<see cref="V2Routes"/>).</summary>
internal enum V2Route
{
    Catalog,
    Tags,
    Manifest,
    Blob,
    UploadStart,
    Upload,
    Referrers,

    /// <summary>The main listener's <c>/v2/_catalog</c>: every readable image of every V2 repository.</summary>
    CatalogAll,
}

/// <summary>
/// A parsed V2 request: the repository, the route, the image as the tree names it and as the
/// client named it (<see cref="ClientName"/>, with the key in front by the repository-path
/// method), and the route's last parameter (a reference, digest or upload id).
/// </summary>
internal sealed record V2Request(RepositoryConfig Repository, V2Route Route, string Image, string ClientName, string Reference, bool KeyInName)
{
    /// <summary>Where this request's URLs start (<see cref="UrlBuilder.V2Prefix"/>).</summary>
    public string PathPrefix => UrlBuilder.V2Prefix(Repository.Key, KeyInName);

    /// <summary>The key of the token route a challenge names: none by the repository-path method, whose tokens are key-less.</summary>
    public string? RealmKey => KeyInName ? null : Repository.Key;

    /// <summary>The image-relative routes in the order they are tried (the last marker in the path wins within each).</summary>
    private static readonly (V2Route Route, string Marker)[] Markers =
    [
        (V2Route.UploadStart, V2Routes.Marker(V2Routes.Uploads)),
        (V2Route.UploadStart, V2Routes.Marker(V2Routes.Uploads).TrimEnd('/')),
        (V2Route.Upload, V2Routes.Marker(V2Routes.Upload)),
        (V2Route.Tags, V2Routes.Marker(V2Routes.Tags)),
        (V2Route.Manifest, V2Routes.Marker(V2Routes.Manifest)),
        (V2Route.Blob, V2Routes.Marker(V2Routes.Blob)),
        (V2Route.Referrers, V2Routes.Marker(V2Routes.Referrers)),
    ];

    /// <summary>The main listener's catalog of every V2 repository, served as <paramref name="main"/> (its default repository) would be.</summary>
    public static V2Request CatalogAll(RepositoryConfig main) => new(main, V2Route.CatalogAll, "", "", "", KeyInName: true);

    /// <summary>Splits <c>&lt;name&gt;/manifests/&lt;ref&gt;</c> and the other OCI routes; null when the name or route is invalid.</summary>
    public static V2Request? Parse(RepositoryConfig repository, string rest, bool keyInName)
    {
        var clientPrefix = keyInName ? repository.Key + "/" : "";
        if (rest == V2Routes.Catalog)
        {
            return new V2Request(repository, V2Route.Catalog, "", "", "", keyInName);
        }

        foreach (var (route, marker) in Markers)
        {
            var at = rest.LastIndexOf(marker, StringComparison.Ordinal);
            if (at <= 0)
            {
                continue;
            }

            var image = rest[..at];
            var reference = rest[(at + marker.Length)..];
            var matches = route switch
            {
                V2Route.UploadStart => reference.Length == 0,
                V2Route.Tags => reference.Length == 0,
                _ => reference.Length > 0 && !reference.Contains('/', StringComparison.Ordinal),
            };
            if (!matches)
            {
                continue;
            }

            return V2Name.IsValidName(image) ? new V2Request(repository, route, image, clientPrefix + image, reference, keyInName) : null;
        }

        return null;
    }
}
