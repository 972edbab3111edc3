using System.Security.Cryptography;
using System.Text.Json;
using Wharf.Core.Json;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Security;
using Wharf.Core.Storage;
using Wharf.Core.Tree;

namespace Wharf.Core.Docker.V1;

/// <summary>
/// Images of the Docker Registry V1 (docker-v1-protocol §6.4, §9): JSON, layer and checksum
/// uploads, published whole when the checksum verifies. Uploading images live in their own
/// records; a verified checksum publishes the image's <c>.images/&lt;id&gt;/</c> folder in one
/// transaction, so readers see all of it or nothing.
/// </summary>
internal sealed class V1Images(IMetadataStore store, ContentStore content, TimeProvider time)
{
    /// <summary>Largest image JSON accepted (documented in the README); real ones are a few KiB.</summary>
    public const int MaxImageJsonBytes = 1 << 20;

    /// <summary>The image as readers see it (§9: only a complete image is served).</summary>
    public async Task<V1ImageLookup> GetImageAsync(string repo, string imageId, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        return await V1Reads.LookupAsync(session, repo, imageId, cancellationToken);
    }

    /// <inheritdoc cref="V1Reads.MayReadChainAsync(IMetadataSession, string, string, ItemAccess, CancellationToken)"/>
    public async Task<bool> MayReadChainAsync(string repo, string imageId, ItemAccess access, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        return await V1Reads.MayReadChainAsync(session, repo, imageId, access, cancellationToken);
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
        if (await V1Reads.IsCompleteAsync(tx, repo, imageId, cancellationToken))
        {
            return V1Outcome.ImageExists;
        }

        IReadOnlyList<string> ancestry = [imageId];
        if (parent is not null)
        {
            var parentAncestry = await V1Reads.ReadCompleteAncestryAsync(tx, repo, parent, cancellationToken)
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
        var ancestry = await content.PutBytesAsync(JsonSerializer.SerializeToUtf8Bytes(upload.Ancestry, V1Writes.Compact), cancellationToken);
        var checksums = await content.PutBytesAsync(JsonSerializer.SerializeToUtf8Bytes(new[] { upload.PayloadChecksum }, V1Writes.Compact), cancellationToken);

        await using var tx = await store.BeginAsync(cancellationToken);
        var current = await tx.V1Uploads.GetAsync(repo, imageId, cancellationToken);
        if (current is null || current.LayerSha256 != upload.LayerSha256 || current.PayloadChecksum != upload.PayloadChecksum
            || !current.Json.AsSpan().SequenceEqual(upload.Json))
        {
            // Completed or re-sent by a concurrent push meanwhile; answer as if it had come first.
            return current is null && await V1Reads.IsCompleteAsync(tx, repo, imageId, cancellationToken)
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
            new(V1Layout.ImageFile(imageId, V1Layout.JsonFile), json.Sha256, json.Size, V1Writes.JsonMime),
            new(V1Layout.ImageFile(imageId, V1Layout.AncestryFile), ancestry.Sha256, ancestry.Size, V1Writes.JsonMime),
            new(V1Layout.ImageFile(imageId, V1Layout.ChecksumFile), checksums.Sha256, checksums.Size, V1Writes.JsonMime),
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

        return (null, await V1Reads.IsCompleteAsync(session, repo, imageId, cancellationToken) ? whenComplete : V1Outcome.ImageNotFound);
    }
}
