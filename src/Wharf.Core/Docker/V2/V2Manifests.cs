using System.Security.Cryptography;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Security;
using Wharf.Core.Storage;
using Wharf.Core.Tree;

namespace Wharf.Core.Docker.V2;

/// <summary>
/// Manifests of V2 images (OCI "pulling manifests", "pushing manifests", "deleting manifests"):
/// stored under a tag or a digest folder with the blobs they name, found by the registry index,
/// with the repository's tag policies applied on the pusher's behalf.
/// </summary>
internal sealed partial class V2Manifests(IMetadataStore store, ContentStore content, TimeProvider time)
{
    /// <summary>Largest manifest whose bytes stay in memory; they are content-addressed, so never stale.</summary>
    private const int CachedManifestBytes = 64 * 1024;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte[]> _manifestBytes = new(StringComparer.Ordinal);

    /// <summary>The index's answer per reference (see <see cref="GetManifestAsync"/>); see <see cref="RegistryCaches"/> for how long it holds.</summary>
    private readonly GenerationCache<(string Repo, string Image, string Reference), IReadOnlyList<V2ManifestRow>> _candidates = RegistryCaches.Create<(string, string, string), IReadOnlyList<V2ManifestRow>>(store, time);
    private long _manifestBytesTotal;

    /// <summary>Most manifest bytes kept in memory at once.</summary>
    private const long ManifestBytesBudget = 8 << 20;

    private const string JsonMime = "application/json";
    private const string OctetStream = "application/octet-stream";


