using System.Security.Cryptography;
using System.Text.Json;
using Wharf.Core.Json;
using Wharf.Core.Lifecycle;
using Wharf.Core.Naming;
using Wharf.Core.Security;
using Wharf.Core.Storage;
using Wharf.Core.Tree;

namespace Wharf.Core.Docker.V1;

/// <summary>
/// The Docker Registry V1 semantics (docker-v1-protocol §6–§9) over a repository tree. Uploading
/// images live in their own records; a verified checksum publishes the image's
/// <c>.images/&lt;id&gt;/</c> folder in one transaction, so readers see all of it or nothing.
/// </summary>
internal sealed partial class V1Registry(IMetadataStore store, ContentStore content, TimeProvider time, CleanupSettings cleanup)
{
    /// <summary>Largest image JSON accepted (documented in the README); real ones are a few KiB.</summary>
    public const int MaxImageJsonBytes = 1 << 20;

    private const string JsonMime = "application/json";

    private const string LatestTag = "latest";

    private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };

    // ---------------------------------------------------------------- index role

    /// <summary>Push start: creates the repository if needed and merges the announced ids into its index; PathBlocked when an item is in the index's way.</summary>
    public async Task<V1Outcome> AnnounceAsync(string repo, V1RepositoryName name, IReadOnlyList<string> imageIds, string user, CancellationToken cancellationToken)
    {
        // Optimistic: merge and write the new index blob outside the write lock (blobs are fsync'd),
        // then commit only if nobody changed the index meanwhile; otherwise merge again.
        while (true)
        {
            TreeItem? before;
            IReadOnlyList<string> existing;
            await using (var session = await store.OpenAsync(cancellationToken))
            {
                before = await session.Tree.GetAsync(repo, V1Layout.Index(name), cancellationToken);
                existing = await ReadIndexAsync(session, repo, name, cancellationToken) ?? [];
            }

            var known = new HashSet<string>(existing, StringComparer.Ordinal);
            var merged = existing.Concat(imageIds.Where(known.Add)).ToList();
            if (before is not null && merged.Count == existing.Count)
            {
                await KeepIndexRecentAsync(repo, name, before, user, cancellationToken);
                return V1Outcome.Ok;
            }

            var blob = await WriteIndexBlobAsync(merged, cancellationToken);
            await using var tx = await store.BeginAsync(cancellationToken);
            if ((await tx.Tree.GetAsync(repo, V1Layout.Index(name), cancellationToken))?.Sha256 != before?.Sha256)
            {
                continue;
            }

            if (!await PutIndexAsync(tx, repo, name, blob, user, cancellationToken))
            {
                return V1Outcome.PathBlocked;
            }

            await tx.CommitAsync(cancellationToken);
            return V1Outcome.Ok;
        }
    }

    /// <summary>
    /// A push start marks the index as recently used, so the images it lists (which the push may
    /// skip uploading because they exist) are not collected before its tags arrive. Touching once
    /// per quarter grace period keeps this off most pushes' write path.
    /// </summary>
    private async Task KeepIndexRecentAsync(string repo, V1RepositoryName name, TreeItem index, string user, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (index.Modified > now - (cleanup.GracePeriod / 4))
        {
            return;
        }

        await using var tx = await store.BeginAsync(cancellationToken);
        await tx.Tree.TouchAsync(repo, V1Layout.Index(name), user, now, cancellationToken);
        await tx.CommitAsync(cancellationToken);
    }

    /// <summary>The repository's index image list; null when the repository is unknown.</summary>
    public async Task<IReadOnlyList<string>?> GetIndexAsync(string repo, V1RepositoryName name, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        return await ReadIndexAsync(session, repo, name, cancellationToken);
    }

    /// <summary>
    /// Whether a V1 token for <paramref name="name"/> covers <paramref name="imageId"/> (§5.3): the id
    /// is in the index list or, for read tokens, in the ancestry of one of the repository's tags.
    /// </summary>
    public async Task<bool> RepositoryReachesImageAsync(string repo, V1RepositoryName name, string imageId, bool includeTagAncestry, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        var index = await ReadIndexAsync(session, repo, name, cancellationToken);
        if (index is null)
        {
            return false;
        }

        if (index.Contains(imageId, StringComparer.Ordinal))
        {
            return true;
        }

        if (!includeTagAncestry)
        {
            return false;
        }

        foreach (var (_, tagged) in await ReadTagsAsync(session, repo, name, cancellationToken))
        {
            var ancestry = await ReadCompleteAncestryAsync(session, repo, tagged, cancellationToken);
            if (ancestry is not null && ancestry.Contains(imageId, StringComparer.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    // ---------------------------------------------------------------- images

    public async Task<V1ImageLookup> GetImageAsync(string repo, string imageId, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        return await LookupAsync(session, repo, imageId, cancellationToken);
    }

    /// <summary>PUT json (§6.4.2 steps 3–7).</summary>
    public async Task<V1Outcome> PutImageJsonAsync(string repo, string imageId, byte[] json, CancellationToken cancellationToken)
    {
        // The JSON is stored and served as sent, and read again by migration: every string in it
        // must be text (StrictJson), not only the fields read here.
        string? parent;
        var (parsed, _) = StrictJson.Parse(json);
        using (var document = parsed)
        {
            if (document is null || document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return V1Outcome.InvalidJson;
            }

            if (!document.RootElement.TryGetProperty("id", out var id))
            {
                return V1Outcome.MissingId;
            }

            if (id.ValueKind != JsonValueKind.String || !id.ValueEquals(imageId))
            {
                return V1Outcome.IdMismatch;
            }

            parent = document.RootElement.TryGetProperty("parent", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
            if (document.RootElement.TryGetProperty("parent", out p) && p.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            {
                return V1Outcome.UnknownParent;
            }
        }

        parent = string.IsNullOrEmpty(parent) ? null : parent;
        if (parent is not null && (!ImageId.IsValid(parent) || parent == imageId))
        {
            return V1Outcome.UnknownParent;
        }

        await using var tx = await store.BeginAsync(cancellationToken);
        if (await IsCompleteAsync(tx, repo, imageId, cancellationToken))
        {
            return V1Outcome.ImageExists;
        }

        IReadOnlyList<string> ancestry = [imageId];
        if (parent is not null)
        {
            var parentAncestry = await ReadCompleteAncestryAsync(tx, repo, parent, cancellationToken)
                ?? (await tx.V1Uploads.GetAsync(repo, parent, cancellationToken))?.Ancestry;
            if (parentAncestry is null)
            {
                return V1Outcome.UnknownParent;
            }

            ancestry = [imageId, .. parentAncestry];
        }

        await tx.V1Uploads.UpsertAsync(new V1Upload(repo, imageId, json, parent, ancestry, null, 0, null, time.GetUtcNow()), cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return V1Outcome.Ok;
    }

    /// <summary>
    /// PUT layer (§6.4.3): streams the body into the content store while computing the payload
    /// checksum SHA-256(json ‖ '\n' ‖ layer). The upload record learns the result only afterwards.
    /// </summary>
    public async Task<V1Outcome> PutLayerAsync(string repo, string imageId, Stream body, CancellationToken cancellationToken)
    {
        var (upload, absent) = await FindUploadAsync(repo, imageId, whenComplete: V1Outcome.ImageExists, cancellationToken);
        if (upload is null)
        {
            return absent;
        }

        using var payload = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        payload.AppendData(upload.Json);
        payload.AppendData("\n"u8);
        var put = await content.PutAsync(body, long.MaxValue, payload, cancellationToken);
        if (put.Blob is not { } layer)
        {
            return V1Outcome.LayerIncomplete;
        }

        var checksum = "sha256:" + Sha256Hex.Format(payload.GetHashAndReset());
        await using var tx = await store.BeginAsync(cancellationToken);
        var current = await tx.V1Uploads.GetAsync(repo, imageId, cancellationToken);
        if (current is null || !current.Json.AsSpan().SequenceEqual(upload.Json))
        {
            // The JSON was re-sent (or the image completed) while this layer streamed; its payload
            // checksum no longer matches anything the client will verify.
            return V1Outcome.UploadChanged;
        }

        await tx.V1Uploads.UpsertAsync(current with { LayerSha256 = layer.Sha256, LayerSize = layer.Size, PayloadChecksum = checksum, Updated = time.GetUtcNow() }, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return V1Outcome.Ok;
    }

    /// <summary>PUT checksum (§6.4.4 steps 3–7): verifies the payload checksum and publishes the image.</summary>
    public async Task<V1Outcome> PutChecksumAsync(string repo, string imageId, string payloadChecksum, string? tarSum, string user, CancellationToken cancellationToken)
    {
        var (upload, absent) = await FindUploadAsync(repo, imageId, whenComplete: V1Outcome.CannotSetChecksum, cancellationToken);
        if (upload is null)
        {
            return absent;
        }

        if (upload.LayerSha256 is null || upload.PayloadChecksum is null
            || !Sha256Hex.TryParsePrefixed(payloadChecksum, out var declared)
            || "sha256:" + declared != upload.PayloadChecksum)
        {
            return V1Outcome.ChecksumMismatch;
        }

        // Content first, outside the write lock: the small files are durable before the rows that name them commit.
        var json = await content.PutBytesAsync(upload.Json, cancellationToken);
        var ancestry = await content.PutBytesAsync(JsonSerializer.SerializeToUtf8Bytes(upload.Ancestry, Compact), cancellationToken);
        var checksums = await content.PutBytesAsync(JsonSerializer.SerializeToUtf8Bytes(new[] { upload.PayloadChecksum }, Compact), cancellationToken);

        await using var tx = await store.BeginAsync(cancellationToken);
        var current = await tx.V1Uploads.GetAsync(repo, imageId, cancellationToken);
        if (current is null || current.LayerSha256 != upload.LayerSha256 || current.PayloadChecksum != upload.PayloadChecksum
            || !current.Json.AsSpan().SequenceEqual(upload.Json))
        {
            // Completed or re-sent by a concurrent push meanwhile; answer as if it had come first.
            return current is null && await IsCompleteAsync(tx, repo, imageId, cancellationToken)
                ? V1Outcome.CannotSetChecksum
                : V1Outcome.ChecksumMismatch;
        }

        var now = time.GetUtcNow();
        var folder = V1Layout.ImageFolder(imageId);
        var imageProperties = new Dictionary<string, IReadOnlyList<string>>
        {
            [DockerProperties.ImageId] = [imageId],
            [DockerProperties.Size] = [upload.LayerSize.ToString(System.Globalization.CultureInfo.InvariantCulture)],
        };
        if (await tx.Tree.FindObstacleAsync(repo, folder, folder: true, cancellationToken) is not null)
        {
            return V1Outcome.PathBlocked;
        }

        await tx.Tree.EnsureFolderAsync(repo, folder, user, now, cancellationToken);
        var folderProperties = new Dictionary<string, IReadOnlyList<string>>(imageProperties);
        if (!string.IsNullOrWhiteSpace(tarSum))
        {
            folderProperties[DockerProperties.TarSum] = [tarSum.Trim()];
        }

        await tx.Tree.SetPropertiesAsync(repo, folder, folderProperties, cancellationToken);
        NewFile[] files =
        [
            new(V1Layout.ImageFile(imageId, V1Layout.JsonFile), json.Sha256, json.Size, JsonMime),
            new(V1Layout.ImageFile(imageId, V1Layout.AncestryFile), ancestry.Sha256, ancestry.Size, JsonMime),
            new(V1Layout.ImageFile(imageId, V1Layout.ChecksumFile), checksums.Sha256, checksums.Size, JsonMime),
            new(V1Layout.ImageFile(imageId, V1Layout.LayerFile), upload.LayerSha256, upload.LayerSize, "application/octet-stream", imageProperties),
        ];
        foreach (var file in files)
        {
            if (!await tx.Tree.TryPutFileAsync(repo, file, user, now, cancellationToken))
            {
                return V1Outcome.PathBlocked;
            }
        }

        await tx.V1Uploads.DeleteAsync(repo, imageId, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return V1Outcome.Ok;
    }

    // ---------------------------------------------------------------- tags

    /// <summary>Tag → image id of the tags whose tag file the caller may read; null when the repository is unknown.</summary>
    public async Task<IReadOnlyList<(string Tag, string ImageId)>?> ListTagsAsync(string repo, V1RepositoryName name, ItemAccess access, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        if (!await IndexExistsAsync(session, repo, name, cancellationToken))
        {
            return null;
        }

        var readable = new List<(string Tag, string ImageId)>();
        foreach (var (tag, imageId) in await ReadTagsAsync(session, repo, name, cancellationToken))
        {
            if (await access(V1Layout.Tag(name, tag), AccessActions.Read))
            {
                readable.Add((tag, imageId));
            }
        }

        return readable;
    }

    /// <summary>
    /// Whether the caller may read the repository at its own depth, as search lists it: its folder
    /// itself (a pattern covering it, not only a path below it), its index or one of its tags.
    /// </summary>
    public async Task<bool> IsReadableAsync(string repo, V1RepositoryName name, ItemAccess access, CancellationToken cancellationToken) =>
        await access(V1Layout.RepositoryFolder(name), AccessActions.Read)
        || await access(V1Layout.Index(name), AccessActions.Read)
        || await ListTagsAsync(repo, name, access, cancellationToken) is { Count: > 0 };

    /// <summary>The image a tag names, when the caller may read the tag file; null otherwise.</summary>
    public async Task<string?> GetTagAsync(string repo, V1RepositoryName name, string tag, ItemAccess access, CancellationToken cancellationToken)
    {
        if (!IsStorableTag(tag) || !await access(V1Layout.Tag(name, tag), AccessActions.Read))
        {
            return null;
        }

        await using var session = await store.OpenAsync(cancellationToken);
        return await ReadTagAsync(session, repo, name, tag, cancellationToken);
    }

    /// <summary>
    /// Sets a tag. The caller must be able to deploy the tag file, to delete it when the tag names
    /// another image now (rest-api §6.3: overwriting is deleting), and to read every file of every
    /// image of the new image's ancestry: a tag must not carry an image out of the caller's reach.
    /// With <paramref name="maxUniqueTags"/> above zero, a new tag beyond the limit removes the
    /// repository's oldest tags (by creation), never <c>latest</c> nor the tag just set; the caller
    /// needs delete on them too. The first tag of a repository needs deploy on its new index.
    /// </summary>
    public async Task<V1Outcome> PutTagAsync(string repo, V1RepositoryName name, string tag, string imageId, string user, ItemAccess access, CancellationToken cancellationToken, int maxUniqueTags = 0)
    {
        if (!IsStorableTag(tag))
        {
            return V1Outcome.InvalidTag;
        }

        if (!ImageId.IsValid(imageId))
        {
            return V1Outcome.ImageNotFound;
        }

        var tagContent = await content.PutBytesAsync(JsonSerializer.SerializeToUtf8Bytes(imageId, Compact), cancellationToken);
        var emptyIndex = await WriteIndexBlobAsync([], cancellationToken);
        await using var tx = await store.BeginAsync(cancellationToken);
        if (!await IsCompleteAsync(tx, repo, imageId, cancellationToken))
        {
            return V1Outcome.ImageNotFound;
        }

        if (!await access(V1Layout.Tag(name, tag), AccessActions.Deploy)
            || (await ReadTagAsync(tx, repo, name, tag, cancellationToken) is { } previous && previous != imageId && !await access(V1Layout.Tag(name, tag), AccessActions.Delete))
            || !await MayReadChainAsync(tx, repo, imageId, access, cancellationToken))
        {
            return V1Outcome.Denied;
        }

        if (!await IndexExistsAsync(tx, repo, name, cancellationToken))
        {
            // The first tag of a repository creates its index, which is written like any file.
            if (!await access(V1Layout.Index(name), AccessActions.Deploy))
            {
                return V1Outcome.Denied;
            }

            if (!await PutIndexAsync(tx, repo, name, emptyIndex, user, cancellationToken))
            {
                return V1Outcome.PathBlocked;
            }
        }

        var properties = new Dictionary<string, IReadOnlyList<string>>
        {
            [DockerProperties.TagName] = [tag],
            [DockerProperties.TagContent] = [imageId],
        };
        if (!await tx.Tree.TryPutFileAsync(repo, new NewFile(V1Layout.Tag(name, tag), tagContent.Sha256, tagContent.Size, JsonMime, properties), user, time.GetUtcNow(), cancellationToken))
        {
            return V1Outcome.PathBlocked;
        }

        if (maxUniqueTags > 0)
        {
            var tagFiles = await tx.Tree.ListGrandChildrenNamedAsync(repo, V1Layout.RepositoryFolder(name), V1Layout.TagFile, cancellationToken);
            var excess = tagFiles.Count - maxUniqueTags;
            foreach (var oldest in tagFiles
                .Where(f => ItemPath.Name(ItemPath.Parent(f.Path)) is var t && t != tag && t != LatestTag)
                .OrderBy(f => f.Created).ThenBy(f => f.Path, StringComparer.Ordinal)
                .Take(Math.Max(excess, 0)))
            {
                // The pusher causes the drop, so it needs delete there as by hand (nothing changes otherwise).
                if (!await access(oldest.Path, AccessActions.Delete))
                {
                    return V1Outcome.Denied;
                }

                await DeleteTagFileAsync(tx, repo, oldest.Path, cancellationToken);
            }
        }

        await tx.CommitAsync(cancellationToken);
        return V1Outcome.Ok;
    }

    /// <summary>Deletes a tag; one the caller may not read is not found, one it may not delete is denied.</summary>
    public async Task<V1Outcome> DeleteTagAsync(string repo, V1RepositoryName name, string tag, ItemAccess access, CancellationToken cancellationToken)
    {
        if (!IsStorableTag(tag) || !await access(V1Layout.Tag(name, tag), AccessActions.Read))
        {
            return V1Outcome.TagNotFound;
        }

        await using var tx = await store.BeginAsync(cancellationToken);
        if (await ReadTagAsync(tx, repo, name, tag, cancellationToken) is null)
        {
            return V1Outcome.TagNotFound;
        }

        if (!await access(V1Layout.Tag(name, tag), AccessActions.Delete))
        {
            return V1Outcome.Denied;
        }

        await DeleteTagFileAsync(tx, repo, V1Layout.Tag(name, tag), cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return V1Outcome.Ok;
    }

    /// <summary>
    /// Deletes every tag and the index of a repository (§6.5.6). Images stay: they may be shared.
    /// A tag folder can also hold a nested repository (tag <c>v2</c> of <c>acme/web</c> and the
    /// repository <c>acme/web/v2</c> share <c>repositories/acme/web/v2/</c>), so only tag files are
    /// deleted and a folder goes only when nothing is left in it. The caller must be able to delete
    /// each of those files, or nothing is deleted.
    /// </summary>
    public async Task<V1Outcome> DeleteRepositoryAsync(string repo, V1RepositoryName name, ItemAccess access, CancellationToken cancellationToken)
    {
        await using var tx = await store.BeginAsync(cancellationToken);
        if (!await IndexExistsAsync(tx, repo, name, cancellationToken))
        {
            return V1Outcome.RepositoryNotFound;
        }

        var folder = V1Layout.RepositoryFolder(name);
        var tagFiles = await tx.Tree.ListGrandChildrenNamedAsync(repo, folder, V1Layout.TagFile, cancellationToken);
        foreach (var path in tagFiles.Select(f => f.Path).Append(V1Layout.Index(name)))
        {
            if (!await access(path, AccessActions.Delete))
            {
                return V1Outcome.Denied;
            }
        }

        foreach (var tagFile in tagFiles)
        {
            await DeleteTagFileAsync(tx, repo, tagFile.Path, cancellationToken);
        }

        await tx.Tree.DeleteAsync(repo, V1Layout.Index(name), cancellationToken);
        await DeleteFolderIfEmptyAsync(tx, repo, folder, cancellationToken);

        await tx.CommitAsync(cancellationToken);
        return V1Outcome.Ok;
    }

    /// <summary>
    /// Deletes the <c>.images/&lt;id&gt;/</c> folders of <paramref name="repo"/> that no tag reaches
    /// through its ancestry (rest-api §3.7), except images completed after
    /// <paramref name="olderThan"/> or listed by an index a push start used since then: a push
    /// uploads its images before it tags them.
    /// </summary>
    public async Task<int> RemoveUnreachableImagesAsync(string repo, DateTimeOffset olderThan, CancellationToken cancellationToken)
    {
        await using var tx = await store.BeginAsync(cancellationToken);
        var kept = (await ReachableImagesAsync(tx, repo, new HashSet<string>(), cancellationToken)).Keys.ToHashSet(StringComparer.Ordinal);

        var recentIndexes = (await tx.Tree.ListNamedAsync(repo, V1Layout.IndexFile, cancellationToken)).Where(i => i.Modified >= olderThan).Select(i => i.Path).ToList();
        kept.UnionWith(await tx.V1Index.ListedByIndexesAsync(repo, recentIndexes, cancellationToken));

        var removed = 0;
        foreach (var folder in await tx.Tree.ListChildrenAsync(repo, V1Layout.ImagesRoot, cancellationToken))
        {
            if (folder.IsFolder && folder.Created < olderThan && !kept.Contains(folder.Name))
            {
                await tx.Tree.DeleteAsync(repo, folder.Path, cancellationToken);
                removed++;
            }
        }

        await tx.CommitAsync(cancellationToken);
        return removed;
    }

    /// <summary>
    /// Every image some tag of <paramref name="repo"/> reaches through its ancestry, with one tag
    /// file that reaches it; tag files in <paramref name="ignoredTagFiles"/> do not count.
    /// </summary>
    public static async Task<Dictionary<string, string>> ReachableImagesAsync(IMetadataSession session, string repo, IReadOnlySet<string> ignoredTagFiles, CancellationToken cancellationToken)
    {
        var reachable = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (id, path) in await session.V1Index.ReachableAsync(repo, cancellationToken))
        {
            if (!ignoredTagFiles.Contains(path))
            {
                reachable.TryAdd(id, ItemPath.Parent(path));
            }
        }

        return reachable;
    }

    // ---------------------------------------------------------------- search

    /// <summary>
    /// Every V1 repository of <paramref name="repo"/> with its description (the
    /// <c>docker.description</c> property of its index), ordered by name (ordinal). Read from the
    /// property index, as property search is.
    /// </summary>
    public async Task<IReadOnlyList<V1SearchHit>> ListRepositoriesAsync(string repo, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        var descriptions = (await session.Tree.ListPropertyValuesAsync(repo, DockerProperties.Description, cancellationToken))
            .GroupBy(d => d.Path, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Value, StringComparer.Ordinal);
        return [.. (await session.Tree.ListPropertyValuesAsync(repo, DockerProperties.RepoName, cancellationToken))
            .Where(p => V1Layout.RepositoryOfIndex(p.Path) is not null)
            .Select(p => new V1SearchHit(V1Layout.RepositoryOfIndex(p.Path)!.FullName, descriptions.GetValueOrDefault(p.Path, "")))
            .DistinctBy(h => h.Name, StringComparer.Ordinal)
            .OrderBy(h => h.Name, StringComparer.Ordinal)];
    }

    /// <summary>Search of §6.6: case-insensitive substring of the full name or the description; paging by n and page.</summary>
    public static V1SearchPage Search(IReadOnlyList<V1SearchHit> readable, string query, int? pageSize, int? page)
    {
        var size = Math.Clamp(pageSize ?? 25, 1, 100);
        var number = Math.Max(page ?? 1, 1);
        var matches = readable.Where(n => n.Name.Contains(query, StringComparison.OrdinalIgnoreCase) || n.Description.Contains(query, StringComparison.OrdinalIgnoreCase)).ToList();
        var results = matches.Skip((int)Math.Min((long)(number - 1) * size, int.MaxValue)).Take(size).ToList();
        return new V1SearchPage(matches.Count, number, size, results);
    }

    // ---------------------------------------------------------------- helpers

    private static async Task DeleteTagFileAsync(IMetadataTransaction tx, string repo, string tagFile, CancellationToken cancellationToken)
    {
        await tx.Tree.DeleteAsync(repo, tagFile, cancellationToken);
        await DeleteFolderIfEmptyAsync(tx, repo, ItemPath.Parent(tagFile), cancellationToken);
    }

    private static async Task DeleteFolderIfEmptyAsync(IMetadataTransaction tx, string repo, string folder, CancellationToken cancellationToken)
    {
        if ((await tx.Tree.ListChildrenAsync(repo, folder, cancellationToken)).Count == 0)
        {
            await tx.Tree.DeleteAsync(repo, folder, cancellationToken);
        }
    }

    /// <summary>
    /// The image's upload record; without one, <paramref name="whenComplete"/> if the image is
    /// complete (§9: COMPLETE is immutable) or ImageNotFound if it was never started.
    /// </summary>
    private async Task<(V1Upload? Upload, V1Outcome Absent)> FindUploadAsync(string repo, string imageId, V1Outcome whenComplete, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        var upload = await session.V1Uploads.GetAsync(repo, imageId, cancellationToken);
        if (upload is not null)
        {
            return (upload, V1Outcome.Ok);
        }

        return (null, await IsCompleteAsync(session, repo, imageId, cancellationToken) ? whenComplete : V1Outcome.ImageNotFound);
    }

    private static bool IsStorableTag(string tag) => TagName.IsValid(tag) && tag != V1Layout.IndexFile;

    /// <inheritdoc cref="MayReadChainAsync(IMetadataSession, string, string, ItemAccess, CancellationToken)"/>
    public async Task<bool> MayReadChainAsync(string repo, string imageId, ItemAccess access, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        return await MayReadChainAsync(session, repo, imageId, access, cancellationToken);
    }

    /// <summary>
    /// Whether the caller may read every file of every image of the ancestry of
    /// <paramref name="imageId"/> (a complete image): what a tag, a promotion or a migration
    /// hands on of it.
    /// </summary>
    internal static async Task<bool> MayReadChainAsync(IMetadataSession session, string repo, string imageId, ItemAccess access, CancellationToken cancellationToken)
    {
        foreach (var id in await ReadCompleteAncestryAsync(session, repo, imageId, cancellationToken) ?? [imageId])
        {
            if (!ImageId.IsValid(id) || !await MayReadImageAsync(session, repo, id, access, cancellationToken))
            {
                return false;
            }
        }

        return true;
    }

    private static async Task<bool> MayReadImageAsync(IMetadataSession session, string repo, string imageId, ItemAccess access, CancellationToken cancellationToken)
    {
        foreach (var file in await session.Tree.ListChildrenAsync(repo, V1Layout.ImageFolder(imageId), cancellationToken))
        {
            if (!await access(file.Path, AccessActions.Read))
            {
                return false;
            }
        }

        return true;
    }

    private static async Task<V1ImageLookup> LookupAsync(IMetadataSession session, string repo, string imageId, CancellationToken cancellationToken)
    {
        if (await session.V1Index.ImageAsync(repo, imageId, cancellationToken) is not { Complete: true } image)
        {
            return await session.V1Uploads.GetAsync(repo, imageId, cancellationToken) is null ? V1ImageLookup.NotFound : V1ImageLookup.Uploading;
        }

        return new V1ImageLookup(V1Outcome.Ok, new V1Image(imageId, image.JsonSha256!, image.JsonSize, image.LayerSha256!, image.LayerSize, image.PayloadChecksum ?? "", image.AncestrySha256!));
    }

    /// <summary>Whether the image is COMPLETE (§9): its folder holds all four files.</summary>
    private static async Task<bool> IsCompleteAsync(IMetadataSession session, string repo, string imageId, CancellationToken cancellationToken) =>
        await session.V1Index.ImageAsync(repo, imageId, cancellationToken) is { Complete: true };

    /// <summary>The image's ancestry (itself first) as its <c>ancestry.json</c> holds it; null before its JSON is stored.</summary>
    private static async Task<IReadOnlyList<string>?> ReadCompleteAncestryAsync(IMetadataSession session, string repo, string imageId, CancellationToken cancellationToken) =>
        (await session.V1Index.ImageAsync(repo, imageId, cancellationToken))?.Ancestry;

    private static async Task<bool> IndexExistsAsync(IMetadataSession session, string repo, V1RepositoryName name, CancellationToken cancellationToken) =>
        await session.Tree.GetAsync(repo, V1Layout.Index(name), cancellationToken) is not null;

    private static async Task<IReadOnlyList<string>?> ReadIndexAsync(IMetadataSession session, string repo, V1RepositoryName name, CancellationToken cancellationToken) =>
        await IndexExistsAsync(session, repo, name, cancellationToken) ? await session.V1Index.IndexAsync(repo, V1Layout.Index(name), cancellationToken) : null;

    private Task<StoredBlob> WriteIndexBlobAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken) =>
        content.PutBytesAsync(JsonSerializer.SerializeToUtf8Bytes(ids.Select(id => new IndexEntry(id)).ToArray(), Compact), cancellationToken);

    /// <summary>Writes a repository's index; false, writing nothing, when an item is in its way.</summary>
    private async Task<bool> PutIndexAsync(IMetadataTransaction tx, string repo, V1RepositoryName name, StoredBlob blob, string user, CancellationToken cancellationToken)
    {
        var properties = new Dictionary<string, IReadOnlyList<string>> { [DockerProperties.RepoName] = [name.FullName] };
        return await tx.Tree.TryPutFileAsync(repo, new NewFile(V1Layout.Index(name), blob.Sha256, blob.Size, JsonMime, properties), user, time.GetUtcNow(), cancellationToken);
    }

    private static async Task<IReadOnlyList<(string Tag, string ImageId)>> ReadTagsAsync(IMetadataSession session, string repo, V1RepositoryName name, CancellationToken cancellationToken) =>
        [.. (await session.V1Index.TagsAsync(repo, name.FullName, cancellationToken)).Select(t => (t.Tag, t.ImageId))];

    private static async Task<string?> ReadTagAsync(IMetadataSession session, string repo, V1RepositoryName name, string tag, CancellationToken cancellationToken)
    {
        var path = V1Layout.Tag(name, tag);
        if (await session.Tree.GetAsync(repo, path, cancellationToken) is null)
        {
            return null;
        }

        var properties = await session.Tree.GetPropertiesAsync(repo, path, cancellationToken);
        return properties.TryGetValue(DockerProperties.TagContent, out var ids) && ids.Count > 0 ? ids[0] : null;
    }

    private async Task<T?> ReadJsonAsync<T>(string sha256, CancellationToken cancellationToken)
    {
        var bytes = await content.ReadAllBytesAsync(sha256, cancellationToken)
            ?? throw new InvalidOperationException($"Blob {sha256} is referenced but missing.");
        return JsonSerializer.Deserialize<T>(bytes);
    }

    private sealed record IndexEntry([property: System.Text.Json.Serialization.JsonPropertyName("id")] string Id);
}
