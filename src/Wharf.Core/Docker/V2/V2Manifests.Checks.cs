using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Security;
using Wharf.Core.Tree;

namespace Wharf.Core.Docker.V2;

/// <summary>What a pushed manifest names, as the image holds it: the blobs to name again, and the config's labels.</summary>
internal sealed record ManifestReferences(IReadOnlyDictionary<Digest, TreeItem> Blobs, IReadOnlyDictionary<string, string> Labels);

internal sealed partial class V2Manifests
{
    /// <summary>Largest config whose labels are read (its stored size, not the claimed one).</summary>
    private const long MaxLabelledConfigBytes = 1 << 20;

    /// <summary>
    /// Checks what a manifest names against the image: every blob (config and layers) must be in
    /// it and every manifest an index names in the repository, where the caller may read it
    /// (<c>MANIFEST_BLOB_UNKNOWN</c>), each
    /// descriptor's <c>size</c> must be the stored size, since every client checks it and fails on
    /// a mismatch, and a JSON config's strings must be text (<c>MANIFEST_INVALID</c>, naming the
    /// descriptor). The subject is not checked: it may be pushed after its referrers.
    /// </summary>
    private async Task<(ManifestReferences? References, V2Outcome Outcome, string Message)> CheckReferencesAsync(
        IMetadataSession session, string repo, string image, ParsedManifest manifest, ItemAccess access, CancellationToken cancellationToken)
    {
        var blobs = new Dictionary<Digest, TreeItem>();
        for (var i = 0; i < manifest.Blobs.Count; i++)
        {
            var descriptor = manifest.Blobs[i];
            var role = manifest.Config is not null ? (i == 0 ? "config" : $"layers[{i - 1}]") : $"blobs[{i}]";
            if (await V2Blobs.FindBlobAsync(session, repo, image, descriptor.Digest, access, cancellationToken) is not { } found)
            {
                return (null, V2Outcome.ManifestBlobUnknown, $"blob {descriptor.Digest} is not in {image}");
            }

            if (found.Size != descriptor.Size)
            {
                return (null, V2Outcome.ManifestInvalid, SizeMessage(role, descriptor, found.Size));
            }

            blobs[descriptor.Digest] = found;
        }

        IReadOnlyDictionary<string, string> labels = new Dictionary<string, string>();
        if (manifest.Config is { } config && blobs[config.Digest] is { Size: <= MaxLabelledConfigBytes } configItem)
        {
            (labels, var problem) = Manifests.Labels(await content.ReadAllBytesAsync(configItem.Sha256!, cancellationToken) ?? []);
            if (problem is not null)
            {
                return (null, V2Outcome.ManifestInvalid, $"config {config.Digest} {problem}");
            }
        }

        for (var i = 0; i < manifest.Children.Count; i++)
        {
            var child = manifest.Children[i];
            if (await FindManifestAsync(session, repo, image, child.Digest.ToString(), access, cancellationToken) is not { } stored)
            {
                return (null, V2Outcome.ManifestBlobUnknown, $"manifest {child.Digest} is not in {image}");
            }

            if (stored.Size != child.Size)
            {
                return (null, V2Outcome.ManifestInvalid, SizeMessage($"manifests[{i}]", child, stored.Size));
            }
        }

        return (new ManifestReferences(blobs, labels), V2Outcome.Ok, "");
    }

    private static string SizeMessage(string role, Descriptor descriptor, long stored) =>
        $"{role} {descriptor.Digest} has size {descriptor.Size}, but the stored content is {stored} bytes";
}
