using System.Text.Json;
using System.Text.RegularExpressions;
using Wharf.Core.Docker.V1;
using Wharf.Core.Naming;
using Wharf.Core.Repositories;
using Wharf.Core.Security;
using Wharf.Core.Storage;
using Wharf.Server.Auth;
using Wharf.Server.Hosting;
using Wharf.Server.Http;

namespace Wharf.Server.Api.V1;

/// <summary>
/// Docker Registry V1 (docker-v1-protocol.md). The same routes answer at the root (<c>/v1/…</c>,
/// served by the default repository) and below <c>/artifactory/api/docker/&lt;repoKey&gt;/v1/</c>
/// and <c>/api/docker/&lt;repoKey&gt;/v1/</c>.
/// </summary>
internal static partial class V1Endpoints
{
    public const string RegistryVersion = "0.9.1";

    /// <summary>JSON bodies other than image JSON (image lists, tag ids) are capped here.</summary>
    private const int MaxIndexBodyBytes = 4 << 20;

    private static readonly string[] Prefixes = ["/v1", "/artifactory/api/docker/{repoKey}/v1", "/api/docker/{repoKey}/v1"];

    public static void Map(IEndpointRouteBuilder app)
    {
        // §6.1: /_ping exists only at the root.
        app.MapGet("/_ping", Ping).AddEndpointFilter(CommonHeaders);
        foreach (var prefix in Prefixes)
        {
            var v1 = app.MapGroup(prefix).AddEndpointFilter(CommonHeaders);
            v1.MapGet("/_ping", Ping);
            v1.MapGet("/", () => V1Response.Json(200, new Dictionary<string, string>()));

            // Routing matches "/users" and "/users/" alike; self-registration is not supported (§5.5).
            v1.MapGet("/users", LoginAsync);
            v1.MapPost("/users", () => V1Response.Error(V1Errors.RequiresAuthorization, V1RouteKind.Index));
            v1.MapPut("/users/{username}/", () => V1Response.Error(V1Errors.RequiresAuthorization, V1RouteKind.Index));
            v1.MapGet("/images/{id}/json", GetImageJsonAsync);
            v1.MapPut("/images/{id}/json", PutImageJsonAsync);
            v1.MapPut("/images/{id}/layer", PutLayerAsync);
            v1.MapGet("/images/{id}/layer", GetLayerAsync);
            v1.MapPut("/images/{id}/checksum", PutChecksumAsync);
            v1.MapGet("/images/{id}/ancestry", GetAncestryAsync);
            v1.MapGet("/search", SearchAsync);
            v1.MapMethods("/repositories/{**rest}", ["GET", "PUT", "DELETE"], RepositoriesAsync);
        }

        // §4.2: below /v2 a V1 repository answers a plain 404 with no V2 header (V2Endpoints routes it).
    }

    private static ValueTask<object?> CommonHeaders(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var headers = context.HttpContext.Response.Headers;
        headers["X-Docker-Registry-Version"] = RegistryVersion;
        headers["X-Docker-Registry-Standalone"] = "true";
        headers.CacheControl = "no-cache";
        return next(context);
    }

    // ---------------------------------------------------------------- §6.1, §6.2

    private static V1Response Ping() => V1Response.True;

    private static async Task<IResult> LoginAsync(HttpContext context, UserAuthenticator users, CancellationToken cancellationToken)
    {
        var credentials = Credentials.Parse(context.Request);
        if (credentials.Kind != CredentialKind.Basic)
        {
            return V1Response.Error(V1Errors.RequiresAuthorization, V1RouteKind.Index);
        }

        var (outcome, _) = await users.LoginAsync(credentials.User, credentials.Secret, context.Connection.RemoteIpAddress?.ToString(), cancellationToken);
        return outcome switch
        {
            LoginOutcome.Ok => V1Response.Json(200, "OK"),
            LoginOutcome.Disabled => V1Response.Error(V1Errors.AccountNotActive, V1RouteKind.Index),
            LoginOutcome.Throttled => V1Response.Error(V1Errors.TooManyLogins, V1RouteKind.Index),
            _ => V1Response.Error(V1Errors.RequiresAuthorization, V1RouteKind.Index),
        };
    }

