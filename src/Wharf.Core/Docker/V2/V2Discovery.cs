using Wharf.Core.Naming;
using Wharf.Core.Security;
using Wharf.Core.Storage;
using Wharf.Core.Tree;

namespace Wharf.Core.Docker.V2;

/// <summary>Discovery (OCI "content discovery"): tags lists, the catalog and the referrers API, answered by the registry index.</summary>
internal sealed class V2Discovery(IMetadataStore store, ContentStore content)
{
    /// <summary>A referrer's manifest bytes (for its annotations); null when they are gone.</summary>
    public Task<byte[]?> ReadManifestAsync(string sha256Hex, CancellationToken cancellationToken) => content.ReadAllBytesAsync(sha256Hex, cancellationToken);


    /// <summary>
    /// The tags of an image whose manifest the caller may read, in lexical order; null when the
    /// image does not exist (an image without tags the caller may read lists none, and so does
    /// one whose last tag is gone while it still holds blobs or digest pushes: the spec answers
    /// its tags list with 200, not NAME_UNKNOWN).
    /// </summary>
    public async ValueTask<IReadOnlyList<string>?> ListTagsAsync(string repo, string image, ItemAccess access, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        var tags = await session.V2Index.TagsAsync(repo, image, cancellationToken);
        if (tags.Count == 0)
        {
            return await session.V2Index.ImageExistsAsync(repo, image, cancellationToken) ? [] : null;
        }

        var readable = new List<string>(tags.Count);
        foreach (var tag in tags.DistinctBy(t => t.Folder, StringComparer.Ordinal))
        {
            if (await access(tag.Path, AccessActions.Read))
            {
                readable.Add(tag.Folder);
            }
        }

        return readable;
    }

    /// <summary>
    /// Every image of the repository with at least one tag, in lexical order, that the caller may
    /// read at that depth: the image folder itself (a pattern covering it, not only a path below
    /// it), or else one of its manifests.
    /// </summary>
    public async Task<IReadOnlyList<string>> CatalogAsync(string repo, ItemAccess access, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        var readable = new List<string>();
        foreach (var image in await session.V2Index.TaggedImagesAsync(repo, cancellationToken))
        {
            if (await access(image, AccessActions.Read) || await AnyManifestReadableAsync(session, repo, image, access, cancellationToken))
            {
                readable.Add(image);
            }
        }

        return readable;
    }

    private static async Task<bool> AnyManifestReadableAsync(IMetadataSession session, string repo, string image, ItemAccess access, CancellationToken cancellationToken)
    {
        foreach (var manifest in await session.V2Index.ManifestsOfImageAsync(repo, image, cancellationToken))
        {
            if (await access(manifest.Path, AccessActions.Read))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Manifests of the image whose subject is <paramref name="subject"/> (OCI referrers API), where the caller may read them.</summary>
    public async Task<IReadOnlyList<Descriptor>> ReferrersAsync(string repo, string image, Digest subject, string? artifactType, ItemAccess access, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        var result = new Dictionary<string, Descriptor>(StringComparer.Ordinal);
        foreach (var row in await session.V2Index.ReferrersAsync(repo, image, subject.ToString(), cancellationToken))
        {
            if ((artifactType is null || row.ArtifactType == artifactType) && await access(row.Path, AccessActions.Read))
            {
                result.TryAdd(row.Sha256, new Descriptor(row.MediaType, Digest.OfSha256(row.Sha256), row.Size, row.ArtifactType));
            }
        }

        return [.. result.Values];
    }
}
