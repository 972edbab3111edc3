using System.Text.Json;
using System.Text.Json.Nodes;
using Wharf.Core.Docker.V1;
using Wharf.Core.Json;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Operations;
using Wharf.Core.Security;
using Wharf.Core.Storage;
using Wharf.Core.Tree;

namespace Wharf.Core.Docker.V2;

/// <summary>A migrate request (rest-api §3.5), as sent.</summary>
internal sealed record MigrateRequest(string? TargetRepo, string? DockerRepository, string? Tag, bool Overwrite);

internal sealed record MigratedTag(string DockerRepository, string Tag, string TargetImage, string? Digest, string? Reason);

internal sealed record MigrationReport(List<MigratedTag> Migrated, List<MigratedTag> Unchanged, List<MigratedTag> Skipped, List<MigratedTag> Failed);

/// <summary>
/// Migration of V1 tags into a V2 repository (rest-api §3.5): each V1 ancestry chain becomes a
/// Docker schema 2 image (config with rootfs diff_ids and history, gzip layers), deterministically,
/// so running it twice yields the same digests. Each tag is its own transaction; the source is
/// only read.
/// </summary>
internal sealed class V1Migration(IMetadataStore store, ContentStore content, V1Search v1Search, V1Tags v1Tags, V1Images v1Images, TimeProvider time)
{
    private const string LayerMediaType = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    private const string ConfigMediaType = "application/vnd.docker.container.image.v1+json";
    private static readonly string[] KeptConfigFields = ["architecture", "os", "config", "container_config", "created", "docker_version", "author", "container"];

    private readonly V1LayerConverter _layers = new(content);

    public async Task<(MigrationReport? Report, OperationResult? Failure)> MigrateAsync(
        RepositoryConfig source, RepositoryConfig target, MigrateRequest request, string user, PathPermission allowed, CancellationToken cancellationToken)
    {
        if (target.DockerApiVersion != DockerApiVersion.V2 || source.DockerApiVersion != DockerApiVersion.V1)
        {
            return (null, OperationResult.BadRequest($"Migration copies from a Docker V1 repository to a Docker V2 repository; '{source.Key}' is {source.DockerApiVersion} and '{target.Key}' is {target.DockerApiVersion}."));
        }

        if (request.Tag is not null && request.DockerRepository is null)
        {
            return (null, OperationResult.BadRequest("tag needs dockerRepository."));
        }

        List<V1RepositoryName> names;
        if (request.DockerRepository is { } one)
        {
            if (!V1RepositoryName.TryParse(one, out var parsed))
            {
                return (null, OperationResult.BadRequest($"'{one}' is not a valid Docker repository name."));
            }

            names = [parsed];
        }
        else
        {
            names = [.. (await v1Search.ListRepositoriesAsync(source.Key, cancellationToken)).Select(h => V1RepositoryName.TryParse(h.Name, out var n) ? n : null).OfType<V1RepositoryName>()];
        }

        // Only the tags the caller may read are seen; each must carry nothing the caller may not
        // read (every file of every image of its chain), and each written file must be deployable.
        ItemAccess readable = (path, actions) => allowed(source, path, actions);
        var work = new List<(V1RepositoryName Name, string Tag, string ImageId)>();
        foreach (var name in names)
        {
            var tags = await v1Tags.ListTagsAsync(source.Key, name, readable, cancellationToken);
            if (tags is null)
            {
                return (null, OperationResult.NotFound($"Docker repository '{name}' not found in '{source.Key}'."));
            }

            foreach (var (tag, imageId) in tags.Where(t => request.Tag is null || t.Tag == request.Tag))
            {
                if (!await v1Images.MayReadChainAsync(source.Key, imageId, readable, cancellationToken))
                {
                    return (null, OperationResult.Forbidden($"Reading tag '{tag}' of '{name}' in '{source.Key}' and every image it reaches is not permitted."));
                }

                if (V2Name.IsValidName(TargetImage(name)) && V2Name.IsValidTag(tag)
                    && !await allowed(target, $"{V2Layout.TagFolder(TargetImage(name), tag)}/{V2Layout.ManifestFile}", AccessActions.Deploy))
                {
                    return (null, OperationResult.Forbidden($"Deploying '{TargetImage(name)}:{tag}' to '{target.Key}' is not permitted."));
                }

                work.Add((name, tag, imageId));
            }

            if (request.Tag is not null && !tags.Any(t => t.Tag == request.Tag))
            {
                return (null, OperationResult.NotFound($"Tag '{request.Tag}' of '{name}' not found in '{source.Key}'."));
            }
        }

        var report = new MigrationReport([], [], [], []);
        var layers = new Dictionary<string, ConvertedLayer>(StringComparer.Ordinal);
        foreach (var (name, tag, imageId) in work)
        {
            var image = TargetImage(name);
            if (!V2Name.IsValidName(image) || !V2Name.IsValidTag(tag))
            {
                report.Failed.Add(new MigratedTag(name.FullName, tag, image, null, "the name or tag is outside the V2 grammar"));
                continue;
            }

            try
            {
                if (await MigrateTagAsync(source, target, name, tag, imageId, image, request.Overwrite, user, allowed, layers, report, cancellationToken) is { } refused)
                {
                    return (null, refused);
                }
            }
            catch (Exception e) when (e is InvalidDataException or JsonException or FormatException)
            {
                report.Failed.Add(new MigratedTag(name.FullName, tag, image, null, e.Message));
            }
        }

        return (report, null);
    }

