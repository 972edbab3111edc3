using Wharf.Core.Metadata;
using Wharf.Core.Security;
using Wharf.Core.Storage;
using Wharf.Core.Tree;

namespace Wharf.Server.Api.Rest;

/// <summary>What the storage API reads about a target the REST gate resolved: its readable children and descendants, checksums and properties.</summary>
internal sealed class StorageReads(IMetadataStore store, AccessPolicy policy)
{
    /// <summary>The target folder's children the caller may read (as items, or as folders to browse).</summary>
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

    /// <summary>The target folder's descendants down to <paramref name="maxDepth"/> levels that the caller may read.</summary>
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

    /// <summary>Every property of the target item.</summary>
    public async Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> PropertiesAsync(StorageTarget target, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        return await session.Tree.GetPropertiesAsync(target.Repository.Key, target.Path, cancellationToken);
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