    /// <summary>
    /// Stores a manifest under a tag or its digest (OCI "pushing manifests"): every blob it names
    /// must be in the image already, and every manifest an index names must be in the repository,
    /// each where the caller may read it. The caller must be able to deploy every file the push
    /// writes, and to delete the files of a tag it replaces with other content (rest-api §3.2).
    /// </summary>
    public async Task<(V2Outcome Outcome, Digest? Digest, Digest? Subject, string Message)> PutManifestAsync(
        RepositoryConfig repository, string image, string reference, byte[] bytes, string? contentType, string user, ItemAccess access, CancellationToken cancellationToken)
    {
        var (manifest, problem, message) = Manifests.Parse(bytes, contentType, repository.BlockPushingSchema1);
        if (manifest is null)
        {
            return (problem == ManifestProblem.Unsupported ? V2Outcome.ManifestUnsupported : V2Outcome.ManifestInvalid, null, null, message);
        }

        var hex = Sha256Hex.Of(bytes);
        var byDigest = Digest.TryParse(reference, out var referenced);

        // Pushed by a sha512 digest, the manifest is known by that digest (its folder, header and
        // properties); otherwise by its SHA-256.
        var digest = referenced?.Algorithm == Digest.Sha512 ? new Digest(Digest.Sha512, Convert.ToHexStringLower(SHA512.HashData(bytes))) : Digest.OfSha256(hex);
        if (byDigest && referenced != digest)
        {
            return (V2Outcome.DigestInvalid, null, null, $"the manifest's digest is {digest}, not {reference}");
        }

        var repo = repository.Key;
        var folder = byDigest ? V2Layout.DigestFolder(image, digest) : V2Layout.TagFolder(image, reference);
        var file = manifest.IsIndex ? V2Layout.ListManifestFile : V2Layout.ManifestFile;
        foreach (var written in manifest.Blobs.Select(b => $"{folder}/{V2Layout.BlobName(b.Digest)}").Prepend($"{folder}/{file}"))
        {
            if (!await access(written, AccessActions.Deploy))
            {
                return (V2Outcome.Denied, null, null, $"deploying {written} is not permitted");
            }
        }

        var stored = await content.PutBytesAsync(bytes, cancellationToken);
        var now = time.GetUtcNow();
        await using var tx = await store.BeginAsync(cancellationToken);
        var (references, refused, why) = await CheckReferencesAsync(tx, repo, image, manifest, access, cancellationToken);
        if (references is not { Blobs: var blobs, Labels: var labels })
        {
            return (refused, null, null, why);
        }

        // The same manifest again: the tag or digest folder keeps its names, properties and
        // creation time (nothing is replaced, so nothing needs delete or annotate). Pushed by
        // digest onto a revision dockerTagRetention kept, the revision becomes the client's own:
        // it is marked as pushed by digest, so that pruning the revision never removes it.
        if (await ManifestFileInAsync(tx, repo, folder, cancellationToken) is { } same && same.Sha256 == hex)
        {
            if (byDigest && (await tx.Tree.GetPropertiesAsync(repo, same.Path, cancellationToken)).GetValueOrDefault(V2Properties.Manifest) is var named
                && !(named is [var name] && name == digest.ToString()))
            {
                await tx.Tree.SetPropertiesAsync(repo, same.Path, new Dictionary<string, IReadOnlyList<string>> { [V2Properties.Manifest] = [digest.ToString()] }, cancellationToken);
                await tx.CommitAsync(cancellationToken);
            }

            return (V2Outcome.Created, digest, manifest.Subject?.Digest, "");
        }

        // Replacing a tag with other content needs delete permission (rest-api §3.2), decided in
        // this transaction so that a tag pushed meanwhile by someone else is not overwritten.
        var previous = byDigest ? null : await FindManifestAsync(tx, repo, image, reference, null, cancellationToken);

        if (previous is not null)
        {
            if (!await MayOnFilesInAsync(tx, repo, folder, access, AccessActions.Delete, cancellationToken))
            {
                return (V2Outcome.Denied, null, null, "replacing an existing tag needs delete permission");
            }

            var retained = await RetainRevisionAsync(tx, repository, image, reference, previous, user, now, access, cancellationToken);
            if (retained != V2Outcome.Ok)
            {
                return (retained, null, null, retained == V2Outcome.PathBlocked
                    ? "an item of the tree is in the way of the revision dockerTagRetention keeps"
                    : $"dockerTagRetention keeps the replaced manifest in {image}/{Digest.OfSha256(previous.Sha256Hex)}, which needs deploy, annotate and delete permission there");
            }
        }

        // A tag folder holds one manifest: a re-push replaces what was there (rest-api §3.7: the
        // blobs stay in the store until nothing names them).
        await ClearManifestFolderAsync(tx, repo, folder, cancellationToken);

        var properties = ManifestProperties(byDigest ? digest.ToString() : reference, digest, stored.Sha256, manifest.MediaType, image, manifest.Subject?.Digest, manifest.ArtifactType, labels);
        // An item in the way (put there by a copy) refuses the push whole: returning uncommitted undoes the above.
        if (!await tx.Tree.TryPutFileAsync(repo, new NewFile($"{folder}/{file}", stored.Sha256, stored.Size, manifest.MediaType, properties), user, now, cancellationToken))
        {
            return (V2Outcome.PathBlocked, null, null, $"an item of the tree is in the way of {folder}/{file}");
        }

        if (digest.Algorithm == Digest.Sha512)
        {
            await tx.Blobs.RecordSha512Async(stored.Sha256, digest.Hex, cancellationToken);
        }

        foreach (var (blobDigest, blob) in blobs)
        {
            if (!await tx.Tree.TryPutFileAsync(repo, new NewFile($"{folder}/{V2Layout.BlobName(blobDigest)}", blob.Sha256!, blob.Size, blob.MimeType ?? OctetStream), user, now, cancellationToken))
            {
                return (V2Outcome.PathBlocked, null, null, $"an item of the tree is in the way of {folder}/{V2Layout.BlobName(blobDigest)}");
            }
        }

        if (!byDigest && previous is null && repository.MaxUniqueTags > 0
            && !await DropOldestTagsAsync(tx, repo, image, reference, repository.MaxUniqueTags, access, cancellationToken))
        {
            return (V2Outcome.Denied, null, null, $"a new tag beyond maxUniqueTags ({repository.MaxUniqueTags}) removes the oldest tags of {image}, which needs delete permission on them");
        }

        await tx.CommitAsync(cancellationToken);
        return (V2Outcome.Created, digest, manifest.Subject?.Digest, "");
    }

    /// <summary>
    /// Removes the manifest and blob names directly in a tag or digest folder, and the folder when
    /// nothing else is in it. Never its subfolders: tag <c>b</c> of image <c>a</c> shares its path
    /// with the image <c>a/b</c>, whose tags live below it.
    /// </summary>
    internal static async Task ClearManifestFolderAsync(IMetadataTransaction tx, string repo, string folder, CancellationToken cancellationToken)
    {
        var children = await tx.Tree.ListChildrenAsync(repo, folder, cancellationToken);
        foreach (var file in children.Where(c => !c.IsFolder))
        {
            await tx.Tree.DeleteAsync(repo, file.Path, cancellationToken);
        }

        if (children.Count > 0 && children.All(c => !c.IsFolder))
        {
            await tx.Tree.DeleteAsync(repo, folder, cancellationToken);
        }
    }

