using System.Text.Json;
using Wharf.Core.Naming;

namespace Wharf.Core.Docker.V2;

/// <summary>A content descriptor: what a manifest says about a blob or another manifest.</summary>
internal sealed record Descriptor(string MediaType, Digest Digest, long Size, string? ArtifactType = null);

/// <summary>The parts of a manifest the registry acts on.</summary>
internal sealed record ParsedManifest(
    string MediaType,
    bool IsIndex,
    IReadOnlyList<Descriptor> Blobs,
    IReadOnlyList<Descriptor> Children,
    Descriptor? Subject,
    string? ArtifactType,
    Descriptor? Config);

internal enum ManifestProblem
{
    None,
    Invalid,
    Unsupported,
    Schema1Blocked,
}

/// <summary>Media types and parsing of Docker schema 2 and OCI manifests and indexes.</summary>
internal static class Manifests
{
    public const string DockerV2 = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerV1 = "application/vnd.docker.distribution.manifest.v1+json";
    public const string DockerV1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";

    /// <summary>Largest manifest accepted (4 MiB, as the OCI spec suggests registries allow at least).</summary>
    public const int MaxBytes = 4 << 20;

    public static bool IsIndexType(string mediaType) => mediaType is DockerList or OciIndex;

    /// <summary>
    /// Parses a pushed manifest. Its type is its <c>mediaType</c> field, else the request's
    /// Content-Type, else inferred (OCI index with <c>manifests</c>, OCI manifest with
    /// <c>config</c>); a field and a Content-Type that disagree are invalid.
    /// </summary>
    public static (ParsedManifest? Manifest, ManifestProblem Problem, string Message) Parse(ReadOnlySpan<byte> bytes, string? contentType, bool blockSchema1)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes.ToArray());
        }
        catch (JsonException)
        {
            return (null, ManifestProblem.Invalid, "manifest is not valid JSON");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, ManifestProblem.Invalid, "manifest is not a JSON object");
            }

            var declared = root.TryGetProperty("mediaType", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            var header = MediaTypeOf(contentType);
            if (declared is not null && header is not null && header != "application/json" && header != declared)
            {
                return (null, ManifestProblem.Invalid, $"mediaType '{declared}' disagrees with Content-Type '{header}'");
            }

            var schema = root.TryGetProperty("schemaVersion", out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var n) ? n : 0;
            var type = declared ?? (header is not null && header != "application/json" ? header : null)
                ?? (schema == 1 ? DockerV1 : root.TryGetProperty("manifests", out _) ? OciIndex : OciManifest);
            if (type is DockerV1 or DockerV1Signed || schema == 1)
            {
                return blockSchema1
                    ? (null, ManifestProblem.Schema1Blocked, "schema 1 manifests are blocked on this repository")
                    : (null, ManifestProblem.Unsupported, "schema 1 manifests are not supported");
            }

            if (type is not (DockerV2 or DockerList or OciManifest or OciIndex))
            {
                return (null, ManifestProblem.Unsupported, $"unsupported manifest media type '{type}'");
            }

            if (schema != 2)
            {
                return (null, ManifestProblem.Invalid, "schemaVersion must be 2");
            }

            try
            {
                var subject = root.TryGetProperty("subject", out var s) && s.ValueKind == JsonValueKind.Object ? Read(s) : null;
                var artifactType = root.TryGetProperty("artifactType", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
                if (IsIndexType(type))
                {
                    if (!root.TryGetProperty("manifests", out var list) || list.ValueKind != JsonValueKind.Array)
                    {
                        return (null, ManifestProblem.Invalid, "an index needs a manifests array");
                    }

                    return (new ParsedManifest(type, true, [], [.. list.EnumerateArray().Select(Read)], subject, artifactType, null), ManifestProblem.None, "");
                }

                if (!root.TryGetProperty("config", out var config) || config.ValueKind != JsonValueKind.Object)
                {
                    return (null, ManifestProblem.Invalid, "an image manifest needs a config descriptor");
                }

                var configDescriptor = Read(config);
                var layers = root.TryGetProperty("layers", out var l) && l.ValueKind == JsonValueKind.Array ? l.EnumerateArray().Select(Read).ToList() : null;
                if (layers is null)
                {
                    return (null, ManifestProblem.Invalid, "an image manifest needs a layers array");
                }

                return (new ParsedManifest(type, false, [configDescriptor, .. layers], [], subject, artifactType ?? configDescriptor.MediaType, configDescriptor), ManifestProblem.None, "");
            }
            catch (FormatException e)
            {
                return (null, ManifestProblem.Invalid, e.Message);
            }
        }
    }

    private static Descriptor Read(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object
            || !element.TryGetProperty("mediaType", out var mediaType) || mediaType.ValueKind != JsonValueKind.String
            || !element.TryGetProperty("digest", out var digest) || digest.ValueKind != JsonValueKind.String || !Digest.TryParse(digest.GetString(), out var parsed)
            || !element.TryGetProperty("size", out var size) || size.ValueKind != JsonValueKind.Number || !size.TryGetInt64(out var length) || length < 0)
        {
            throw new FormatException("every descriptor needs a mediaType, a valid digest and a size");
        }

        var artifactType = element.TryGetProperty("artifactType", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
        return new Descriptor(mediaType.GetString()!, parsed, length, artifactType);
    }

    private static string? MediaTypeOf(string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType))
        {
            return null;
        }

        var semicolon = contentType.IndexOf(';', StringComparison.Ordinal);
        return (semicolon < 0 ? contentType : contentType[..semicolon]).Trim().ToLowerInvariant();
    }

    /// <summary>The <c>config.Labels</c> of an image config blob, for <c>docker.label.*</c>.</summary>
    public static IReadOnlyDictionary<string, string> Labels(ReadOnlySpan<byte> config)
    {
        try
        {
            using var document = JsonDocument.Parse(config.ToArray());
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("config", out var c) && c.ValueKind == JsonValueKind.Object
                && c.TryGetProperty("Labels", out var labels) && labels.ValueKind == JsonValueKind.Object)
            {
                var result = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var label in labels.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String))
                {
                    result[label.Name] = label.Value.GetString()!;
                }

                return result;
            }
        }
        catch (JsonException)
        {
            // A config that is not JSON has no labels; the manifest is still valid.
        }

        return new Dictionary<string, string>();
    }
}
