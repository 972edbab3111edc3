using System.Globalization;
using Microsoft.Extensions.Options;
using Wharf.Core.Docker.V2;
using Wharf.Core.Naming;
using Wharf.Core.Repositories;
using Wharf.Core.Security;
using Wharf.Core.Storage;
using Wharf.Server.Auth;
using Wharf.Server.Hosting;
using Wharf.Server.Http;

namespace Wharf.Server.Api.V2;

/// <summary>What a V2 request addresses once its path is parsed.</summary>
internal enum V2Route
{
    Catalog,
    Tags,
    Manifest,
    Blob,
    UploadStart,
    Upload,
    Referrers,
}

/// <summary>A parsed V2 request: the repository, the image as the client named it and as the tree names it.</summary>
internal sealed record V2Request(RepositoryConfig Repository, V2Route Route, string Image, string ClientName, string Reference, string PathPrefix, bool KeyInName);

/// <summary>
/// An authorized V2 caller: who, the registry token's grant if one was used, and what the caller
/// may do on each exact path of the request's repository (the storage API's answer).
/// </summary>
internal sealed record V2Caller(Principal Principal, DockerTokenGrant? Grant, ItemAccess Items);

/// <summary>
/// The OCI distribution API (rest-api §3.8) for V2 repositories, in path mode
/// (<c>/artifactory/api/docker/&lt;key&gt;/v2/…</c>, <c>/api/docker/&lt;key&gt;/v2/…</c>) and by the
/// repository-path method (<c>/v2/&lt;key&gt;/&lt;image&gt;/…</c>). V1 repositories answer a plain 404
/// there, so that docker 1.x falls back to V1.
/// </summary>
internal static class V2Endpoints
{
    private const string ImageIndex = "application/vnd.oci.image.index.v1+json";

