using Wharf.Core.Naming;
using Wharf.Server.Api.V2;
using Wharf.Server.Http;

namespace Wharf.Server.Api;

/// <summary>
/// The one builder of the URLs Wharf hands out: V2 <c>Location</c> and <c>Link</c> headers from the
/// routes of <see cref="V2Routes"/>, Bearer challenges naming the token route, and the REST API's
/// <c>uri</c> fields. Absolute URLs start at <see cref="PublicUrls.BaseUrl"/> (trusted proxies,
/// overrides, <c>Wharf:BaseUrl</c>); handlers never format one.
/// </summary>
internal sealed class UrlBuilder(PublicUrls urls)
{
    // ---------------------------------------------------------------- V2 (relative: clients resolve them against the URL they called)

    /// <summary>
    /// Where a V2 request's URLs start: <c>/v2/&lt;key&gt;/</c> by the repository-path method,
    /// <c>/v2/</c> on the repository's own port or host name, else path mode below the context path
    /// (whichever path-mode prefix the request came by).
    /// </summary>
    public static string V2Prefix(string key, V2Addressing addressing) => addressing switch
    {
        V2Addressing.KeyInName => $"{V2Routes.Root}/{key}/",
        V2Addressing.OwnAddress => $"{V2Routes.Root}/",
        _ => PublicUrls.ContextPath + Routes.Expand(V2Routes.PathMode, ("repoKey", key)) + "/",
    };

    public static string Blob(V2Request request, Digest digest) =>
        request.PathPrefix + Routes.Expand(V2Routes.Blob, ("name", request.Image), ("digest", digest.ToString()));

    public static string Upload(V2Request request, string id) =>
        request.PathPrefix + Routes.Expand(V2Routes.Upload, ("name", request.Image), ("uuid", id));

    public static string Manifest(V2Request request, Digest digest) =>
        request.PathPrefix + Routes.Expand(V2Routes.Manifest, ("name", request.Image), ("reference", digest.ToString()));

    public static string Tags(V2Request request) =>
        request.PathPrefix + Routes.Expand(V2Routes.Tags, ("name", request.Image));

    /// <summary>A repository's catalog, or the main listener's catalog of every V2 repository.</summary>
    public static string Catalog(V2Request request) =>
        request.Route == V2Route.CatalogAll ? $"{V2Routes.Root}/{V2Routes.Catalog}" : request.PathPrefix + V2Routes.Catalog;

    /// <summary>The OCI paging <c>Link</c> to the page after <paramref name="last"/> of <paramref name="list"/> (a tags list or catalog URL).</summary>
    public static string NextPage(string list, string last, int n) => $"<{list}?last={Uri.EscapeDataString(last)}&n={n}>; rel=\"next\"";

    // ---------------------------------------------------------------- V2 login (absolute)

    /// <summary>
    /// The Bearer challenge (rest-api §3.3): realm = the token route of this key (or the key-less
    /// one), service = <see cref="Service"/>, and the scope the request needs when given.
    /// </summary>
    public string Challenge(HttpRequest request, string? repoKey, string? scope = null)
    {
        var realm = urls.BaseUrl(request) + (repoKey is null ? V2Routes.KeylessToken : Routes.Expand(V2Routes.Token, ("repoKey", repoKey)));
        return $"Bearer realm=\"{realm}\",service=\"{Service(request)}\"" + (scope is null ? "" : $",scope=\"{scope}\"");
    }

    /// <summary>The public host, with its port unless 80 or 443: a registry token's audience.</summary>
    public string Service(HttpRequest request)
    {
        var uri = new Uri(urls.BaseUrl(request));
        return uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port}";
    }

    // ---------------------------------------------------------------- REST (absolute)

    /// <summary>The REST URLs of one request, on its public base (read once for a whole list).</summary>
    public RestUrls Rest(HttpRequest request) => new(urls.BaseUrl(request));
}

/// <summary>The REST API's <c>uri</c> fields (rest-api §1.1) below one public base URL.</summary>
internal readonly record struct RestUrls(string BaseUrl)
{
    /// <summary>An item's (or with an empty path, the repository root's) storage API URL.</summary>
    public string Storage(string key, string path) => $"{BaseUrl}/api/storage/{key}" + (path.Length == 0 ? "" : "/" + path);

    /// <summary>Where a file downloads (<c>/artifactory/{repoKey}/{path}</c>).</summary>
    public string Download(string key, string path) => $"{BaseUrl}/{key}/{path}";

    public string Repository(string key) => $"{BaseUrl}/{key}";

    public string User(string name) => $"{BaseUrl}/api/security/users/{Uri.EscapeDataString(name)}";

    public string Group(string name) => $"{BaseUrl}/api/security/groups/{Uri.EscapeDataString(name)}";

    public string Permission(string name) => $"{BaseUrl}/api/security/permissions/{Uri.EscapeDataString(name)}";
}
