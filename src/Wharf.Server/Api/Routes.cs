using Wharf.Server.Http;

namespace Wharf.Server.Api;

/// <summary>
/// The route patterns of the registry protocols, by name (as distribution's
/// <c>registry/api/v2/routes.go</c>): the endpoints map these, the parsers of the paths that
/// routing cannot split (image and repository names hold slashes) read these, and
/// <see cref="UrlBuilder"/> builds every <c>Location</c>, <c>Link</c> and challenge URL from
/// these, so that a prefix or route changes in one place.
/// </summary>
internal static class Routes
{
    /// <summary>A route below <c>/api</c>, with and without the context path: every <c>/api/…</c> route answers both (README).</summary>
    public static string[] WithContextPath(string pattern) => [PublicUrls.ContextPath + pattern, pattern];

    /// <summary>The pattern with each <c>{name}</c> replaced by its value; values are inserted as they are.</summary>
    public static string Expand(string pattern, params ReadOnlySpan<(string Name, string Value)> values)
    {
        foreach (var (name, value) in values)
        {
            pattern = pattern.Replace("{" + name + "}", value, StringComparison.Ordinal);
        }

        return pattern;
    }
}

/// <summary>
/// Docker Registry V1 routes (docker-v1-protocol.md). Every route answers below each of
/// <see cref="Prefixes"/>: at the root (served by the default repository) and in path mode.
/// </summary>
internal static class V1Routes
{
    public const string Root = "/v1";

    /// <summary>Path mode, below <c>/api</c> (so also below the context path).</summary>
    public const string PathMode = "/api/docker/{repoKey}/v1";

    public static readonly string[] Prefixes = [Root, .. Routes.WithContextPath(PathMode)];

    /// <summary>§6.1: the ping also answers at the very root, outside every prefix.</summary>
    public const string RootPing = "/_ping";

    // Below a prefix:
    public const string Ping = "/_ping";
    public const string Index = "/";

    /// <summary>Routing matches <c>/users</c> and <c>/users/</c> alike.</summary>
    public const string Users = "/users";
    public const string User = "/users/{username}/";
    public const string ImageJson = "/images/{id}/json";
    public const string ImageLayer = "/images/{id}/layer";
    public const string ImageChecksum = "/images/{id}/checksum";
    public const string ImageAncestry = "/images/{id}/ancestry";
    public const string Search = "/search";

    /// <summary>The repository and tag routes; names hold slashes, so <see cref="V1.V1RepositoryOperations"/> splits the rest by the routes below.</summary>
    public const string Repositories = "/repositories/{**rest}";

    /// <summary>The literal start of <see cref="Repositories"/> in a request path.</summary>
    public const string RepositoriesMarker = Root + "/repositories/";

    // Below /repositories/, first match wins (§2.2.4); {name} holds slashes:
    public const string TagJson = "{name}/tags/{tag}/json";
    public const string Tag = "{name}/tags/{tag}";
    public const string Tags = "{name}/tags";
    public const string Images = "{name}/images";
    public const string RepositoryJson = "{name}/json";
    public const string Repository = "{name}/";
}

/// <summary>
/// The OCI distribution API (rest-api §3.8) and the V2 login routes (§3.3). Image names hold
/// slashes, so one catch-all per prefix is mapped and <see cref="V2.V2Request.Parse"/> splits the
/// rest by the image-relative routes below.
/// </summary>
internal static class V2Routes
{
    /// <summary>Path mode, below <c>/api</c> (so also below the context path, which Location headers name).</summary>
    public const string PathMode = "/api/docker/{repoKey}/v2";

    /// <summary>The main listener's <c>/v2</c>: the bare ping, the catalog of every V2 repository, and the repository-path method <c>/v2/{repoKey}/{name}/…</c>.</summary>
    public const string Root = "/v2";

    // The login routes, below /api (so also below the context path):
    public const string Ping = "/api/docker/{repoKey}/v2/";
    public const string Token = "/api/docker/{repoKey}/v2/token";
    public const string KeylessPing = "/api/docker/v2/";
    public const string KeylessToken = "/api/docker/v2/token";

    // Below a V2 prefix; {name} is the image and holds slashes:
    public const string Catalog = "_catalog";
    public const string Tags = "{name}/tags/list";
    public const string Manifest = "{name}/manifests/{reference}";
    public const string Blob = "{name}/blobs/{digest}";
    public const string Uploads = "{name}/blobs/uploads/";
    public const string Upload = "{name}/blobs/uploads/{uuid}";
    public const string Referrers = "{name}/referrers/{digest}";

    /// <summary>The literal part of an image-relative route between the name and its last parameter, e.g. <c>/manifests/</c>.</summary>
    public static string Marker(string route)
    {
        var rest = route["{name}".Length..];
        var parameter = rest.IndexOf('{', StringComparison.Ordinal);
        return parameter < 0 ? rest : rest[..parameter];
    }
}