    /// <summary>V1 name to V2 image: <c>library/ubuntu</c> → <c>ubuntu</c>, others unchanged.</summary>
    public static string TargetImage(V1RepositoryName name) => name.Namespace == "library" ? name.Repository : name.FullName;

    /// <summary>Migrates one tag into <paramref name="report"/>; a refusal of a path the migration writes ends the whole request.</summary>
    private async Task<OperationResult?> MigrateTagAsync(
        RepositoryConfig source, RepositoryConfig target, V1RepositoryName name, string tag, string imageId, string image, bool overwrite, string user,
        PathPermission allowed, Dictionary<string, ConvertedLayer> converted, MigrationReport report, CancellationToken cancellationToken)
    {
        var top = await v1Images.GetImageAsync(source.Key, imageId, cancellationToken);
        if (top.Image is not { } topImage)
        {
            report.Failed.Add(new MigratedTag(name.FullName, tag, image, null, $"image {imageId} is not complete"));
            return null;
        }

        var ancestry = JsonSerializer.Deserialize<string[]>(await ReadAsync(topImage.AncestrySha256, cancellationToken)) ?? [imageId];
        var chain = ancestry.Reverse().ToList();
        var diffIds = new List<string>();
        var history = new JsonArray();
        var layerDescriptors = new List<(string Sha256, long Size)>();
        JsonObject? topJson = null;
        foreach (var id in chain)
        {
            var lookup = await v1Images.GetImageAsync(source.Key, id, cancellationToken);
            if (lookup.Image is not { } each)
            {
                report.Failed.Add(new MigratedTag(name.FullName, tag, image, null, $"image {id} of the ancestry is missing"));
                return null;
            }

            // Stored V1 JSON is read defensively: what an older Wharf accepted may not be text.
            var jsonBytes = await ReadAsync(each.JsonSha256, cancellationToken);
            if (StrictJson.Check(jsonBytes) != JsonTextProblem.None)
            {
                report.Failed.Add(new MigratedTag(name.FullName, tag, image, null, $"the JSON of image {id} is not valid JSON text"));
                return null;
            }

            var json = JsonNode.Parse(jsonBytes) as JsonObject ?? throw new InvalidDataException($"image {id} has no JSON object");
            if (!converted.TryGetValue(each.LayerSha256, out var layer))
            {
                converted[each.LayerSha256] = layer = await _layers.ConvertAsync(each.LayerSha256, each.LayerSize, cancellationToken);
            }

            var entry = new JsonObject();
            if (json["created"] is JsonNode created)
            {
                entry["created"] = created.DeepClone();
            }

            if (json["author"] is JsonValue author && author.TryGetValue<string>(out var a) && a.Length > 0)
            {
                entry["author"] = a;
            }

            if (json["container_config"]?["Cmd"] is JsonArray cmd)
            {
                entry["created_by"] = string.Join(' ', cmd.Select(c => c?.ToString()));
            }

            if (layer.DiffId is null)
            {
                entry["empty_layer"] = true;
            }
            else
            {
                diffIds.Add(layer.DiffId);
                layerDescriptors.Add((layer.BlobSha256, layer.BlobSize));
            }

            history.Add(entry);
            topJson = json;
        }

        var config = new JsonObject();
        foreach (var field in KeptConfigFields)
        {
            if (topJson![field] is JsonNode value)
            {
                config[field] = value.DeepClone();
            }
        }

        config["architecture"] ??= "amd64";
        config["os"] ??= "linux";
        config["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray([.. diffIds.Select(d => (JsonNode)d)]) };
        config["history"] = history;
        var configBytes = JsonSerializer.SerializeToUtf8Bytes(config);
        var configBlob = await content.PutBytesAsync(configBytes, cancellationToken);
        var manifest = JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = Manifests.DockerV2,
            ["config"] = new JsonObject { ["mediaType"] = ConfigMediaType, ["size"] = configBlob.Size, ["digest"] = "sha256:" + configBlob.Sha256 },
            ["layers"] = new JsonArray([.. layerDescriptors.Select(l => (JsonNode)new JsonObject { ["mediaType"] = LayerMediaType, ["size"] = l.Size, ["digest"] = "sha256:" + l.Sha256 })]),
        });
        var manifestBlob = await content.PutBytesAsync(manifest, cancellationToken);
        var digest = Digest.OfSha256(manifestBlob.Sha256);
        var (labels, _) = Manifests.Labels(configBytes);