    /// <summary>The V2 properties of a manifest file (rest-api §8.3), with Wharf's subject and artifact type.</summary>
    public static Dictionary<string, IReadOnlyList<string>> ManifestProperties(
        string manifestName, Digest digest, string sha256Hex, string mediaType, string image, Digest? subject, string? artifactType, IReadOnlyDictionary<string, string> labels)
    {
        var properties = new Dictionary<string, IReadOnlyList<string>>
        {
            [V2Properties.Manifest] = [manifestName],
            [V2Properties.ManifestDigest] = [digest.ToString()],
            [V2Properties.ManifestType] = [mediaType],
            [V2Properties.RepoName] = [image],
            [V2Properties.Sha256] = [sha256Hex],
            [V2Properties.ContentType] = [mediaType],
        };
        if (subject is not null)
        {
            properties[V2Properties.Subject] = [subject.ToString()];
        }

        if (artifactType is not null)
        {
            properties[V2Properties.ArtifactType] = [artifactType];
        }

        foreach (var (key, value) in labels)
        {
            if (PropertyString.ValidateKey(V2Properties.LabelPrefix + key) is null && value.Length <= PropertyString.MaxValueLength)
            {
                properties[V2Properties.LabelPrefix + key] = [value];
            }
        }

        return properties;
    }

    /// <summary>
    /// A manifest by tag or digest, where the caller may read it (by digest: any place of the
    /// image). The index's answer for a reference is cached until the next write (pulls ask for
    /// the same ones over and over: <c>bench/index-bench.sh</c> measured the uncached query at a
    /// sixth of the cached throughput); the caller's access is checked on every request.
    /// </summary>
    public async ValueTask<StoredManifest?> GetManifestAsync(string repo, string image, string reference, ItemAccess access, CancellationToken cancellationToken)
    {
        var candidates = await _candidates.GetOrReadAsync((repo, image, reference), async (key, ct) =>
        {
            await using var session = await store.OpenAsync(ct);
            return await CandidatesAsync(session, key.Repo, key.Image, key.Reference, ct);
        }, cancellationToken);
        if (candidates.Count == 0)
        {
            return null;
        }

        var digest = Digest.TryParse(reference, out var parsed) ? parsed : null;
        if (digest?.Algorithm == Digest.Sha512)
        {
            await using var session = await store.OpenAsync(cancellationToken);
            return await ChooseAsync(session, candidates, digest, access, cancellationToken);
        }

        return await ChooseAsync(null, candidates, digest, access, cancellationToken);
    }

    /// <summary>The bytes of a stored manifest (small ones served from memory).</summary>
    public async Task<byte[]?> ReadManifestAsync(StoredManifest manifest, CancellationToken cancellationToken)
    {
        if (_manifestBytes.TryGetValue(manifest.Sha256Hex, out var cached))
        {
            return cached;
        }

        var bytes = await content.ReadAllBytesAsync(manifest.Sha256Hex, cancellationToken);
        if (bytes is { Length: <= CachedManifestBytes })
        {
            // Bounded by bytes, not entries: ten thousand large manifests would otherwise hold
            // hundreds of megabytes. Starting over is cheap; the bytes are content-addressed.
            if (Interlocked.Read(ref _manifestBytesTotal) + bytes.Length > ManifestBytesBudget)
            {
                _manifestBytes.Clear();
                Interlocked.Exchange(ref _manifestBytesTotal, 0);
            }

            if (_manifestBytes.TryAdd(manifest.Sha256Hex, bytes))
            {
                Interlocked.Add(ref _manifestBytesTotal, bytes.Length);
            }
        }

        return bytes;
    }

    /// <summary>
    /// By tag: the tag folder's manifest; by digest: any manifest of the image with that digest.
    /// With <paramref name="access"/>, only a place the caller may read counts.
    /// </summary>
    private static async Task<StoredManifest?> FindManifestAsync(IMetadataSession session, string repo, string image, string reference, ItemAccess? access, CancellationToken cancellationToken)
    {
        var digest = Digest.TryParse(reference, out var parsed) ? parsed : null;
        return await ChooseAsync(session, await CandidatesAsync(session, repo, image, reference, cancellationToken), digest, access, cancellationToken);
    }

