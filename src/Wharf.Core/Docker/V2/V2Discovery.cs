using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Security;
using Wharf.Core.Storage;

namespace Wharf.Core.Docker.V2;

/// <summary>Discovery (OCI "content discovery"): tags lists, the catalog and the referrers API, answered by the registry index.</summary>
internal sealed class V2Discovery(IMetadataStore store, ContentStore content, TimeProvider time)
{
    /// <summary>Each image's tags (distinct, lexical; null: no such image), until the next write (<see cref="RegistryCaches"/>).</summary>
    private readonly GenerationCache<(string Repo, string Image), IReadOnlyList<V2ManifestRow>?> _tags = RegistryCaches.Create<(string, string), IReadOnlyList<V2ManifestRow>?>(store, time);

    /// <summary>Each repository's tagged images, until the next write.</summary>
    private readonly GenerationCache<string, IReadOnlyList<string>> _catalogs = RegistryCaches.Create<string, IReadOnlyList<string>>(store, time);

    /// <summary>Each subject's referrers, until the next write.</summary>
    private readonly GenerationCache<(string Repo, string Image, string Subject), IReadOnlyList<V2ManifestRow>> _referrers =
        RegistryCaches.Create<(string, string, string), IReadOnlyList<V2ManifestRow>>(store, time);

    /// <summary>Annotations per manifest content: content-addressed, so never stale (bounded by starting over).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, IReadOnlyDictionary<string, string>?> _annotations = new(StringComparer.Ordinal);

    /// <summary>
    /// A referrer's annotations (the referrers API lists them), read from its manifest once; null
    /// when it has none, its bytes are gone or they do not parse (a manifest stored before
    /// manifests were checked must not fail the list).
    /// </summary>
    public async ValueTask<IReadOnlyDictionary<string, string>?> AnnotationsAsync(string sha256Hex, CancellationToken cancellationToken)
    {
        if (_annotations.TryGetValue(sha256Hex, out var known))
        {
            return known;
        }

        var bytes = await content.ReadAllBytesAsync(sha256Hex, cancellationToken);
        var annotations = bytes is null ? null : Manifests.Annotations(bytes);
        if (_annotations.Count >= 100_000)
        {
            _annotations.Clear();
        }

        _annotations[sha256Hex] = annotations;
        return annotations;
    }

    /// <summary>
    /// The tags of an image whose manifest the caller may read, in lexical order; null when the
    /// image does not exist (an image without tags the caller may read lists none, and so does
    /// one whose last tag is gone while it still holds blobs or digest pushes: the spec answers
    /// its tags list with 200, not NAME_UNKNOWN).
    /// </summary>
    public async ValueTask<IReadOnlyList<string>?> ListTagsAsync(string repo, string image, ItemAccess access, CancellationToken cancellationToken)
    {
        var tags = await _tags.GetOrReadAsync((repo, image), async (key, ct) =>
        {
            await using var session = await store.OpenAsync(ct);
            var rows = await session.V2Index.TagsAsync(repo, key.Image, ct);
            return rows.Count > 0 || await session.V2Index.ImageExistsAsync(repo, key.Image, ct)
                ? [.. rows.DistinctBy(t => t.Folder, StringComparer.Ordinal)]
                : null;
        }, cancellationToken);
        if (tags is null)
        {
            return null;
        }

        var readable = new List<string>(tags.Count);
        foreach (var tag in tags)
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
        var images = await _catalogs.GetOrReadAsync(repo, async (_, ct) =>
        {
            await using var session = await store.OpenAsync(ct);
            return await session.V2Index.TaggedImagesAsync(repo, ct);
        }, cancellationToken);
        var readable = new List<string>(images.Count);
        IMetadataSession? opened = null;
        try
        {
            foreach (var image in images)
            {
                if (await access(image, AccessActions.Read)
                    || await AnyManifestReadableAsync(opened ??= await store.OpenAsync(cancellationToken), repo, image, access, cancellationToken))
                {
                    readable.Add(image);
                }
            }
        }
        finally
        {
            if (opened is not null)
            {
                await opened.DisposeAsync();
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
        var rows = await _referrers.GetOrReadAsync((repo, image, subject.ToString()), async (key, ct) =>
        {
            await using var session = await store.OpenAsync(ct);
            return await session.V2Index.ReferrersAsync(repo, key.Image, key.Subject, ct);
        }, cancellationToken);
        var result = new Dictionary<string, Descriptor>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            if ((artifactType is null || row.ArtifactType == artifactType) && await access(row.Path, AccessActions.Read))
            {
                result.TryAdd(row.Sha256, new Descriptor(row.MediaType, Digest.OfSha256(row.Sha256), row.Size, row.ArtifactType));
            }
        }

        return [.. result.Values];
    }
}
