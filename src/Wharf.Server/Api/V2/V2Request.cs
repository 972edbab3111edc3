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

/// <summary>How a V2 request named its repository (rest-api §3.1).</summary>
internal enum V2Addressing
{
    /// <summary><c>/artifactory/api/docker/&lt;key&gt;/v2/…</c> or <c>/api/docker/&lt;key&gt;/v2/…</c>.</summary>
    PathMode,

    /// <summary>The repository-path method on the main listener: <c>/v2/&lt;key&gt;/&lt;image&gt;/…</c>.</summary>
    KeyInName,

    /// <summary>The repository's own port or host name: <c>/v2/&lt;image&gt;/…</c> there.</summary>
    OwnAddress,
}

/// <summary>
/// A parsed V2 request: the repository, the route, the image as the tree names it and as the
/// client named it (<see cref="ClientName"/>, with the key in front by the repository-path
/// method), and the route's last parameter (a reference, digest or upload id).
/// </summary>
internal sealed record V2Request(RepositoryConfig Repository, V2Route Route, string Image, string ClientName, string Reference, V2Addressing Addressing)
{
    /// <summary>Where this request's URLs start (<see cref="UrlBuilder.V2Prefix"/>).</summary>
    public string PathPrefix => UrlBuilder.V2Prefix(Repository.Key, Addressing);

    /// <summary>Whether the client names the repository as the first part of the image name (repository-path method).</summary>
    public bool KeyInName => Addressing == V2Addressing.KeyInName;

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

    /// <summary>The main listener's catalog of every V2 repository (no one repository: the handler lists each).</summary>
    public static V2Request CatalogAll() => new(new RepositoryConfig("", DockerApiVersion.V2), V2Route.CatalogAll, "", "", "", V2Addressing.KeyInName);

    /// <summary>Splits <c>&lt;name&gt;/manifests/&lt;ref&gt;</c> and the other OCI routes; null when the name or route is invalid.</summary>
    public static V2Request? Parse(RepositoryConfig repository, string rest, V2Addressing addressing)
    {
        var clientPrefix = addressing == V2Addressing.KeyInName ? repository.Key + "/" : "";
        if (rest == V2Routes.Catalog)
        {
            return new V2Request(repository, V2Route.Catalog, "", "", "", addressing);
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

            return V2Name.IsValidName(image) ? new V2Request(repository, route, image, clientPrefix + image, reference, addressing) : null;
        }

        return null;
    }
}