    /// <summary>Largest page of tags or catalog names (rest-api §3.6).</summary>
    private const int MaxPage = 10_000;

    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var prefix in new[] { "/artifactory/api/docker/{repoKey}/v2", "/api/docker/{repoKey}/v2" })
        {
            app.Map(prefix + "/{**rest}", (HttpContext c, string repoKey, string? rest, V2Access a, V2Registry r, ContentStore s, CancellationToken ct) =>
                DispatchAsync(c, repoKey, rest ?? "", keyInName: false, a, r, s, ct));
        }

        // The main listener's bare /v2/ follows its default repository: a plain 404 while that is a
        // V1 repository (docker 1.6-1.12 then falls back to V1), the key-less V2 ping otherwise, so
        // that V2 clients can use the repository-path method (/v2/<key>/<image>/...).
        app.Map("/v2", BarePingAsync);
        app.Map("/v2/{**rest}", (HttpContext c, string? rest, V2Access a, V2Registry r, ContentStore s, IOptions<WharfOptions> o, CancellationToken ct) =>
        {
            var path = rest ?? "";
            var slash = path.IndexOf('/', StringComparison.Ordinal);
            return path.Length == 0 ? BarePingAsync(c, a, o, ct)
                : path == "_catalog" ? CatalogAllAsync(c, a, r, o, ct)
                : slash <= 0 ? Task.FromResult(ErrorBodies.PlainNotFound)
                : DispatchAsync(c, path[..slash], path[(slash + 1)..], keyInName: true, a, r, s, ct, o.Value.Docker.DefaultRepository);
        });
    }

    private static async Task<IResult> BarePingAsync(HttpContext context, V2Access access, IOptions<WharfOptions> options, CancellationToken cancellationToken)
    {
        var main = await access.RepositoryAsync(options.Value.Docker.DefaultRepository, cancellationToken);
        return main is { DockerApiVersion: DockerApiVersion.V2 } && HttpMethods.IsGet(context.Request.Method)
            ? await V2AuthEndpoints.PingAsync(context, null, access, cancellationToken)
            : ErrorBodies.PlainNotFound;
    }

    /// <summary>
    /// The main listener's catalog (repository-path method): every readable image of every V2
    /// repository, named <c>&lt;key&gt;/&lt;image&gt;</c> as clients address them there.
    /// </summary>
    private static async Task<IResult> CatalogAllAsync(HttpContext context, V2Access access, V2Registry registry, IOptions<WharfOptions> options, CancellationToken cancellationToken)
    {
        if (await access.RepositoryAsync(options.Value.Docker.DefaultRepository, cancellationToken) is not { DockerApiVersion: DockerApiVersion.V2 } || !HttpMethods.IsGet(context.Request.Method))
        {
            return ErrorBodies.PlainNotFound;
        }

        context.Response.Headers[V2Errors.ApiVersionHeader] = V2Errors.ApiVersion;
        var (caller, grant) = await access.AuthenticateWithGrantAsync(context, null, cancellationToken);
        if (caller is null)
        {
            return V2Errors.Result(V2Errors.Unauthorized, access.Challenge(context, null, "registry:catalog:*"));
        }

        var names = new List<string>();
        foreach (var repository in await access.V2RepositoriesAsync(cancellationToken))
        {
            if (repository.ForceDockerAuthentication && caller.IsAnonymous)
            {
                continue;
            }

            foreach (var image in await registry.CatalogAsync(repository.Key, access.Policy.ItemAccessFor(caller, repository, cancellationToken), cancellationToken))
            {
                if (grant is null || GrantCovers(grant, repository.Key, image, "pull"))
                {
                    names.Add($"{repository.Key}/{image}");
                }
            }
        }

        names.Sort(StringComparer.Ordinal);
        var (page, problem) = Paginate(context, names, "/v2/_catalog");
        return problem ?? Results.Json(new { repositories = page });
    }

    /// <summary>
    /// Serves one V2 request. <paramref name="mainRepository"/> is set on the main listener's /v2/:
    /// an unknown key there answers as its default repository's protocol would (a plain 404 for V1).
    /// </summary>
    private static async Task<IResult> DispatchAsync(
        HttpContext context, string repoKey, string rest, bool keyInName, V2Access access, V2Registry registry, ContentStore content, CancellationToken cancellationToken, string? mainRepository = null)
    {
        var repository = await access.RepositoryAsync(repoKey, cancellationToken);
        if (repository is null)
        {
            return mainRepository is not null && await access.RepositoryAsync(mainRepository, cancellationToken) is not { DockerApiVersion: DockerApiVersion.V2 }
                ? ErrorBodies.PlainNotFound
                : V2Errors.Result(V2Errors.NameUnknown);
        }

        if (repository.DockerApiVersion != DockerApiVersion.V2)
        {
            return ErrorBodies.PlainNotFound;
        }

        context.Response.Headers[V2Errors.ApiVersionHeader] = V2Errors.ApiVersion;
        var prefix = keyInName ? $"/v2/{repository.Key}/" : $"/artifactory/api/docker/{repository.Key}/v2/";
        if (Parse(repository, rest, prefix, keyInName) is not { } request)
        {
            return V2Errors.Result(V2Errors.RouteInvalid);
        }

        var method = context.Request.Method;
        return (request.Route, method) switch
        {
            (V2Route.Catalog, "GET") => await CatalogAsync(context, request, access, registry, cancellationToken),
            (V2Route.Tags, "GET") => await TagsAsync(context, request, access, registry, cancellationToken),
            (V2Route.Manifest, "GET" or "HEAD") => await GetManifestAsync(context, request, access, registry, cancellationToken),
            (V2Route.Manifest, "PUT") => await PutManifestAsync(context, request, access, registry, cancellationToken),
            (V2Route.Manifest, "DELETE") => await DeleteManifestAsync(context, request, access, registry, cancellationToken),
            (V2Route.Blob, "GET" or "HEAD") => await GetBlobAsync(context, request, access, registry, content, cancellationToken),
            (V2Route.Blob, "DELETE") => await DeleteBlobAsync(context, request, access, registry, cancellationToken),
            (V2Route.UploadStart, "POST") => await StartUploadAsync(context, request, access, registry, cancellationToken),
            (V2Route.Upload, "GET") => await UploadStatusAsync(context, request, access, registry, cancellationToken),
            (V2Route.Upload, "PATCH") => await PatchUploadAsync(context, request, access, registry, cancellationToken),
            (V2Route.Upload, "PUT") => await CompleteUploadAsync(context, request, access, registry, cancellationToken),
            (V2Route.Upload, "DELETE") => await CancelUploadAsync(context, request, access, registry, cancellationToken),
            (V2Route.Referrers, "GET") => await ReferrersAsync(context, request, access, registry, cancellationToken),
            _ => V2Errors.Result(V2Errors.Unsupported.WithMessage($"{method} is not supported here")),
        };
    }

    /// <summary>Splits <c>&lt;name&gt;/manifests/&lt;ref&gt;</c> and the other OCI routes; null when the name or route is invalid.</summary>
    internal static V2Request? Parse(RepositoryConfig repository, string rest, string prefix, bool keyInName)
    {
        string clientPrefix = keyInName ? repository.Key + "/" : "";
        if (rest == "_catalog")
        {
            return new V2Request(repository, V2Route.Catalog, "", "", "", prefix, keyInName);
        }

        (V2Route Route, string Marker)[] markers =
        [
            (V2Route.UploadStart, "/blobs/uploads/"),
            (V2Route.UploadStart, "/blobs/uploads"),
            (V2Route.Upload, "/blobs/uploads/"),
            (V2Route.Tags, "/tags/list"),
            (V2Route.Manifest, "/manifests/"),
            (V2Route.Blob, "/blobs/"),
            (V2Route.Referrers, "/referrers/"),
        ];
        foreach (var (route, marker) in markers)
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

            return V2Name.IsValidName(image) ? new V2Request(repository, route, image, clientPrefix + image, reference, prefix, keyInName) : null;
        }

        return null;
    }

    // ---------------------------------------------------------------- authorization (rest-api §3.2, §3.3)

    /// <summary>
    /// The caller, if it may do <paramref name="needed"/> on the image or somewhere in it:
    /// credentials (and a registry token's scope) first, then the permission targets. Anonymous
    /// callers are challenged (401 with the scope), authenticated ones denied (403). Each handler
    /// then checks the exact paths it reads or writes with <see cref="V2Caller.Items"/>: what the
    /// caller may not read there is unknown to them, what they may not write is denied.
    /// </summary>
    private static async Task<(V2Caller? Caller, IResult? Failure)> AuthorizeAsync(HttpContext context, V2Request request, AccessActions needed, V2Access access, CancellationToken cancellationToken)
    {
        var (caller, grant) = await access.AuthenticateWithGrantAsync(context, request.Repository.Key, cancellationToken);
        if (caller is null)
        {
            return (null, Challenge(context, request, needed, access));
        }

        var tokenCovers = grant is null || request.Route == V2Route.Catalog || GrantCovers(grant, request.Repository.Key, request.Image, ActionOf(needed));
        var allowed = tokenCovers
            && !(request.Repository.ForceDockerAuthentication && caller.IsAnonymous)
            && await access.Policy.AllowsAtOrBelowAsync(caller, request.Repository, request.Image, needed, cancellationToken);
        if (allowed)
        {
            return (new V2Caller(caller, grant, access.Policy.ItemAccessFor(caller, request.Repository, cancellationToken)), null);
        }

        return (null, Denied(context, request, caller, needed, access));
    }

    /// <summary>A refusal: anonymous callers are challenged for the scope the request needs, others denied.</summary>
    private static IResult Denied(HttpContext context, V2Request request, Principal caller, AccessActions needed, V2Access access) =>
        Fail(context, request, caller, needed, access, V2Outcome.Denied);

    /// <summary>
    /// The answer to a failed registry operation: the error table's (<see cref="V2Errors.For"/>),
    /// except that a denial challenges anonymous callers for the scope the request needs.
    /// </summary>
    private static IResult Fail(HttpContext context, V2Request request, Principal caller, AccessActions needed, V2Access access, V2Outcome outcome, string? reason = null) =>
        outcome == V2Outcome.Denied && caller.IsAnonymous ? Challenge(context, request, needed, access) : V2Errors.Result(V2Errors.For(outcome, reason));

    private static IResult Challenge(HttpContext context, V2Request request, AccessActions needed, V2Access access)
    {
        var scope = request.Route == V2Route.Catalog ? "registry:catalog:*" : $"repository:{request.ClientName}:{ActionOf(needed)}";
        if (request.Route == V2Route.UploadStart && MountSource(context) is { } from)
        {
            // A mount also reads the source image: asking for both lets one token mount (201).
            scope += $" repository:{from}:pull";
        }

        return V2Errors.Result(V2Errors.Unauthorized, access.Challenge(context, request.KeyInName ? null : request.Repository.Key, scope));
    }

    private static string ActionOf(AccessActions needed) => needed switch
    {
        AccessActions.Deploy => "push",
        AccessActions.Delete => "delete",
        _ => "pull",
    };

    /// <summary>
    /// The exact-path check of a write: null when <paramref name="caller"/> may do
    /// <paramref name="needed"/> on <paramref name="path"/>, else the refusal.
    /// </summary>
    private static async Task<IResult?> RequireAsync(HttpContext context, V2Request request, V2Caller caller, string path, AccessActions needed, V2Access access) =>
        await caller.Items(path, needed) ? null : Denied(context, request, caller.Principal, needed, access);

    /// <summary>
    /// Whether a registry token grants <paramref name="action"/> on the image, its scope names read
    /// as when it was issued (<see cref="V2Access.ScopeTarget"/>). A token of another key never
    /// reaches here.
    /// </summary>
    private static bool GrantCovers(DockerTokenGrant grant, string key, string image, string action) =>
        grant.Access.Any(a => a.Type == "repository" && a.Actions.Contains(action)
            && V2Access.ScopeTarget(grant.RepoKey.Length > 0 ? grant.RepoKey : null, a.Name) is var (k, i)
            && string.Equals(k, key, StringComparison.OrdinalIgnoreCase) && i == image);

    // ---------------------------------------------------------------- blobs

    private static async Task<IResult> GetBlobAsync(HttpContext context, V2Request request, V2Access access, V2Registry registry, ContentStore content, CancellationToken cancellationToken)
    {
        var (caller, failure) = await AuthorizeAsync(context, request, AccessActions.Read, access, cancellationToken);
        if (caller is null)
        {
            return failure!;
        }

        if (!Digest.TryParse(request.Reference, out var digest))
        {
            return V2Errors.Result(V2Errors.DigestMalformed);
        }

        var blob = await registry.FindBlobAsync(request.Repository.Key, request.Image, digest, caller.Items, cancellationToken);
        if (blob is null)
        {
            return V2Errors.Result(V2Errors.For(V2Outcome.BlobUnknown));
        }

        context.Response.Headers["Docker-Content-Digest"] = digest.ToString();
        context.Response.Headers.ETag = $"\"{digest}\"";
        await BlobResponse.SendAsync(context, content, blob.Sha256!, blob.Size, "application/octet-stream", cancellationToken);
        return Results.Empty;
    }

    private static async Task<IResult> DeleteBlobAsync(HttpContext context, V2Request request, V2Access access, V2Registry registry, CancellationToken cancellationToken)
    {
        var (caller, failure) = await AuthorizeAsync(context, request, AccessActions.Delete, access, cancellationToken);
        if (caller is null)
        {
            return failure!;
        }

        if (!Digest.TryParse(request.Reference, out var digest))
        {
            return V2Errors.Result(V2Errors.DigestMalformed);
        }

        var (outcome, usedBy) = await registry.DeleteBlobAsync(request.Repository.Key, request.Image, digest, caller.Items, cancellationToken);
        return outcome == V2Outcome.Ok
            ? Accepted(context)
            : Fail(context, request, caller.Principal, AccessActions.Delete, access, outcome, usedBy is null ? null : $"blob is used by {request.ClientName}:{usedBy}; delete that manifest first");
    }

    // ---------------------------------------------------------------- uploads

    private static async Task<IResult> StartUploadAsync(HttpContext context, V2Request request, V2Access access, V2Registry registry, CancellationToken cancellationToken)
    {
        var (caller, failure) = await AuthorizeAsync(context, request, AccessActions.Deploy, access, cancellationToken);
        if (caller is null)
        {
            return failure!;
        }

        var query = context.Request.Query;
        var key = request.Repository.Key;
        if (query.TryGetValue("mount", out var mount))
        {
            // Mounted only when the caller may read the source; otherwise an ordinary upload starts (202).
            var from = MountSource(context) ?? "";
            var fromImage = request.KeyInName && from.StartsWith(key + "/", StringComparison.Ordinal) ? from[(key.Length + 1)..] : from;
            if (Digest.TryParse(mount, out var mounted) && V2Name.IsValidName(fromImage)
                && (caller.Grant is null || GrantCovers(caller.Grant, key, fromImage, "pull")))
            {
                if (await RequireAsync(context, request, caller, V2Layout.UploadedBlob(request.Image, mounted), AccessActions.Deploy, access) is { } refused)
                {
                    return refused;
                }

                // A blob the source does not hold (to the caller) is no error: an upload starts instead.
                var mountedOutcome = await registry.MountAsync(key, request.Image, fromImage, mounted, caller.Principal.DisplayName, caller.Items, cancellationToken);
                if (mountedOutcome != V2Outcome.BlobUnknown)
                {
                    return mountedOutcome == V2Outcome.Created
                        ? BlobCreated(context, request, mounted)
                        : Fail(context, request, caller.Principal, AccessActions.Deploy, access, mountedOutcome);
                }
            }
        }
        else if (query.TryGetValue("digest", out var digestText))
        {
            if (!Digest.TryParse(digestText, out var digest))
            {
                return V2Errors.Result(V2Errors.DigestMalformed);
            }

            if (await RequireAsync(context, request, caller, V2Layout.UploadedBlob(request.Image, digest), AccessActions.Deploy, access) is { } refused)
            {
                return refused;
            }

            var stored = await registry.PutBlobAsync(key, request.Image, digest, context.Request.Body, context.Request.ContentLength, caller.Principal.DisplayName, cancellationToken);
            return stored == V2Outcome.Created
                ? BlobCreated(context, request, digest)
                : Fail(context, request, caller.Principal, AccessActions.Deploy, access, stored);
        }

        if (await RequireAsync(context, request, caller, V2Layout.Uploads(request.Image), AccessActions.Deploy, access) is { } denied)
        {
            return denied;
        }

        var upload = await registry.StartUploadAsync(key, request.Image, cancellationToken);
        return UploadAccepted(context, request, upload);
    }

    /// <summary>The <c>from</c> image of a mount request, as the client names it; null when absent or outside the name grammar.</summary>
    private static string? MountSource(HttpContext context)
    {
        var query = context.Request.Query;
        return query.ContainsKey("mount") && query["from"].ToString() is { Length: > 0 } from && V2Name.IsValidName(from) ? from : null;
    }

    /// <summary>An upload session of the image, for a caller who may deploy to the image's uploads.</summary>
    private static async Task<(V2Upload? Upload, IResult? Failure, V2Caller? Caller)> FindUploadAsync(HttpContext context, V2Request request, AccessActions needed, V2Access access, V2Registry registry, CancellationToken cancellationToken)
    {
        var (caller, failure) = await AuthorizeAsync(context, request, needed, access, cancellationToken);
        if (caller is null)
        {
            return (null, failure, null);
        }

        if (await RequireAsync(context, request, caller, V2Layout.Uploads(request.Image), needed, access) is { } denied)
        {
            return (null, denied, null);
        }

        var upload = await registry.FindUploadAsync(request.Repository.Key, request.Image, request.Reference, cancellationToken);
        return upload is null ? (null, V2Errors.Result(V2Errors.For(V2Outcome.UploadUnknown)), caller) : (upload, null, caller);
    }

    private static async Task<IResult> UploadStatusAsync(HttpContext context, V2Request request, V2Access access, V2Registry registry, CancellationToken cancellationToken)
    {
        var (upload, failure, _) = await FindUploadAsync(context, request, AccessActions.Deploy, access, registry, cancellationToken);
        if (upload is null)
        {
            return failure!;
        }

        SetUploadHeaders(context, request, upload);
        return Results.StatusCode(204);
    }

    private static async Task<IResult> PatchUploadAsync(HttpContext context, V2Request request, V2Access access, V2Registry registry, CancellationToken cancellationToken)
    {
        var (upload, failure, caller) = await FindUploadAsync(context, request, AccessActions.Deploy, access, registry, cancellationToken);
        if (upload is null)
        {
            return failure!;
        }

        if (!TryChunkStart(context.Request, out var start))
        {
            return RangeInvalid(context, request, upload);
        }

        var (outcome, updated) = await registry.AppendAsync(upload, start, context.Request.Body, context.Request.ContentLength, cancellationToken);
        return outcome switch
        {
            V2Outcome.Ok => UploadAccepted(context, request, updated),
            V2Outcome.RangeInvalid => RangeInvalid(context, request, updated),
            _ => Fail(context, request, caller!.Principal, AccessActions.Deploy, access, outcome),
        };
    }

    private static async Task<IResult> CompleteUploadAsync(HttpContext context, V2Request request, V2Access access, V2Registry registry, CancellationToken cancellationToken)
    {
        var (upload, failure, caller) = await FindUploadAsync(context, request, AccessActions.Deploy, access, registry, cancellationToken);
        if (upload is null)
        {
            return failure!;
        }

        if (!Digest.TryParse(context.Request.Query["digest"], out var digest))
        {
            return V2Errors.Result(V2Errors.DigestParameterInvalid);
        }

        if (await RequireAsync(context, request, caller!, V2Layout.UploadedBlob(request.Image, digest), AccessActions.Deploy, access) is { } refused)
        {
            return refused;
        }

        // The final chunk is checked as PATCH checks one: before a byte of it is stored.
        if (!TryChunkStart(context.Request, out var start))
        {
            return RangeInvalid(context, request, upload);
        }

        var (outcome, current) = await registry.CompleteWithBodyAsync(upload, start, context.Request.Body, context.Request.ContentLength, digest, caller!.Principal.DisplayName, cancellationToken);
        return outcome switch
        {
            V2Outcome.Created => BlobCreated(context, request, digest),
            V2Outcome.RangeInvalid => RangeInvalid(context, request, current),
            _ => Fail(context, request, caller.Principal, AccessActions.Deploy, access, outcome),
        };
    }

    private static async Task<IResult> CancelUploadAsync(HttpContext context, V2Request request, V2Access access, V2Registry registry, CancellationToken cancellationToken)
    {
        var (upload, failure, _) = await FindUploadAsync(context, request, AccessActions.Deploy, access, registry, cancellationToken);
        if (upload is null)
        {
            return failure!;
        }

        await registry.CancelUploadAsync(upload, cancellationToken);
        return Results.StatusCode(204);
    }

    // ---------------------------------------------------------------- manifests

    private static async Task<IResult> GetManifestAsync(HttpContext context, V2Request request, V2Access access, V2Registry registry, CancellationToken cancellationToken)
    {
        var (caller, failure) = await AuthorizeAsync(context, request, AccessActions.Read, access, cancellationToken);
        if (caller is null)
        {
            return failure!;
        }

        // A reference outside the grammar names nothing stored: not found, as the spec answers a
        // pull of any manifest the repository lacks.
        if (!V2Name.IsValidTag(request.Reference) && !Digest.TryParse(request.Reference, out _))
        {
            return V2Errors.Result(V2Errors.For(V2Outcome.ManifestUnknown));
        }

        var manifest = await registry.GetManifestAsync(request.Repository.Key, request.Image, request.Reference, caller.Items, cancellationToken);
        if (manifest is null)
        {
            return V2Errors.Result(V2Errors.For(V2Outcome.ManifestUnknown));
        }

        var headers = context.Response.Headers;
        headers["Docker-Content-Digest"] = manifest.Digest.ToString();
        headers.ETag = $"\"{manifest.Digest}\"";
        context.Response.ContentType = manifest.MediaType;
        context.Response.ContentLength = manifest.Size;
        if (HttpMethods.IsHead(context.Request.Method))
        {
            return Results.Empty;
        }

        var bytes = await registry.ReadManifestAsync(manifest, cancellationToken) ?? throw new InvalidOperationException($"Manifest blob {manifest.Sha256Hex} is referenced but missing.");
        await context.Response.Body.WriteAsync(bytes, cancellationToken);
        return Results.Empty;
    }

    private static async Task<IResult> PutManifestAsync(HttpContext context, V2Request request, V2Access access, V2Registry registry, CancellationToken cancellationToken)
    {
        var (caller, failure) = await AuthorizeAsync(context, request, AccessActions.Deploy, access, cancellationToken);
        if (caller is null)
        {
            return failure!;
        }

        var isDigest = Digest.TryParse(request.Reference, out _);
        if (!isDigest && !V2Name.IsValidTag(request.Reference))
        {
            return V2Errors.Result(V2Errors.ManifestReferenceInvalid);
        }

        var (read, bytes) = await RequestBody.ReadAsync(context.Request, Manifests.MaxBytes, cancellationToken);
        if (read != BodyReadOutcome.Ok)
        {
            return read == BodyReadOutcome.TooLarge
                ? V2Errors.Result(V2Errors.ManifestTooLarge)
                : V2Errors.Result(V2Errors.ManifestBodyIncomplete);
        }

        // The registry checks each path the push writes, and delete where it replaces a tag with other content (rest-api §3.2).
        var (outcome, digest, subject, message) = await registry.PutManifestAsync(request.Repository, request.Image, request.Reference, bytes, context.Request.ContentType, caller.Principal.DisplayName, caller.Items, cancellationToken);
        if (outcome != V2Outcome.Created)
        {
            return Fail(context, request, caller.Principal, AccessActions.Deploy, access, outcome, message);
        }

        var headers = context.Response.Headers;
        headers.Location = $"{request.PathPrefix}{request.Image}/manifests/{digest}";
        headers["Docker-Content-Digest"] = digest!.ToString();
        if (subject is not null)
        {
            headers["OCI-Subject"] = subject.ToString();
        }

        return Results.StatusCode(201);
    }

    private static async Task<IResult> DeleteManifestAsync(HttpContext context, V2Request request, V2Access access, V2Registry registry, CancellationToken cancellationToken)
    {
        var (caller, failure) = await AuthorizeAsync(context, request, AccessActions.Delete, access, cancellationToken);
        if (caller is null)
        {
            return failure!;
        }

        var outcome = await registry.DeleteManifestAsync(request.Repository.Key, request.Image, request.Reference, caller.Items, cancellationToken);
        return outcome == V2Outcome.Ok ? Accepted(context) : Fail(context, request, caller.Principal, AccessActions.Delete, access, outcome);
    }

    // ---------------------------------------------------------------- discovery

    private static async Task<IResult> TagsAsync(HttpContext context, V2Request request, V2Access access, V2Registry registry, CancellationToken cancellationToken)
    {
        var (caller, failure) = await AuthorizeAsync(context, request, AccessActions.Read, access, cancellationToken);
        if (caller is null)
        {
            return failure!;
        }

        var tags = await registry.ListTagsAsync(request.Repository.Key, request.Image, caller.Items, cancellationToken);
        if (tags is null)
        {
            return V2Errors.Result(V2Errors.NameUnknown);
        }

        var (page, problem) = Paginate(context, tags, $"{request.PathPrefix}{request.Image}/tags/list");
        return problem ?? Results.Json(new { name = request.ClientName, tags = page });
    }

    private static async Task<IResult> CatalogAsync(HttpContext context, V2Request request, V2Access access, V2Registry registry, CancellationToken cancellationToken)
    {
        var (caller, grant) = await access.AuthenticateWithGrantAsync(context, request.Repository.Key, cancellationToken);
        if (caller is null || (request.Repository.ForceDockerAuthentication && caller.IsAnonymous)
            || !await access.Policy.AllowsAsync(caller, request.Repository, "", isFolder: true, AccessActions.Read, cancellationToken))
        {
            return caller is { IsAnonymous: false } ? V2Errors.Result(V2Errors.Denied)
                : V2Errors.Result(V2Errors.Unauthorized, access.Challenge(context, request.KeyInName ? null : request.Repository.Key, "registry:catalog:*"));
        }

        var readable = new List<string>();
        foreach (var image in await registry.CatalogAsync(request.Repository.Key, access.Policy.ItemAccessFor(caller, request.Repository, cancellationToken), cancellationToken))
        {
            // A registry token lists only what it may pull.
            if (grant is null || GrantCovers(grant, request.Repository.Key, image, "pull"))
            {
                readable.Add(request.KeyInName ? $"{request.Repository.Key}/{image}" : image);
            }
        }

        var (page, problem) = Paginate(context, readable, $"{request.PathPrefix}_catalog");
        return problem ?? Results.Json(new { repositories = page });
    }

    private static async Task<IResult> ReferrersAsync(HttpContext context, V2Request request, V2Access access, V2Registry registry, CancellationToken cancellationToken)
    {
        var (caller, failure) = await AuthorizeAsync(context, request, AccessActions.Read, access, cancellationToken);
        if (caller is null)
        {
            return failure!;
        }

        if (!Digest.TryParse(request.Reference, out var subject))
        {
            return V2Errors.Result(V2Errors.DigestMalformed);
        }

        var artifactType = context.Request.Query["artifactType"].ToString() is { Length: > 0 } t ? t : null;
        var referrers = await registry.ReferrersAsync(request.Repository.Key, request.Image, subject, artifactType, caller.Items, cancellationToken);
        if (artifactType is not null)
        {
            context.Response.Headers["OCI-Filters-Applied"] = "artifactType";
        }

        var manifests = new List<Dictionary<string, object>>();
        foreach (var referrer in referrers)
        {
            var entry = new Dictionary<string, object> { ["mediaType"] = referrer.MediaType, ["digest"] = referrer.Digest.ToString(), ["size"] = referrer.Size };
            if (referrer.ArtifactType is { } type)
            {
                entry["artifactType"] = type;
            }

            // Read defensively: a manifest stored before manifests were checked must not fail the list.
            if (await registry.ReadBlobAsync(referrer.Digest.Hex, cancellationToken) is { } bytes && Manifests.Annotations(bytes) is { } annotations)
            {
                entry["annotations"] = annotations;
            }

            manifests.Add(entry);
        }

        return Results.Json(new { schemaVersion = 2, mediaType = ImageIndex, manifests }, contentType: ImageIndex);
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>OCI paging: <c>n</c> (0 and up) and <c>last</c>, with a <c>Link</c> header when more follow.</summary>
    private static (IReadOnlyList<string> Page, IResult? Problem) Paginate(HttpContext context, IReadOnlyList<string> sorted, string path)
    {
        var query = context.Request.Query;
        var last = query["last"].ToString();
        var rest = last.Length == 0 ? sorted : [.. sorted.Where(s => string.CompareOrdinal(s, last) > 0)];
        if (!query.ContainsKey("n"))
        {
            return (rest, null);
        }

        if (!int.TryParse(query["n"], NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 0)
        {
            return ([], V2Errors.Result(V2Errors.PaginationInvalid));
        }

        n = Math.Min(n, MaxPage);
        var page = rest.Take(n).ToList();
        if (rest.Count > n && page.Count > 0)
        {
            context.Response.Headers.Link = $"<{path}?last={Uri.EscapeDataString(page[^1])}&n={n}>; rel=\"next\"";
        }

        return (page, null);
    }

    /// <summary>
    /// The start of a chunk's <c>Content-Range</c> (null without one); false when the header is
    /// malformed or names another length than the body's <c>Content-Length</c>.
    /// </summary>
    private static bool TryChunkStart(HttpRequest request, out long? start)
    {
        start = null;
        var range = request.Headers.ContentRange.ToString();
        if (range.Length == 0)
        {
            return true;
        }

        if (!TryParseContentRange(range, out var from, out var to) || (request.ContentLength is { } length && length != to - from + 1))
        {
            return false;
        }

        start = from;
        return true;
    }

    private static bool TryParseContentRange(string value, out long from, out long to)
    {
        from = to = 0;
        var text = value.StartsWith("bytes ", StringComparison.Ordinal) ? value[6..] : value;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            text = text[..slash];
        }

        var dash = text.IndexOf('-', StringComparison.Ordinal);
        return dash > 0
            && long.TryParse(text[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out from)
            && long.TryParse(text[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out to)
            && to >= from;
    }

    private static void SetUploadHeaders(HttpContext context, V2Request request, V2Upload upload)
    {
        var headers = context.Response.Headers;
        headers.Location = $"{request.PathPrefix}{request.Image}/blobs/uploads/{upload.Id}";
        headers["Docker-Upload-UUID"] = upload.Id;
        headers.Range = upload.Size == 0 ? "0-0" : $"0-{upload.Size - 1}";
    }

    private static IResult UploadAccepted(HttpContext context, V2Request request, V2Upload upload)
    {
        SetUploadHeaders(context, request, upload);
        context.Response.ContentLength = 0;
        return Results.StatusCode(202);
    }

    private static IResult RangeInvalid(HttpContext context, V2Request request, V2Upload upload)
    {
        SetUploadHeaders(context, request, upload);
        return V2Errors.Result(V2Errors.For(V2Outcome.RangeInvalid));
    }

    private static IResult BlobCreated(HttpContext context, V2Request request, Digest digest)
    {
        context.Response.Headers.Location = $"{request.PathPrefix}{request.Image}/blobs/{digest}";
        context.Response.Headers["Docker-Content-Digest"] = digest.ToString();
        return Results.StatusCode(201);
    }

    private static IResult Accepted(HttpContext context)
    {
        context.Response.ContentLength = 0;
        return Results.StatusCode(202);
    }
}
