using System.Collections.Frozen;
using Wharf.Server.Api;
using Wharf.Server.Api.V2;

namespace Wharf.Server.Telemetry;

/// <summary>
/// The registry operations by name, as the gates record them (<see cref="RequestRecord.Perform"/>).
/// A pull is a V2 manifest GET or a V1 pull start (<c>GET …/images</c>, which every docker 1.x
/// pull makes once); a push is a V2 manifest PUT or a V1 tag PUT; blob uploads are the V2 upload
/// requests that carry a body and the V1 layer PUT.
/// </summary>
internal static class RegistryOperations
{
    public const string V1 = "v1";
    public const string V2Protocol = "v2";

    private static readonly FrozenDictionary<(V2Route Route, string Method), RegistryOperation> V2Operations = BuildV2();

    private static readonly FrozenDictionary<string, RegistryOperation> V1Operations = new RegistryOperation[]
    {
        new(V1, "repository_put", V1Routes.Repository, RegistryCount.None),
        new(V1, "repository_delete", V1Routes.Repository, RegistryCount.None),
        new(V1, "repository_json_get", V1Routes.RepositoryJson, RegistryCount.None),
        new(V1, "images_get", V1Routes.Images, RegistryCount.Pull),
        new(V1, "images_put", V1Routes.Images, RegistryCount.None),
        new(V1, "images_delete", V1Routes.Images, RegistryCount.None),
        new(V1, "tags_get", V1Routes.Tags, RegistryCount.None),
        new(V1, "tag_get", V1Routes.Tag, RegistryCount.None),
        new(V1, "tag_json_get", V1Routes.TagJson, RegistryCount.None),
        new(V1, "tag_put", V1Routes.Tag, RegistryCount.Push),
        new(V1, "tag_delete", V1Routes.Tag, RegistryCount.None),
        new(V1, "search_get", null, RegistryCount.None),
        new(V1, "image_json_get", null, RegistryCount.None),
        new(V1, "image_json_put", null, RegistryCount.None),
        new(V1, "image_layer_get", null, RegistryCount.None),
        new(V1, "image_layer_put", null, RegistryCount.Upload),
        new(V1, "image_checksum_put", null, RegistryCount.None),
        new(V1, "image_ancestry_get", null, RegistryCount.None),
    }.ToFrozenDictionary(o => o.Name, StringComparer.Ordinal);

    /// <summary>The V2 operation of a route and method that <see cref="Api.V2.V2Operations"/> serves.</summary>
    public static RegistryOperation? ForV2(V2Route route, string method) => V2Operations.GetValueOrDefault((route, method));

    /// <summary>A V1 operation by its name (see the list above); null for a name not in it.</summary>
    public static RegistryOperation? ForV1(string name) => V1Operations.GetValueOrDefault(name);

    /// <summary>
    /// The V1 image operation of an image route (<c>…/images/{id}/json</c> and its siblings): named
    /// by the route's last segment and the method.
    /// </summary>
    public static RegistryOperation? ForV1Image(HttpContext context)
    {
        var pattern = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText;
        if (pattern is null)
        {
            return null;
        }

        var file = pattern[(pattern.LastIndexOf('/') + 1)..];
        var method = context.Request.Method;
        return ForV1(HttpMethods.IsGet(method) ? $"image_{file}_get" : HttpMethods.IsPut(method) ? $"image_{file}_put" : "");
    }

    private static FrozenDictionary<(V2Route, string), RegistryOperation> BuildV2()
    {
        var operations = new Dictionary<(V2Route, string), RegistryOperation>();
        void Add(V2Route route, string name, string relative, params (string Method, RegistryCount Counts)[] methods)
        {
            foreach (var (method, counts) in methods)
            {
                operations[(route, method)] = new(V2Protocol, name + "_" + method.ToLowerInvariant(), relative, counts);
            }
        }

        var none = RegistryCount.None;
        Add(V2Route.Catalog, "catalog", V2Routes.Catalog, ("GET", none));
        Add(V2Route.CatalogAll, "catalog", V2Routes.Catalog, ("GET", none));
        Add(V2Route.Tags, "tags", V2Routes.Tags, ("GET", none));
        Add(V2Route.Referrers, "referrers", V2Routes.Referrers, ("GET", none));
        Add(V2Route.Manifest, "manifest", V2Routes.Manifest, ("GET", RegistryCount.Pull), ("HEAD", none), ("PUT", RegistryCount.Push), ("DELETE", none));
        Add(V2Route.Blob, "blob", V2Routes.Blob, ("GET", none), ("HEAD", none), ("DELETE", none));
        Add(V2Route.UploadStart, "upload_start", V2Routes.Uploads, ("POST", RegistryCount.Upload));
        Add(V2Route.Upload, "upload", V2Routes.Upload, ("GET", none), ("PATCH", RegistryCount.Upload), ("PUT", RegistryCount.Upload), ("DELETE", none));
        return operations.ToFrozenDictionary();
    }
}
