using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Wharf.Core.Docker.V2;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Security;

namespace Wharf.Server.Api.V2;

/// <summary>
/// Content discovery: tags lists, catalogs (rest-api §3.6) and referrers
/// (https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md, sections named on
/// each handler). Each lists only what the caller may read, and what a registry token may pull.
/// </summary>
internal static class V2DiscoveryEndpoints
{
    private const string ImageIndex = "application/vnd.oci.image.index.v1+json";

    /// <summary>Largest page of tags or catalog names (rest-api §3.6).</summary>
    private const int MaxPage = 10_000;

    /// <summary>GET <c>&lt;name&gt;/tags/list</c> with <c>n</c> and <c>last</c> ("Listing Tags").</summary>
    public static async Task<IResult> TagsAsync(V2Call call, V2Discovery discovery, CancellationToken cancellationToken)
    {
        var tags = await discovery.ListTagsAsync(call.Key, call.Image, call.Caller.Items, cancellationToken);
        if (tags is null)
        {
            return V2Errors.Result(V2Errors.NameUnknown);
        }

        var (page, problem) = Paginate(call.Context, tags, UrlBuilder.Tags(call.Request));
        return problem ?? Results.Json(new { name = call.Request.ClientName, tags = page });
    }

    /// <summary>GET <c>_catalog</c> of one repository: its images, named with the key in front by the repository-path method.</summary>
    public static async Task<IResult> CatalogAsync(V2Call call, V2Discovery discovery, CancellationToken cancellationToken)
    {
        var readable = new List<string>();
        foreach (var image in await discovery.CatalogAsync(call.Key, call.Caller.Items, cancellationToken))
        {
            if (call.TokenMayList(call.Key, image))
            {
                readable.Add(call.Request.KeyInName ? $"{call.Key}/{image}" : image);
            }
        }

        var (page, problem) = Paginate(call.Context, readable, UrlBuilder.Catalog(call.Request));
        return problem ?? Results.Json(new { repositories = page });
    }

    /// <summary>
    /// GET <c>/v2/_catalog</c> on the main listener (repository-path method): every readable image
    /// of every V2 repository, named <c>&lt;key&gt;/&lt;image&gt;</c> as clients address them there.
    /// </summary>
    public static async Task<IResult> CatalogAllAsync(V2Call call, V2Discovery discovery, RepositoryLookup repositories, AccessPolicy policy, CancellationToken cancellationToken)
    {
        var caller = call.Caller.Principal;
        var names = new List<string>();
        foreach (var repository in await repositories.ListAsync(cancellationToken))
        {
            if (repository.DockerApiVersion != DockerApiVersion.V2 || (repository.ForceDockerAuthentication && caller.IsAnonymous))
            {
                continue;
            }

            foreach (var image in await discovery.CatalogAsync(repository.Key, policy.ItemAccessFor(caller, repository, cancellationToken), cancellationToken))
            {
                if (call.TokenMayList(repository.Key, image))
                {
                    names.Add($"{repository.Key}/{image}");
                }
            }
        }

        names.Sort(StringComparer.Ordinal);
        var (page, problem) = Paginate(call.Context, names, UrlBuilder.Catalog(call.Request));
        return problem ?? Results.Json(new { repositories = page });
    }

    /// <summary>GET <c>&lt;name&gt;/referrers/&lt;digest&gt;</c> with <c>artifactType</c> ("Listing Referrers").</summary>
    public static async Task<IResult> ReferrersAsync(V2Call call, V2Discovery discovery, CancellationToken cancellationToken)
    {
        if (!Digest.TryParse(call.Request.Reference, out var subject))
        {
            return V2Errors.Result(V2Errors.DigestMalformed);
        }

        var context = call.Context;
        var artifactType = context.Request.Query["artifactType"].ToString() is { Length: > 0 } t ? t : null;
        var referrers = await discovery.ReferrersAsync(call.Key, call.Image, subject, artifactType, call.Caller.Items, cancellationToken);
        if (artifactType is not null)
        {
            context.Response.Headers["OCI-Filters-Applied"] = "artifactType";
        }

        // Written straight to JSON, not serialized from a dictionary per referrer: a subject can
        // have thousands (bench/v2-bench.sh measures 1,000).
        var body = new ArrayBufferWriter<byte>(256 + (referrers.Count * 320));
        await using (var json = new Utf8JsonWriter(body, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteNumber("schemaVersion", 2);
            json.WriteString("mediaType", ImageIndex);
            json.WriteStartArray("manifests");
            foreach (var referrer in referrers)
            {
                json.WriteStartObject();
                json.WriteString("mediaType", referrer.MediaType);
                json.WriteString("digest", referrer.Digest.ToString());
                json.WriteNumber("size", referrer.Size);
                if (referrer.ArtifactType is { } type)
                {
                    json.WriteString("artifactType", type);
                }

                if (await discovery.AnnotationsAsync(referrer.Digest.Hex, cancellationToken) is { } annotations)
                {
                    json.WriteStartObject("annotations");
                    foreach (var (key, value) in annotations)
                    {
                        json.WriteString(key, value);
                    }

                    json.WriteEndObject();
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Results.Bytes(body.WrittenMemory, ImageIndex);
    }

    /// <summary>OCI paging: <c>n</c> (0 and up) and <c>last</c>, with a <c>Link</c> to <paramref name="list"/>'s next page when more follow.</summary>
    private static (IReadOnlyList<string> Page, IResult? Problem) Paginate(HttpContext context, IReadOnlyList<string> sorted, string list)
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
            context.Response.Headers.Link = UrlBuilder.NextPage(list, page[^1], n);
        }

        return (page, null);
    }
}