    /// <summary>The manifest files that may answer a reference: a tag's or a sha512 digest's folder, or every place of a sha256 digest.</summary>
    private static async Task<IReadOnlyList<V2ManifestRow>> CandidatesAsync(IMetadataSession session, string repo, string image, string reference, CancellationToken cancellationToken)
    {
        if (!Digest.TryParse(reference, out var digest))
        {
            return V2Name.IsValidTag(reference) ? await session.V2Index.ManifestsInFolderAsync(repo, image, reference, cancellationToken) : [];
        }

        // Known by a sha512 digest only where it was pushed by it (see PutManifestAsync).
        return digest.Algorithm == Digest.Sha256
            ? await session.V2Index.ManifestsWithContentAsync(repo, image, digest.Hex, cancellationToken)
            : await session.V2Index.ManifestsInFolderAsync(repo, image, digest.ToString(), cancellationToken);
    }

    /// <summary>
    /// By tag or sha512 digest the folder's first manifest file answers; by sha256 digest any place
    /// of the image the caller may read. A sha512 digest needs <paramref name="session"/> to check
    /// that it is the content's.
    /// </summary>
    private static async Task<StoredManifest?> ChooseAsync(IMetadataSession? session, IReadOnlyList<V2ManifestRow> candidates, Digest? digest, ItemAccess? access, CancellationToken cancellationToken)
    {
        foreach (var row in digest?.Algorithm == Digest.Sha256 ? candidates : candidates.Take(1))
        {
            if (access is not null && !await access(row.Path, AccessActions.Read))
            {
                continue;
            }

            if (digest?.Algorithm == Digest.Sha512 && !await V2Blobs.CarriesAsync(session!, row.Sha256, digest, cancellationToken))
            {
                return null;
            }

            var known = digest?.Algorithm == Digest.Sha512 ? digest : Digest.OfSha256(row.Sha256);
            return new StoredManifest(row.Sha256, row.Size, row.MediaType, known, row.Subject, row.Path);
        }

        return null;
    }

    /// <summary>The manifest file of a tag or digest folder (<c>manifest.json</c> or <c>list.manifest.json</c>).</summary>
    internal static async Task<TreeItem?> ManifestFileInAsync(IMetadataSession session, string repo, string folder, CancellationToken cancellationToken) =>
        (await session.V2Index.ManifestsInFolderAsync(repo, ItemPath.Parent(folder), ItemPath.Name(folder), cancellationToken)) is [var first, ..] ? first.ToItem() : null;

    /// <summary>Every manifest file in the folders directly below the image (tags and digests), manifests before lists.</summary>
    internal static async Task<IReadOnlyList<TreeItem>> ListManifestFilesAsync(IMetadataSession session, string repo, string image, CancellationToken cancellationToken) =>
        [.. (await session.V2Index.ManifestsOfImageAsync(repo, image, cancellationToken)).Select(r => r.ToItem())];

    /// <summary>
    /// By tag: that tag folder; by digest: every folder of the image holding that manifest. A
    /// manifest the caller may read nowhere is unknown to them; every file removed must be one
    /// the caller may delete, or nothing is.
    /// </summary>
    public async Task<V2Outcome> DeleteManifestAsync(string repo, string image, string reference, ItemAccess access, CancellationToken cancellationToken)
    {
        await using var tx = await store.BeginAsync(cancellationToken);
        var folders = new List<string>();
        if (Digest.TryParse(reference, out var digest))
        {
            if (digest.Algorithm == Digest.Sha512)
            {
                if (await FindManifestAsync(tx, repo, image, reference, access, cancellationToken) is not null)
                {
                    folders.Add(V2Layout.DigestFolder(image, digest));
                }
            }
            else if (await FindManifestAsync(tx, repo, image, reference, access, cancellationToken) is not null)
            {
                folders.AddRange((await tx.V2Index.ManifestsWithContentAsync(repo, image, digest.Hex, cancellationToken)).Select(r => ItemPath.Parent(r.Path)));
            }
        }
        else if (V2Name.IsValidTag(reference) && await FindManifestAsync(tx, repo, image, reference, access, cancellationToken) is not null)
        {
            folders.Add(V2Layout.TagFolder(image, reference));
        }

        if (folders.Count == 0)
        {
            return V2Outcome.ManifestUnknown;
        }

        folders = [.. folders.Distinct(StringComparer.Ordinal)];
        foreach (var folder in folders)
        {
            if (!await MayOnFilesInAsync(tx, repo, folder, access, AccessActions.Delete, cancellationToken))
            {
                return V2Outcome.Denied;
            }
        }

        foreach (var folder in folders)
        {
            await ClearManifestFolderAsync(tx, repo, folder, cancellationToken);
        }

        await tx.CommitAsync(cancellationToken);
        return V2Outcome.Ok;
    }

}
