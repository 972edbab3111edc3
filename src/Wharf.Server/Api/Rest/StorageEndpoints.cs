using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Serialization;
using Wharf.Core.Naming;
using Wharf.Core.Repositories;
using Wharf.Core.Security;
using Wharf.Core.Storage;
using Wharf.Core.Tree;
using Wharf.Server.Auth;
using Wharf.Server.Http;

namespace Wharf.Server.Api.Rest;

/// <summary>The read side of the storage API (rest-api §4.1–§4.3, §4.5) and repository downloads.</summary>
internal static class StorageEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var prefix in new[] { "/artifactory/api", "/api" })
        {
            app.MapGet(prefix + "/storage/{repoKey}/{**path}", StorageAsync);
            app.MapGet(prefix + "/system/ping", () => Results.Text("OK", "text/plain"));
        }

        app.MapMethods("/artifactory/{repoKey}/{**path}", ["GET", "HEAD"], DownloadAsync);
    }

    private static async Task<IResult> StorageAsync(HttpContext context, string repoKey, string? path, StorageAccess access, PublicUrls urls, ContentStore content, CancellationToken cancellationToken)
    {
        var (target, failure) = await access.ResolveAsync(context, repoKey, path, cancellationToken);
        if (target is null)
        {
            return failure!;
        }

        var query = context.Request.Query;
        var baseUrl = urls.BaseUrl(context.Request);
        var uri = $"{baseUrl}/api/storage/{target.Repository.Key}{Slashed(target.Path)}";
        if (query.ContainsKey("permissions"))
        {
            // Admins, or users holding m at the path (rest-api §4.4).
            if (!await access.Policy.AllowsAsync(target.Caller, target.Repository, target.Path, target.Item?.IsFolder ?? true, AccessActions.Manage, cancellationToken))
            {
                return target.Caller.IsAnonymous ? RestErrors.Unauthorized() : RestErrors.Write(403, "Managing permissions of this path is not permitted.");
            }

            var (users, groups) = await access.Policy.PrincipalsAtAsync(target.Repository, target.Path, cancellationToken);
            return Results.Json(
                new { uri, principals = new { users = users.ToDictionary(u => u.Key, u => ActionLetters.Format(u.Value)), groups = groups.ToDictionary(g => g.Key, g => ActionLetters.Format(g.Value)) } },
                contentType: "application/vnd.org.jfrog.artifactory.storage.ItemPermissions+json");
        }

        if (query.ContainsKey("properties"))
        {
            // A folder reached only by browsing lists its children; what it carries is read like a file.
            if (target.Item is { IsFolder: true } && !await access.Policy.AllowsAsync(target.Caller, target.Repository, target.Path, isFolder: false, AccessActions.Read, cancellationToken))
            {
                return target.Caller.IsAnonymous ? RestErrors.Unauthorized() : RestErrors.NotFound();
            }

            return await PropertiesAsync(target, query["properties"].ToString(), uri, access.Store, cancellationToken);
        }

        if (query.ContainsKey("list"))
        {
            return target.Caller.IsAnonymous
                ? RestErrors.Unauthorized()
                : await ListAsync(context, target, uri, access, cancellationToken);
        }

        if (target.Item is { IsFolder: false } file)
        {
            var checksums = await access.ChecksumsAsync(file.Sha256!, content, cancellationToken);
            return Results.Json(new FileInfoBody(
                uri, $"{baseUrl}/{target.Repository.Key}/{file.Path}", target.Repository.Key, "/" + file.Path,
                WireTime.Iso(file.Created), file.CreatedBy, WireTime.Iso(file.Modified), file.ModifiedBy, WireTime.Iso(file.Modified),
                file.Size.ToString(CultureInfo.InvariantCulture), file.MimeType ?? "application/octet-stream",
                checksums, new Dictionary<string, string> { ["sha256"] = file.Sha256! }),
                contentType: "application/vnd.org.jfrog.artifactory.storage.FileInfo+json");
        }

        var children = await access.ReadableChildrenAsync(target, cancellationToken);
        var folder = target.Item;
        var created = folder?.Created ?? DateTimeOffset.UnixEpoch;
        return Results.Json(new FolderInfoBody(
            uri, target.Repository.Key, "/" + target.Path,
            WireTime.Iso(created), folder?.CreatedBy ?? "system", WireTime.Iso(folder?.Modified ?? created), folder?.ModifiedBy ?? "system", WireTime.Iso(folder?.Modified ?? created),
            [.. children.Select(c => new ChildBody("/" + c.Name, c.IsFolder))]),
            contentType: "application/vnd.org.jfrog.artifactory.storage.FolderInfo+json");
    }

    private static async Task<IResult> PropertiesAsync(StorageTarget target, string requested, string uri, IMetadataStore store, CancellationToken cancellationToken)
    {
        if (target.Item is null)
        {
            return RestErrors.NotFound("No properties could be found.");
        }

        IReadOnlyDictionary<string, IReadOnlyList<string>> properties;
        await using (var session = await store.OpenAsync(cancellationToken))
        {
            properties = await session.Tree.GetPropertiesAsync(target.Repository.Key, target.Path, cancellationToken);
        }

        var wanted = requested.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var selected = properties.Where(p => wanted.Length == 0 || wanted.Contains(p.Key, StringComparer.Ordinal))
            .ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        return selected.Count == 0
            ? RestErrors.NotFound("No properties could be found.")
            : Results.Json(new PropertiesBody(uri, selected), contentType: "application/vnd.org.jfrog.artifactory.storage.ItemProperties+json");
    }

    private static async Task<IResult> ListAsync(HttpContext context, StorageTarget target, string uri, StorageAccess access, CancellationToken cancellationToken)
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
        var items = await access.ReadableDescendantsAsync(target, deep ? maxDepth : 1, cancellationToken);
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
                sha1 = (await access.ChecksumsAsync(item.Sha256!, null, cancellationToken)).GetValueOrDefault("sha1");
            }

            files.Add(new ListEntryBody(
                "/" + item.Path[prefixLength..], item.IsFolder ? "-1" : item.Size.ToString(CultureInfo.InvariantCulture),
                WireTime.Iso(item.Modified), item.IsFolder, sha1, item.IsFolder ? null : item.Sha256));
        }

        return Results.Json(new ListBody(uri, WireTime.Iso(access.Now), files), contentType: "application/vnd.org.jfrog.artifactory.storage.FileList+json");
    }

    /// <summary>GET/HEAD <c>/artifactory/{repoKey}/{path}</c>: file bytes (Range supported) or a folder listing.</summary>
    private static async Task<IResult> DownloadAsync(HttpContext context, string repoKey, string? path, StorageAccess access, ContentStore content, CancellationToken cancellationToken)
    {
        var (target, failure) = await access.ResolveAsync(context, repoKey, path, cancellationToken);
        if (target is null)
        {
            return failure!;
        }

        if (target.Item is { IsFolder: false } file)
        {
            var checksums = await access.ChecksumsAsync(file.Sha256!, content, cancellationToken);
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
        foreach (var child in await access.ReadableChildrenAsync(target, cancellationToken))
        {
            var name = child.Name + (child.IsFolder ? "/" : "");
            html.Append("<a href=\"").Append(Uri.EscapeDataString(child.Name)).Append(child.IsFolder ? "/" : "").Append("\">")
                .Append(WebUtility.HtmlEncode(name)).Append("</a>\n");
        }

        return Results.Content(html.Append("</pre></body></html>").ToString(), "text/html; charset=utf-8");
    }

    private static string Slashed(string path) => path.Length == 0 ? "" : "/" + path;
}