    // ---------------------------------------------------------------- §6.4 images

    private static Task<IResult> GetImageJsonAsync(HttpContext context, string id, V1Gate gate, V1Registry registry, ContentStore content, CancellationToken cancellationToken) =>
        WithCompleteImageAsync(context, id, V1Layout.JsonFile, gate, registry, cancellationToken, async image =>
        {
            var json = await content.ReadAllBytesAsync(image.JsonSha256, cancellationToken)
                ?? throw new InvalidOperationException($"Blob {image.JsonSha256} is referenced but missing.");
            return V1Response.Raw(json,
            [
                new("X-Docker-Size", image.LayerSize.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                new("X-Docker-Checksum-Payload", image.PayloadChecksum),
            ]);
        });

    private static Task<IResult> PutImageJsonAsync(HttpContext context, string id, V1Gate gate, V1Registry registry, CancellationToken cancellationToken) =>
        WithImageAsync(context, id, AccessActions.Deploy, [V1Layout.JsonFile], gate, cancellationToken, async (repository, _) =>
        {
            var (read, body) = await RequestBody.ReadAsync(context.Request, V1Registry.MaxImageJsonBytes, cancellationToken);
            if (read != BodyReadOutcome.Ok)
            {
                return V1Response.Error(read == BodyReadOutcome.TooLarge ? V1Errors.JsonTooLarge : V1Errors.BodyTruncated);
            }

            var outcome = await registry.PutImageJsonAsync(repository.Key, id, body, cancellationToken);
            return outcome == V1Outcome.Ok ? V1Response.True : V1Response.Error(V1Errors.For(outcome));
        });

    private static Task<IResult> PutLayerAsync(HttpContext context, string id, V1Gate gate, V1Registry registry, CancellationToken cancellationToken) =>
        WithImageAsync(context, id, AccessActions.Deploy, [V1Layout.LayerFile], gate, cancellationToken, async (repository, _) =>
        {
            var outcome = await registry.PutLayerAsync(repository.Key, id, context.Request.Body, cancellationToken);
            return outcome == V1Outcome.Ok ? V1Response.True : V1Response.Error(V1Errors.For(outcome));
        });

    private static Task<IResult> PutChecksumAsync(HttpContext context, string id, V1Gate gate, V1Registry registry, ILogger<V1Gate> logger, CancellationToken cancellationToken) =>
        WithImageAsync(context, id, AccessActions.Deploy, CompletedImageFiles, gate, cancellationToken, async (repository, caller) =>
        {
            var headers = context.Request.Headers;
            if (!headers.TryGetValue("X-Docker-Checksum-Payload", out var payload))
            {
                return V1Response.Error(V1Errors.ChecksumHeaderMissing);
            }

            if (string.IsNullOrWhiteSpace(payload.ToString()))
            {
                return V1Response.Error(V1Errors.ChecksumEmpty);
            }

            var outcome = await registry.PutChecksumAsync(repository.Key, id, payload.ToString(), headers["X-Docker-Checksum"].ToString(), caller.Principal.DisplayName, cancellationToken);
            if (outcome != V1Outcome.Ok)
            {
                return V1Response.Error(V1Errors.For(outcome));
            }

            Log.V1ImagePushed(logger, id, repository.Key, caller.Principal.DisplayName);
            return V1Response.True;
        });

    private static Task<IResult> GetLayerAsync(HttpContext context, string id, V1Gate gate, V1Registry registry, ContentStore content, CancellationToken cancellationToken) =>
        WithCompleteImageAsync(context, id, V1Layout.LayerFile, gate, registry, cancellationToken, async image =>
        {
            // Layers of a complete image never change (§9).
            context.Response.Headers.CacheControl = "public, max-age=31536000";
            await BlobResponse.SendAsync(context, content, image.LayerSha256, image.LayerSize, "application/octet-stream", cancellationToken);
            return Results.Empty;
        });

    private static Task<IResult> GetAncestryAsync(HttpContext context, string id, V1Gate gate, V1Registry registry, ContentStore content, CancellationToken cancellationToken) =>
        WithCompleteImageAsync(context, id, V1Layout.AncestryFile, gate, registry, cancellationToken, async image =>
        {
            return V1Response.Raw(await content.ReadAllBytesAsync(image.AncestrySha256, cancellationToken)
                ?? throw new InvalidOperationException($"Blob {image.AncestrySha256} is referenced but missing."));
        });

    /// <summary>The files a verified checksum publishes in the image folder.</summary>
    private static readonly string[] CompletedImageFiles = [V1Layout.JsonFile, V1Layout.LayerFile, V1Layout.AncestryFile, V1Layout.ChecksumFile];

    /// <summary>Image reads of one file: as <see cref="WithImageAsync"/>, then 404 or 400 unless the image is complete (§9).</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1068", Justification = "The handler lambda reads best last.")]
    private static Task<IResult> WithCompleteImageAsync(HttpContext context, string id, string file, V1Gate gate, V1Registry registry, CancellationToken cancellationToken, Func<V1Image, Task<IResult>> handler) =>
        WithImageAsync(context, id, AccessActions.Read, [file], gate, cancellationToken, async (repository, _) =>
        {
            var lookup = await registry.GetImageAsync(repository.Key, id, cancellationToken);
            return lookup.Image is { } image ? await handler(image) : V1Response.Error(V1Errors.For(lookup.Outcome));
        });

    /// <summary>
    /// Image routes: repository, credentials, permission, then the id format (the reference order).
    /// The route's <paramref name="files"/> of the image folder are checked exactly: a file the
    /// caller may not read is not found, one it may not write is refused.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1068", Justification = "The handler lambda reads best last.")]
    private static async Task<IResult> WithImageAsync(HttpContext context, string id, AccessActions needed, IReadOnlyList<string> files, V1Gate gate, CancellationToken cancellationToken, Func<RepositoryConfig, V1Caller, Task<IResult>> handler)
    {
        var (caller, invalid) = await gate.AuthenticateAsync(context, V1RouteKind.Registry, disregardToken: false, cancellationToken);
        if (caller is null)
        {
            return invalid!;
        }

        var (repository, missing) = await gate.ResolveRepositoryAsync(context, cancellationToken);
        if (repository is null)
        {
            return missing!;
        }

        if (!ImageId.IsValid(id))
        {
            // No token covers an id that cannot be in any index (§5.4 step 1), and permission precedes the format check.
            return caller.Token is not null
                ? V1Response.Error(V1Errors.RequiresAuthorization)
                : await gate.AuthorizePathAsync(repository, caller, V1Layout.ImagesRoot, needed, V1RouteKind.Registry, cancellationToken)
                    ?? V1Response.Error(V1Errors.InvalidImageId);
        }

        if (await gate.AuthorizeImageAsync(repository, caller, id, needed, cancellationToken) is { } refused)
        {
            return refused;
        }

        var items = gate.Items(repository, caller, cancellationToken);
        foreach (var file in files)
        {
            if (!await items(V1Layout.ImageFile(id, file), needed))
            {
                return needed == AccessActions.Read ? V1Response.Error(V1Errors.ImageNotFound) : V1Gate.Refusal(caller);
            }
        }

        return await handler(repository, caller);
    }

    // ---------------------------------------------------------------- §6.6 search

    private static async Task<IResult> SearchAsync(HttpContext context, V1Gate gate, V1Registry registry, CancellationToken cancellationToken)
    {
        var (caller, invalid) = await gate.AuthenticateAsync(context, V1RouteKind.Index, disregardToken: false, cancellationToken);
        if (caller is null)
        {
            return invalid!;
        }

        var (repository, missing) = await gate.ResolveRepositoryAsync(context, cancellationToken);
        if (repository is null)
        {
            return missing!;
        }

        if (caller.Token is not null)
        {
            // Tokens are scoped to one repository's push or pull; search is outside that scope (§5.3).
            return V1Response.Error(V1Errors.RequiresAuthorization, V1RouteKind.Index);
        }

        if (caller.Principal.IsAnonymous && !await gate.CanBrowseAsync(repository, caller.Principal, cancellationToken))
        {
            return V1Response.Error(V1Errors.RequiresAuthorization, V1RouteKind.Index);
        }

        var query = context.Request.Query["q"].ToString();
        var readable = new List<V1SearchHit>();
        foreach (var listing in await registry.ListRepositoriesAsync(repository.Key, cancellationToken))
        {
            if (V1RepositoryName.TryParse(listing.Name, out var name) && await registry.IsReadableAsync(repository.Key, name, gate.Items(repository, caller, cancellationToken), cancellationToken))
            {
                readable.Add(listing);
            }
        }

        var page = V1Registry.Search(readable, query, ParseInt(context.Request.Query["n"]), ParseInt(context.Request.Query["page"]));
        return V1Response.Json(200, new V1SearchResponse(
            query, page.Total, (page.Total + page.PageSize - 1) / page.PageSize, page.Page, page.PageSize,
            [.. page.Results.Select(r => new V1SearchResult(r.Name, r.Description, 0, false, false, false))]));

        static int? ParseInt(string? value) => int.TryParse(value, out var number) ? number : null;
    }

    // ---------------------------------------------------------------- §6.3, §6.5 repositories

    /// <summary>The routing table of §2.2.4, first match wins; names may contain slashes.</summary>
    private static async Task<IResult> RepositoriesAsync(HttpContext context, V1Gate gate, V1Registry registry, V1Tokens tokens, ILogger<V1Gate> logger, CancellationToken cancellationToken)
    {
        var rest = RepositoryRest(context);
        var method = context.Request.Method;
        Match match;
        if ((match = TagJsonRoute().Match(rest)).Success && HttpMethods.IsGet(method))
        {
            return await TagAsync(context, match, gate, registry, logger, metadataOnly: true, cancellationToken);
        }

        if ((match = TagRoute().Match(rest)).Success)
        {
            return await TagAsync(context, match, gate, registry, logger, metadataOnly: false, cancellationToken);
        }

        if ((match = TagsRoute().Match(rest)).Success)
        {
            return HttpMethods.IsDelete(method)
                ? await DeleteRepositoryAsync(context, match.Groups[1].Value, gate, registry, logger, cancellationToken)
                : await TagListAsync(context, match.Groups[1].Value, gate, registry, cancellationToken);
        }

        if ((match = ImagesRoute().Match(rest)).Success)
        {
            return await IndexImagesAsync(context, match.Groups[1].Value, gate, registry, tokens, cancellationToken);
        }

        if ((match = RepositoryJsonRoute().Match(rest)).Success && HttpMethods.IsGet(method))
        {
            return await RepositoryJsonAsync(context, match.Groups[1].Value, gate, registry, cancellationToken);
        }

        var self = SelfRoute().Match(rest);
        return HttpMethods.IsPut(method) ? await AnnounceAsync(context, self.Groups[1].Value, gate, registry, tokens, cancellationToken)
            : HttpMethods.IsDelete(method) ? await DeleteRepositoryAsync(context, self.Groups[1].Value, gate, registry, logger, cancellationToken)
            : V1Response.Error(V1Errors.NotFound);
    }

    /// <summary>Push start (§6.3.1): 200 <c>""</c> with a write token and the Host as endpoint.</summary>
    private static Task<IResult> AnnounceAsync(HttpContext context, string rawName, V1Gate gate, V1Registry registry, V1Tokens tokens, CancellationToken cancellationToken) =>
        WithRepositoryAsync(context, rawName, AccessActions.Deploy, V1RouteKind.Index, tokenAccepted: false, gate, cancellationToken, async (repository, caller, name) =>
        {
            if (await gate.RequireAsync(repository, caller, V1Layout.Index(name), AccessActions.Deploy, V1RouteKind.Index, cancellationToken) is { } refused)
            {
                return refused;
            }

            var (read, body) = await JsonBody.ReadAsync(context.Request, MaxIndexBodyBytes, cancellationToken);
            if (read != JsonBodyOutcome.Ok)
            {
                return V1Response.Error(V1Errors.ForBody(read, V1Errors.ErrorDecodingJson), V1RouteKind.Index);
            }

            var ids = ParseImageList(body, out var error);
            if (ids is null)
            {
                return V1Response.Error(error!, V1RouteKind.Index);
            }

            if (await registry.AnnounceAsync(repository.Key, name, ids, caller.Principal.DisplayName, cancellationToken) is not V1Outcome.Ok and var blocked)
            {
                return V1Gate.Failure(blocked, caller, V1RouteKind.Index);
            }

            return V1Response.Json(200, "",
            [
                new("X-Docker-Token", tokens.Issue(caller.Principal.UserName ?? "", repository.Key, name, V1Access.Write, caller.Principal.Origin)),
                new("X-Docker-Endpoints", PublicUrls.DockerEndpoint(context)),
            ]);
        });

    private static async Task<IResult> IndexImagesAsync(HttpContext context, string rawName, V1Gate gate, V1Registry registry, V1Tokens tokens, CancellationToken cancellationToken)
    {
        var method = context.Request.Method;
        if (HttpMethods.IsPut(method))
        {
            // Push end (§6.3.2): exactly 204; the body (always [] from docker) is ignored.
            return await WithRepositoryAsync(context, rawName, AccessActions.Deploy, V1RouteKind.Index, tokenAccepted: true, gate, cancellationToken, async (repository, caller, name) =>
                await gate.RequireAsync(repository, caller, V1Layout.Index(name), AccessActions.Deploy, V1RouteKind.Index, cancellationToken)
                    ?? (await registry.GetIndexAsync(repository.Key, name, cancellationToken) is null
                        ? V1Response.Error(V1Errors.RepositoryNotFound, V1RouteKind.Index)
                        : V1Response.NoContent()));
        }

        if (HttpMethods.IsDelete(method))
        {
            return await WithRepositoryAsync(context, rawName, AccessActions.Delete, V1RouteKind.Index, tokenAccepted: true, gate, cancellationToken, async (repository, caller, name) =>
                await gate.RequireAsync(repository, caller, V1Layout.Index(name), AccessActions.Delete, V1RouteKind.Index, cancellationToken)
                    ?? V1Response.NoContent());
        }

        // Pull start (§6.3.3): the id list without tags, a read token and the endpoint.
        return await WithRepositoryAsync(context, rawName, AccessActions.Read, V1RouteKind.Index, tokenAccepted: false, gate, cancellationToken, async (repository, caller, name) =>
        {
            var ids = await gate.Items(repository, caller, cancellationToken)(V1Layout.Index(name), AccessActions.Read)
                ? await registry.GetIndexAsync(repository.Key, name, cancellationToken)
                : null;
            if (ids is null)
            {
                return V1Response.Error(V1Errors.ImagesNotFound, V1RouteKind.Index);
            }

            var headers = new List<KeyValuePair<string, string>>();
            if (string.Equals(context.Request.Headers["X-Docker-Token"].ToString(), "true", StringComparison.OrdinalIgnoreCase))
            {
                headers.Add(new("X-Docker-Token", tokens.Issue(caller.Principal.UserName ?? "", repository.Key, name, V1Access.Read, caller.Principal.Origin)));
            }

            headers.Add(new("X-Docker-Endpoints", PublicUrls.DockerEndpoint(context)));
            return V1Response.Json(200, ids.Select(id => new V1ImageListEntry(id)).ToArray(), headers);
        });
    }

    private static Task<IResult> TagListAsync(HttpContext context, string rawName, V1Gate gate, V1Registry registry, CancellationToken cancellationToken) =>
        WithRepositoryAsync(context, rawName, AccessActions.Read, V1RouteKind.Registry, tokenAccepted: true, gate, cancellationToken, async (repository, caller, name) =>
        {
            var tags = await registry.ListTagsAsync(repository.Key, name, gate.Items(repository, caller, cancellationToken), cancellationToken);
            return tags is null
                ? V1Response.Error(V1Errors.RepositoryNotFound)
                : V1Response.Json(200, tags.ToDictionary(t => t.Tag, t => t.ImageId, StringComparer.Ordinal));
        });

    private static async Task<IResult> TagAsync(HttpContext context, Match match, V1Gate gate, V1Registry registry, ILogger<V1Gate> logger, bool metadataOnly, CancellationToken cancellationToken)
    {
        var rawName = match.Groups[1].Value;
        var tag = match.Groups[2].Value;
        var method = context.Request.Method;
        if (HttpMethods.IsGet(method))
        {
            return await WithRepositoryAsync(context, rawName, AccessActions.Read, V1RouteKind.Registry, tokenAccepted: true, gate, cancellationToken, async (repository, caller, name) =>
            {
                var id = await registry.GetTagAsync(repository.Key, name, tag, gate.Items(repository, caller, cancellationToken), cancellationToken);
                return id is null ? V1Response.Error(V1Errors.TagNotFound)
                    : metadataOnly ? V1Response.Json(200, V1TagMetadata.Unknown)
                    : V1Response.Json(200, id);
            });
        }

        if (HttpMethods.IsDelete(method))
        {
            return await WithRepositoryAsync(context, rawName, AccessActions.Delete, V1RouteKind.Registry, tokenAccepted: true, gate, cancellationToken, async (repository, caller, name) =>
            {
                switch (await registry.DeleteTagAsync(repository.Key, name, tag, gate.Items(repository, caller, cancellationToken), cancellationToken))
                {
                    case V1Outcome.Denied:
                        return V1Gate.Refusal(caller);
                    case not V1Outcome.Ok:
                        return V1Response.Error(V1Errors.TagNotFoundNamed(tag));
                }

                Log.V1Deleted(logger, "tag " + tag, repository.Key, name.FullName, caller.Principal.DisplayName);
                return V1Response.True;
            });
        }

        return await WithRepositoryAsync(context, rawName, AccessActions.Deploy, V1RouteKind.Registry, tokenAccepted: true, gate, cancellationToken, async (repository, caller, name) =>
        {
            if (!TagName.IsValid(tag))
            {
                return V1Response.Error(V1Errors.InvalidTag);
            }

            var (read, body) = await JsonBody.ReadAsync(context.Request, MaxIndexBodyBytes, cancellationToken);
            if (read != JsonBodyOutcome.Ok)
            {
                return V1Response.Error(V1Errors.ForBody(read, V1Errors.InvalidData));
            }

            string? imageId;
            try
            {
                imageId = JsonSerializer.Deserialize<string>(body);
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            {
                imageId = null;
            }

            if (string.IsNullOrEmpty(imageId))
            {
                return V1Response.Error(V1Errors.InvalidData);
            }

            var outcome = await registry.PutTagAsync(repository.Key, name, tag, imageId, caller.Principal.DisplayName, gate.Items(repository, caller, cancellationToken), cancellationToken, repository.MaxUniqueTags);
            if (outcome != V1Outcome.Ok)
            {
                return V1Gate.Failure(outcome, caller);
            }

            Log.V1TagSet(logger, repository.Key, name.FullName, tag, imageId, caller.Principal.DisplayName);
            return V1Response.True;
        });
    }

    private static Task<IResult> DeleteRepositoryAsync(HttpContext context, string rawName, V1Gate gate, V1Registry registry, ILogger<V1Gate> logger, CancellationToken cancellationToken) =>
        WithRepositoryAsync(context, rawName, AccessActions.Delete, V1RouteKind.Registry, tokenAccepted: true, gate, cancellationToken, async (repository, caller, name) =>
        {
            var outcome = await registry.DeleteRepositoryAsync(repository.Key, name, gate.Items(repository, caller, cancellationToken), cancellationToken);
            if (outcome != V1Outcome.Ok)
            {
                return V1Gate.Failure(outcome, caller);
            }

            Log.V1Deleted(logger, "repository", repository.Key, name.FullName, caller.Principal.DisplayName);
            return V1Response.True;
        });

    private static Task<IResult> RepositoryJsonAsync(HttpContext context, string rawName, V1Gate gate, V1Registry registry, CancellationToken cancellationToken) =>
        WithRepositoryAsync(context, rawName, AccessActions.Read, V1RouteKind.Registry, tokenAccepted: true, gate, cancellationToken, async (repository, caller, name) =>
            await registry.ListTagsAsync(repository.Key, name, gate.Items(repository, caller, cancellationToken), cancellationToken) is null
                ? V1Response.Error(V1Errors.RepositoryNotFound)
                : V1Response.Json(200, V1TagMetadata.Unknown));

    /// <summary>Repository routes: repository, name, credentials (tokens ignored on DELETE), permission, then the handler.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1068", Justification = "The handler lambda reads best last.")]
    private static async Task<IResult> WithRepositoryAsync(HttpContext context, string rawName, AccessActions needed, V1RouteKind kind, bool tokenAccepted, V1Gate gate, CancellationToken cancellationToken, Func<RepositoryConfig, V1Caller, V1RepositoryName, Task<IResult>> handler)
    {
        // §5.4: invalid credentials are answered first, before anything about the repository or name.
        var (caller, invalid) = await gate.AuthenticateAsync(context, kind, disregardToken: HttpMethods.IsDelete(context.Request.Method), cancellationToken);
        if (caller is null)
        {
            return invalid!;
        }

        var (repository, missing) = await gate.ResolveRepositoryAsync(context, cancellationToken);
        if (repository is null)
        {
            return missing!;
        }

        if (!V1RepositoryName.TryParse(rawName, out var name))
        {
            return V1Response.Error(V1Errors.InvalidRepositoryName, kind);
        }

        return await gate.AuthorizeRepositoryAsync(repository, caller, name, needed, kind, tokenAccepted, cancellationToken)
            ?? await handler(repository, caller, name);
    }

    /// <summary>
    /// The path after the prefix's <c>/v1/repositories/</c>. Keys cannot hold a slash and cannot be
    /// <c>v1</c>, so the first occurrence is the prefix's even for a key named <c>repositories</c>.
    /// </summary>
    private static string RepositoryRest(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        const string marker = "/v1/repositories/";
        var index = path.IndexOf(marker, StringComparison.Ordinal);
        return index < 0 ? "" : path[(index + marker.Length)..];
    }

    /// <summary>The ids of a push start's image list (<c>[{"id":…},…]</c>); <paramref name="body"/> has passed <see cref="JsonBody"/>.</summary>
    private static List<string>? ParseImageList(byte[] body, out V1Error? error)
    {
        error = null;
        using var document = JsonDocument.Parse(body);
        if (document.RootElement.ValueKind != JsonValueKind.Array)
        {
            error = V1Errors.InvalidData;
            return null;
        }

        var ids = new List<string>();
        foreach (var entry in document.RootElement.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("id", out var id)
                || id.ValueKind != JsonValueKind.String || id.GetString() is not { } value || !ImageId.IsValid(value))
            {
                error = V1Errors.InvalidData;
                return null;
            }

            ids.Add(value);
        }

        return ids;
    }

    [GeneratedRegex(@"^(.+)/tags/([^/]+)/json$")]
    private static partial Regex TagJsonRoute();

    [GeneratedRegex(@"^(.+)/tags/([^/]+)$")]
    private static partial Regex TagRoute();

    [GeneratedRegex(@"^(.+)/tags$")]
    private static partial Regex TagsRoute();

    [GeneratedRegex(@"^(.+)/images$")]
    private static partial Regex ImagesRoute();

    [GeneratedRegex(@"^(.+)/json$")]
    private static partial Regex RepositoryJsonRoute();

    [GeneratedRegex(@"^(.+?)/?$")]
    private static partial Regex SelfRoute();
}

internal sealed record V1ImageListEntry(string Id);

internal sealed record V1SearchResult(
    string Name,
    string Description,
    int StarCount,
    bool IsOfficial,
    bool IsTrusted,
    bool IsAutomated);

internal sealed record V1SearchResponse(
    string Query,
    int NumResults,
    int NumPages,
    int Page,
    int PageSize,
    IReadOnlyList<V1SearchResult> Results);

/// <summary>Tag metadata of §6.5.5 (MAY); Wharf records none yet and serves the documented default.</summary>
internal sealed record V1TagMetadata(
    long? LastUpdate,
    string? DockerVersion,
    string? DockerGoVersion,
    string Arch,
    string Os,
    string? Kernel)
{
    public static readonly V1TagMetadata Unknown = new(null, null, null, "amd64", "linux", null);
}
