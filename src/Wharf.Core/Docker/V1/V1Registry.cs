using System.Text.Json;
using Wharf.Core.Metadata;
using Wharf.Core.Storage;

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
}
