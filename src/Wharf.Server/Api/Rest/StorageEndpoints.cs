using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Serialization;
using Wharf.Core.Metadata;
using Wharf.Core.Security;
using Wharf.Core.Storage;
using Wharf.Server.Http;

namespace Wharf.Server.Api.Rest;

/// <summary>The read side of the storage API (rest-api §4.1–§4.3, §4.5) and repository downloads.</summary>
internal static class StorageEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var prefix in new[] { "/artifactory/api", "/api" })
        {
            app.MapGet(prefix + "/storage/{repoKey}/{**path}", StorageAsync).WithRestGate(RestRequirement.Storage());
        }

        app.MapMethods("/artifactory/{repoKey}/{**path}", ["GET", "HEAD"], DownloadAsync).WithRestGate(RestRequirement.Storage());
    }

    private static async Task<IResult> StorageAsync(
        HttpContext context, StorageReads reads, AccessPolicy policy, UrlBuilder urls, ContentStore content, TimeProvider time, CancellationToken cancellationToken)
    {
        var target = RestCall.Of(context).Target;
        var query = context.Request.Query;
        var links = urls.Rest(context.Request);
        var uri = links.Storage(target.Repository.Key, target.Path);
        if (query.ContainsKey("permissions"))
        {
            // Admins, or users holding m at the path (rest-api §4.4).
            if (!await policy.AllowsAsync(target.Caller, target.Repository, target.Path, target.Item?.IsFolder ?? true, AccessActions.Manage, cancellationToken))
            {
                return target.Caller.IsAnonymous ? RestErrors.Unauthorized() : RestErrors.Write(403, "Managing permissions of this path is not permitted.");
            }

            var (users, groups) = await policy.PrincipalsAtAsync(target.Repository, target.Path, cancellationToken);
            return Results.Json(
                new { uri, principals = new { users = users.ToDictionary(u => u.Key, u => ActionLetters.Format(u.Value)), groups = groups.ToDictionary(g => g.Key, g => ActionLetters.Format(g.Value)) } },
                contentType: "application/vnd.org.jfrog.artifactory.storage.ItemPermissions+json");
        }

        if (query.ContainsKey("properties"))
        {
            // A folder reached only by browsing lists its children; what it carries is read like a file.
            if (target.Item is { IsFolder: true } && !await policy.AllowsAsync(target.Caller, target.Repository, target.Path, isFolder: false, AccessActions.Read, cancellationToken))
            {
                return target.Caller.IsAnonymous ? RestErrors.Unauthorized() : RestErrors.NotFound();
            }

            return await PropertiesAsync(target, query["properties"].ToString(), uri, reads, cancellationToken);
        }

        if (query.ContainsKey("list"))
        {
            return target.Caller.IsAnonymous
                ? RestErrors.Unauthorized()
                : await ListAsync(context, target, uri, reads, time, cancellationToken);
        }

        if (target.Item is { IsFolder: false } file)
        {
            var checksums = await reads.ChecksumsAsync(file.Sha256!, content, cancellationToken);
            return Results.Json(new FileInfoBody(
                uri, links.Download(target.Repository.Key, file.Path), target.Repository.Key, "/" + file.Path,
                WireTime.Iso(file.Created), file.CreatedBy, WireTime.Iso(file.Modified), file.ModifiedBy, WireTime.Iso(file.Modified),
                file.Size.ToString(CultureInfo.InvariantCulture), file.MimeType ?? "application/octet-stream",
                checksums, new Dictionary<string, string> { ["sha256"] = file.Sha256! }),
                contentType: "application/vnd.org.jfrog.artifactory.storage.FileInfo+json");
        }

        var children = await reads.ReadableChildrenAsync(target, cancellationToken);
        var folder = target.Item;
        var created = folder?.Created ?? DateTimeOffset.UnixEpoch;
        return Results.Json(new FolderInfoBody(
            uri, target.Repository.Key, "/" + target.Path,
            WireTime.Iso(created), folder?.CreatedBy ?? "system", WireTime.Iso(folder?.Modified ?? created), folder?.ModifiedBy ?? "system", WireTime.Iso(folder?.Modified ?? created),
            [.. children.Select(c => new ChildBody("/" + c.Name, c.IsFolder))]),
            contentType: "application/vnd.org.jfrog.artifactory.storage.FolderInfo+json");
    }

    private static async Task<IResult> PropertiesAsync(StorageTarget target, string requested, string uri, StorageReads reads, CancellationToken cancellationToken)
    {
        if (target.Item is null)
        {
            return RestErrors.NotFound("No properties could be found.");
        }

        var properties = await reads.PropertiesAsync(target, cancellationToken);

        var wanted = requested.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var selected = properties.Where(p => wanted.Length == 0 || wanted.Contains(p.Key, StringComparer.Ordinal))
            .ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        return selected.Count == 0
            ? RestErrors.NotFound("No properties could be found.")
            : Results.Json(new PropertiesBody(uri, selected), contentType: "application/vnd.org.jfrog.artifactory.storage.ItemProperties+json");
    }

    private static async Task<IResult> ListAsync(HttpContext context, StorageTarget target, string uri, StorageReads reads, TimeProvider time, CancellationToken cancellationToken)
    {
        if (target.Item is { IsFolder: false })
        {
            return RestErrors.BadRequest("Expected a folder but found a file.");
        }

        var query = context.Request.Query;
        var deep = query["deep"] == "1";
        var listFolders = query["listFolders"] == "1";
        var includeRoot = query["includeRootPath"] == "1";
        var maxDepth = int.TryParse(query["depth"], out var depth) && depth > 0 ? depth : int.MaxValue;
        var items = await reads.ReadableDescendantsAsync(target, deep ? maxDepth : 1, cancellationToken);
        var files = new List<ListEntryBody>();
        if (includeRoot && listFolders)
        {
            files.Add(new ListEntryBody("/", "-1", WireTime.Iso(target.Item?.Modified ?? DateTimeOffset.UnixEpoch), true, null, null));
        }

        var prefixLength = target.Path.Length == 0 ? 0 : target.Path.Length + 1;
        foreach (var item in items.Where(i => listFolders || !i.IsFolder))
        {
            string? sha1 = null;
            if (!item.IsFolder)
            {
                sha1 = (await reads.ChecksumsAsync(item.Sha256!, null, cancellationToken)).GetValueOrDefault("sha1");
            }

            files.Add(new ListEntryBody(
                "/" + item.Path[prefixLength..], item.IsFolder ? "-1" : item.Size.ToString(CultureInfo.InvariantCulture),
                WireTime.Iso(item.Modified), item.IsFolder, sha1, item.IsFolder ? null : item.Sha256));
        }

        return Results.Json(new ListBody(uri, WireTime.Iso(time.GetUtcNow()), files), contentType: "application/vnd.org.jfrog.artifactory.storage.FileList+json");
    }

    /// <summary>GET/HEAD <c>/artifactory/{repoKey}/{path}</c>: file bytes (Range supported) or a folder listing.</summary>
    private static async Task<IResult> DownloadAsync(HttpContext context, string repoKey, StorageReads reads, ContentStore content, CancellationToken cancellationToken)
    {
        var target = RestCall.Of(context).Target;
        if (target.Item is { IsFolder: false } file)
        {
            var checksums = await reads.ChecksumsAsync(file.Sha256!, content, cancellationToken);
            var headers = context.Response.Headers;
            headers["X-Checksum-Sha256"] = file.Sha256;
            headers["X-Checksum-Sha1"] = checksums.GetValueOrDefault("sha1");
            headers["X-Checksum-Md5"] = checksums.GetValueOrDefault("md5");
            headers.ETag = "\"" + checksums.GetValueOrDefault("sha1") + "\"";
            headers.LastModified = file.Modified.ToString("R", CultureInfo.InvariantCulture);
            await BlobResponse.SendAsync(context, content, file.Sha256!, file.Size, file.MimeType ?? "application/octet-stream", cancellationToken);
            return Results.Empty;
        }

        var html = new StringBuilder("<!DOCTYPE html><html><head><title>Index of ")
            .Append(WebUtility.HtmlEncode($"{repoKey}/{target.Path}")).Append("</title></head><body><h1>Index of ")
            .Append(WebUtility.HtmlEncode($"{repoKey}/{target.Path}")).Append("</h1><pre>");
        foreach (var child in await reads.ReadableChildrenAsync(target, cancellationToken))
        {
            var name = child.Name + (child.IsFolder ? "/" : "");
            html.Append("<a href=\"").Append(Uri.EscapeDataString(child.Name)).Append(child.IsFolder ? "/" : "").Append("\">")
                .Append(WebUtility.HtmlEncode(name)).Append("</a>\n");
        }

        return Results.Content(html.Append("</pre></body></html>").ToString(), "text/html; charset=utf-8");
    }
}

internal sealed record FileInfoBody(
    string Uri,
    string DownloadUri,
    string Repo,
    string Path,
    string Created,
    string CreatedBy,
    string LastModified,
    string ModifiedBy,
    string LastUpdated,
    string Size,
    string MimeType,
    IReadOnlyDictionary<string, string> Checksums,
    IReadOnlyDictionary<string, string> OriginalChecksums);

internal sealed record FolderInfoBody(
    string Uri,
    string Repo,
    string Path,
    string Created,
    string CreatedBy,
    string LastModified,
    string ModifiedBy,
    string LastUpdated,
    IReadOnlyList<ChildBody> Children);

internal sealed record ChildBody(
    string Uri,
    bool Folder);

internal sealed record PropertiesBody(
    string Uri,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Properties);

internal sealed record ListEntryBody(
    string Uri,
    string Size,
    string LastModified,
    bool Folder,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Sha1,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Sha2);

internal sealed record ListBody(
    string Uri,
    string Created,
    IReadOnlyList<ListEntryBody> Files);