        // A stored gzip layer is named again, not rewritten: refreshed, it stays inside the
        // collector's grace period until the rows below name it, even if its V1 image is deleted
        // meanwhile; a layer the collector has already taken is a failed tag, never a dangling row.
        foreach (var (sha256, _) in layerDescriptors.Distinct())
        {
            if (!await content.RefreshAsync(sha256, cancellationToken))
            {
                throw new InvalidDataException($"layer sha256:{sha256} is no longer stored");
            }
        }

        await using var tx = await store.BeginAsync(cancellationToken);
        var folder = V2Layout.TagFolder(image, tag);
        var existing = await V2Manifests.ManifestFileInAsync(tx, target.Key, folder, cancellationToken);
        if (existing?.Sha256 == manifestBlob.Sha256)
        {
            report.Unchanged.Add(new MigratedTag(name.FullName, tag, image, digest.ToString(), null));
            return null;
        }

        if (existing is not null)
        {
            if (!overwrite)
            {
                report.Skipped.Add(new MigratedTag(name.FullName, tag, image, null, "tag exists in target with another digest"));
                return null;
            }

            foreach (var replaced in (await tx.Tree.ListChildrenAsync(target.Key, folder, cancellationToken)).Where(c => !c.IsFolder))
            {
                if (!await allowed(target, replaced.Path, AccessActions.Delete))
                {
                    report.Skipped.Add(new MigratedTag(name.FullName, tag, image, null, "replacing the tag needs delete permission on the target"));
                    return null;
                }
            }

            await V2Manifests.ClearManifestFolderAsync(tx, target.Key, folder, cancellationToken);
        }

        var written = layerDescriptors.Select(l => l.Sha256).Prepend(configBlob.Sha256).Select(sha256 => $"{folder}/{V2Layout.BlobName(sha256)}");
        foreach (var path in written)
        {
            if (!await allowed(target, path, AccessActions.Deploy))
            {
                return OperationResult.Forbidden($"Deploying '{image}:{tag}' to '{target.Key}' is not permitted.");
            }
        }

        var now = time.GetUtcNow();
        var properties = V2Manifests.ManifestProperties(tag, digest, manifestBlob.Sha256, Manifests.DockerV2, image, null, null, labels);
        NewFile[] files =
        [
            new($"{folder}/{V2Layout.ManifestFile}", manifestBlob.Sha256, manifestBlob.Size, Manifests.DockerV2, properties),
            new($"{folder}/{V2Layout.BlobName(configBlob.Sha256)}", configBlob.Sha256, configBlob.Size, ConfigMediaType),
            .. layerDescriptors.Distinct().Select(l => new NewFile($"{folder}/{V2Layout.BlobName(l.Sha256)}", l.Sha256, l.Size, LayerMediaType)),
        ];
        foreach (var file in files)
        {
            if (!await tx.Tree.TryPutFileAsync(target.Key, file, user, now, cancellationToken))
            {
                // An item a copy or move put there; the tag fails alone, uncommitted.
                report.Failed.Add(new MigratedTag(name.FullName, tag, image, null, $"an item of '{target.Key}' is in the way of {file.Path}"));
                return null;
            }
        }

        await tx.CommitAsync(cancellationToken);
        report.Migrated.Add(new MigratedTag(name.FullName, tag, image, digest.ToString(), null));
        return null;
    }

    private async Task<byte[]> ReadAsync(string sha256, CancellationToken cancellationToken) =>
        await content.ReadAllBytesAsync(sha256, cancellationToken) ?? throw new InvalidDataException($"blob {sha256} is missing");
}