/// <summary>A resolved, readable storage path.</summary>
internal sealed record StorageTarget(RepositoryConfig Repository, string Path, TreeItem? Item, Principal Caller);

/// <summary>Resolution, authorization and read-filtering for storage routes.</summary>
internal sealed class StorageAccess(IMetadataStore store, RestAuthenticator authenticator, AccessPolicy policy, TimeProvider time)
{
    public IMetadataStore Store => store;

    public AccessPolicy Policy => policy;

    public DateTimeOffset Now => time.GetUtcNow();

    public async Task<RepositoryConfig?> FindRepositoryAsync(string key, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        return await session.Repositories.GetAsync(key, cancellationToken);
    }

    public async Task<(StorageTarget? Target, IResult? Failure)> ResolveAsync(HttpContext context, string repoKey, string? rawPath, CancellationToken cancellationToken)
    {
        var caller = await authenticator.AuthenticateAsync(context.Request, cancellationToken);
        if (caller is null)
        {
            return (null, RestErrors.Unauthorized());
        }

        if (!ItemPath.TryNormalize(rawPath, out var path))
        {
            return (null, RestErrors.BadRequest("Invalid path."));
        }

        await using var session = await store.OpenAsync(cancellationToken);
        var repository = await session.Repositories.GetAsync(repoKey, cancellationToken);
        if (repository is null)
        {
            return (null, caller.IsAnonymous ? RestErrors.Unauthorized() : RestErrors.NotFound($"Repository '{repoKey}' not found."));
        }

        var item = path.Length == 0 ? null : await session.Tree.GetAsync(repository.Key, path, cancellationToken);
        if (!await policy.AllowsAsync(caller, repository, path, isFolder: item?.IsFolder ?? true, AccessActions.Read, cancellationToken))
        {
            // A caller without read learns nothing, not even that the path exists; a blacked-out
            // repository refuses everyone openly (rest-api §2.2).
            return (null, caller.IsAnonymous ? RestErrors.Unauthorized()
                : repository.BlackedOut ? RestErrors.Write(403, $"Repository '{repository.Key}' is blacked out.")
                : RestErrors.NotFound());
        }

        return path.Length > 0 && item is null
            ? (null, RestErrors.NotFound())
            : (new StorageTarget(repository, path, item, caller), null);
    }

