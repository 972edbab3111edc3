using System.Text.Json;
using Wharf.Core.Json;
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

    /// <summary>The message for a document whose strings are not text (<see cref="JsonTextProblem.InvalidText"/>).</summary>
    public const string InvalidTextMessage = "is not valid JSON text: a string holds invalid UTF-8 or a lone surrogate (\\ud800-\\udfff without its pair)";

    /// <summary>
    /// Parses a pushed manifest. Its type is its <c>mediaType</c> field, else the request's
    /// Content-Type, else inferred (OCI index with <c>manifests</c>, OCI manifest with
    /// <c>config</c>); a field and a Content-Type that disagree are invalid. Every string must be
    /// text every client can read (<see cref="StrictJson"/>), and the fields read here must have
    /// their spec's types (<c>annotations</c> a map of strings).
    /// </summary>
    public static (ParsedManifest? Manifest, ManifestProblem Problem, string Message) Parse(ReadOnlyMemory<byte> bytes, string? contentType, bool blockSchema1)
    {
        var (document, text) = StrictJson.Parse(bytes);
        if (document is null)
        {
            return (null, ManifestProblem.Invalid, text == JsonTextProblem.InvalidText ? "manifest " + InvalidTextMessage : "manifest is not valid JSON");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, ManifestProblem.Invalid, "manifest is not a JSON object");
            }

            if ((WrongType(root, "mediaType", JsonValueKind.String) ?? WrongType(root, "artifactType", JsonValueKind.String)
                ?? WrongType(root, "subject", JsonValueKind.Object) ?? WrongAnnotations(root, "manifest")) is { } wrong)
            {
                return (null, ManifestProblem.Invalid, wrong);
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

        if ((WrongType(element, "artifactType", JsonValueKind.String) ?? WrongAnnotations(element, $"descriptor {parsed}")) is { } wrong)
        {
            throw new FormatException(wrong);
        }

        var artifactType = element.TryGetProperty("artifactType", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
        return new Descriptor(mediaType.GetString()!, parsed, length, artifactType);
    }

    /// <summary>A message when <paramref name="name"/> is present with another type than <paramref name="kind"/>; null counts as absent.</summary>
    private static string? WrongType(JsonElement element, string name, JsonValueKind kind) =>
        element.TryGetProperty(name, out var value) && value.ValueKind != kind && value.ValueKind != JsonValueKind.Null
            ? $"'{name}' must be a JSON {kind.ToString().ToLowerInvariant()}"
            : null;

    /// <summary>A message when <c>annotations</c> is present and not a map of strings to strings (OCI image-spec, annotations); null counts as absent.</summary>
    private static string? WrongAnnotations(JsonElement element, string owner) =>
        WrongType(element, "annotations", JsonValueKind.Object) is not null
        || (element.TryGetProperty("annotations", out var annotations) && annotations.ValueKind == JsonValueKind.Object
            && annotations.EnumerateObject().Any(p => p.Value.ValueKind != JsonValueKind.String))
            ? $"the annotations of the {owner} must map strings to strings"
            : null;

    private static string? MediaTypeOf(string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType))
        {
            return null;
        }

        var semicolon = contentType.IndexOf(';', StringComparison.Ordinal);
        return (semicolon < 0 ? contentType : contentType[..semicolon]).Trim().ToLowerInvariant();
    }

    /// <summary>
    /// The <c>config.Labels</c> of an image config blob, for <c>docker.label.*</c>. A config that is
    /// not JSON (an artifact's) has none; a JSON config whose strings are not text is a problem:
    /// its labels would become properties no client could read.
    /// </summary>
    public static (IReadOnlyDictionary<string, string> Labels, string? Problem) Labels(ReadOnlyMemory<byte> config)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var (document, problem) = StrictJson.Parse(config);
        if (document is null)
        {
            return (result, problem == JsonTextProblem.InvalidText ? InvalidTextMessage : null);
        }

        using (document)
        {
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("config", out var c) && c.ValueKind == JsonValueKind.Object
                && c.TryGetProperty("Labels", out var labels) && labels.ValueKind == JsonValueKind.Object)
            {
                foreach (var label in labels.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String))
                {
                    result[label.Name] = label.Value.GetString()!;
                }
            }
        }

        return (result, null);
    }

    /// <summary>
    /// The <c>annotations</c> of a stored manifest, for the referrers API: its string entries, or
    /// null when it has none or cannot be read. Stored manifests are read defensively: one written
    /// before manifests were checked must not fail the listing it appears in.
    /// </summary>
    public static IReadOnlyDictionary<string, string>? Annotations(ReadOnlyMemory<byte> manifest)
    {
        var (document, _) = StrictJson.Parse(manifest);
        using (document)
        {
            if (document is not { RootElement: { ValueKind: JsonValueKind.Object } root }
                || !root.TryGetProperty("annotations", out var annotations) || annotations.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            return annotations.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String)
                .ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal);
        }
    }
}
