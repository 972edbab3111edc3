using Wharf.Core.Docker.V2;
using Wharf.Core.Metadata;
using Wharf.Core.Security;
using Wharf.Core.Storage;

namespace Wharf.Server.Api.V2;

/// <summary>
/// The OCI distribution API (rest-api §3.8) for V2 repositories, in path mode
/// (<c>/artifactory/api/docker/&lt;key&gt;/v2/…</c>, <c>/api/docker/&lt;key&gt;/v2/…</c>) and by the
/// repository-path method (<c>/v2/&lt;key&gt;/&lt;image&gt;/…</c>). V1 repositories answer a plain 404
/// there, so that docker 1.x falls back to V1. Each catch-all runs behind <see cref="V2Gate"/>,
/// which hands the operation's handler its <see cref="V2Call"/>.
/// </summary>
internal static class V2Endpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var prefix in Routes.WithContextPath(V2Routes.PathMode))
        {
            app.Map(prefix + "/{**rest}", (HttpContext c, CancellationToken ct) => RunAsync(V2Call.Of(c), ct)).WithV2Gate();
        }

        // The root /v2: on the main listener the key-less ping and the repository-path method
        // (/v2/<key>/<image>/...), on a repository's own port or host name that repository
        // (/v2/<image>/...). The gate lets the bare ping through without a call.
        app.Map(V2Routes.Root, V2AuthEndpoints.BarePingAsync);
        app.Map(V2Routes.Root + "/{**rest}", (HttpContext c, V2Gate g, UrlBuilder u, CancellationToken ct) =>
            c.Features.Get<V2Call>() is { } call ? RunAsync(call, ct) : V2AuthEndpoints.BarePingAsync(c, g, u, ct)).WithV2Gate();
    }

    private static Task<IResult> RunAsync(V2Call call, CancellationToken cancellationToken) => call.Operation.Handler(call, cancellationToken);
}

/// <summary>
/// The V2 API's operations by route and method: the action a caller needs on the image (or, for
/// a repository's catalog, on its root folder), and the handler. A method not listed for a route
/// is <c>UNSUPPORTED</c>.
/// </summary>
internal sealed class V2Operations
{
    private readonly Dictionary<(V2Route Route, string Method), V2Operation> _operations;

    public V2Operations(V2Blobs blobs, V2UploadSessions uploads, V2Manifests manifests, V2Discovery discovery, ContentStore content, RepositoryLookup repositories, AccessPolicy policy)
    {
        var getBlob = Read((c, ct) => V2BlobEndpoints.GetAsync(c, blobs, content, ct));
        var getManifest = Read((c, ct) => V2ManifestEndpoints.GetAsync(c, manifests, ct));
        _operations = new()
        {
            [(V2Route.Catalog, "GET")] = Read((c, ct) => V2DiscoveryEndpoints.CatalogAsync(c, discovery, ct)),
            [(V2Route.CatalogAll, "GET")] = Read((c, ct) => V2DiscoveryEndpoints.CatalogAllAsync(c, discovery, repositories, policy, ct)),
            [(V2Route.Tags, "GET")] = Read((c, ct) => V2DiscoveryEndpoints.TagsAsync(c, discovery, ct)),
            [(V2Route.Referrers, "GET")] = Read((c, ct) => V2DiscoveryEndpoints.ReferrersAsync(c, discovery, ct)),
            [(V2Route.Manifest, "GET")] = getManifest,
            [(V2Route.Manifest, "HEAD")] = getManifest,
            [(V2Route.Manifest, "PUT")] = Deploy((c, ct) => V2ManifestEndpoints.PutAsync(c, manifests, ct)),
            [(V2Route.Manifest, "DELETE")] = Delete((c, ct) => V2ManifestEndpoints.DeleteAsync(c, manifests, ct)),
            [(V2Route.Blob, "GET")] = getBlob,
            [(V2Route.Blob, "HEAD")] = getBlob,
            [(V2Route.Blob, "DELETE")] = Delete((c, ct) => V2BlobEndpoints.DeleteAsync(c, blobs, ct)),
            [(V2Route.UploadStart, "POST")] = Deploy((c, ct) => V2BlobEndpoints.StartUploadAsync(c, blobs, uploads, ct)),
            [(V2Route.Upload, "GET")] = Deploy((c, ct) => V2BlobEndpoints.UploadStatusAsync(c, uploads, ct)),
            [(V2Route.Upload, "PATCH")] = Deploy((c, ct) => V2BlobEndpoints.PatchUploadAsync(c, uploads, ct)),
            [(V2Route.Upload, "PUT")] = Deploy((c, ct) => V2BlobEndpoints.CompleteUploadAsync(c, uploads, ct)),
            [(V2Route.Upload, "DELETE")] = Deploy((c, ct) => V2BlobEndpoints.CancelUploadAsync(c, uploads, ct)),
        };

        static V2Operation Read(V2Handler handler) => new(AccessActions.Read, handler);
        static V2Operation Deploy(V2Handler handler) => new(AccessActions.Deploy, handler);
        static V2Operation Delete(V2Handler handler) => new(AccessActions.Delete, handler);
    }

    /// <summary>The operation of a route and method (methods as Kestrel gives them: upper case).</summary>
    public V2Operation? Find(V2Route route, string method) => _operations.GetValueOrDefault((route, method));
}