    public async Task<IReadOnlyList<TreeItem>> ReadableChildrenAsync(StorageTarget target, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        var readable = new List<TreeItem>();
        foreach (var child in await session.Tree.ListChildrenAsync(target.Repository.Key, target.Path, cancellationToken))
        {
            if (await policy.AllowsAsync(target.Caller, target.Repository, child.Path, child.IsFolder, AccessActions.Read, cancellationToken))
            {
                readable.Add(child);
            }
        }

        return readable;
    }

    public async Task<IReadOnlyList<TreeItem>> ReadableDescendantsAsync(StorageTarget target, int maxDepth, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        var baseDepth = target.Path.Length == 0 ? 0 : target.Path.Count(c => c == '/') + 1;
        var readable = new List<TreeItem>();
        foreach (var item in await session.Tree.ListDescendantsAsync(target.Repository.Key, target.Path, cancellationToken))
        {
            var depth = item.Path.Count(c => c == '/') + 1 - baseDepth;
            if (depth <= maxDepth && await policy.AllowsAsync(target.Caller, target.Repository, item.Path, item.IsFolder, AccessActions.Read, cancellationToken))
            {
                readable.Add(item);
            }
        }

        return readable;
    }

    /// <summary>
    /// SHA-256, SHA-1 and MD5 of a blob. SHA-1 and MD5 are computed on first request and kept, so
    /// pushes hash once; with <paramref name="content"/> null, missing ones are left out.
    /// </summary>
    public async Task<Dictionary<string, string>> ChecksumsAsync(string sha256, ContentStore? content, CancellationToken cancellationToken)
    {
        BlobChecksums? known;
        await using (var session = await store.OpenAsync(cancellationToken))
        {
            known = await session.Tree.GetChecksumsAsync(sha256, cancellationToken);
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var sha1 = known?.Sha1;
        var md5 = known?.Md5;
        if ((sha1 is null || md5 is null) && content is not null && await content.ComputeLegacyChecksumsAsync(sha256, cancellationToken) is { } computed)
        {
            (sha1, md5) = computed;
            await using var tx = await store.BeginAsync(cancellationToken);
            await tx.Tree.SetLegacyChecksumsAsync(sha256, sha1, md5, cancellationToken);
            await tx.CommitAsync(cancellationToken);
        }

        if (sha1 is not null)
        {
            result["sha1"] = sha1;
        }

        if (md5 is not null)
        {
            result["md5"] = md5;
        }

        result["sha256"] = sha256;
        return result;
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
