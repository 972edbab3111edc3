using Wharf.Core.Security;

namespace Wharf.Server.Telemetry;

/// <summary>
/// What one request did, as the gates and the blob responses record it on the request's features:
/// who called, which repository it addressed, which registry operation it was, and the body bytes
/// that went out past Kestrel (sendfile) or came in as blob uploads. <see cref="AccessLog"/> sets
/// it before anything else runs and reads it when the response is done, for the access log line
/// and the metrics. Absent (null from <see cref="Of"/>) only where no access-log middleware runs.
/// </summary>
internal sealed class RequestRecord
{
    private long _zeroCopyBytes;

    public static RequestRecord? Of(HttpContext context) => context.Features.Get<RequestRecord>();

    /// <summary>The caller's name once a gate has authenticated it (<c>anonymous</c> without credentials); null while none has, or when the credentials were invalid.</summary>
    public string? User { get; private set; }

    /// <summary>The key of the repository the request addressed, once a gate has resolved it to an existing repository.</summary>
    public string? Repository { get; private set; }

    /// <summary>The registry operation, once a gate has found it (V1 and V2 routes only).</summary>
    public RegistryOperation? Operation { get; private set; }

    /// <summary>Whether the response body is a stored blob (<see cref="Http.BlobResponse"/>): its bytes count as downloaded.</summary>
    public bool BlobDownload { get; private set; }

    /// <summary>Response body bytes written on the socket past Kestrel (<see cref="Http.ZeroCopy"/>).</summary>
    public long ZeroCopyBytes => Interlocked.Read(ref _zeroCopyBytes);

    /// <summary>The request body of a blob upload, counting what the handler read; null on other requests.</summary>
    public CountingReadStream? UploadBody { get; private set; }

    public void Identify(Principal? caller)
    {
        if (caller is not null)
        {
            User = caller.DisplayName;
        }
    }

    public void Address(string repositoryKey) => Repository = repositoryKey;

    /// <summary>
    /// Records the operation; an upload's request body is wrapped from here on so that the bytes the
    /// handler reads are counted (the gate runs before the handler reads anything).
    /// </summary>
    public void Perform(HttpContext context, RegistryOperation? operation)
    {
        if (operation is null)
        {
            return;
        }

        Operation = operation;
        if (operation.Counts == RegistryCount.Upload && UploadBody is null)
        {
            UploadBody = new CountingReadStream(context.Request.Body);
            context.Request.Body = UploadBody;
        }
    }

    public void Downloading() => BlobDownload = true;

    public void SentPastKestrel(long bytes) => Interlocked.Add(ref _zeroCopyBytes, bytes);
}

/// <summary>What a registry operation adds to besides the operation counter.</summary>
internal enum RegistryCount
{
    None,

    /// <summary><c>wharf_docker_pulls_total</c> when it succeeds.</summary>
    Pull,

    /// <summary><c>wharf_docker_pushes_total</c> when it succeeds.</summary>
    Push,

    /// <summary>Its request body bytes count as uploaded, whatever the outcome.</summary>
    Upload,
}

/// <summary>
/// One registry operation: the protocol (<c>v1</c>, <c>v2</c>), a fixed name such as
/// <c>manifest_get</c>, the route relative to the catch-all route it arrives on (null when the
/// endpoint's own pattern says it), and what else it counts. The set of instances is fixed, so
/// metric labels taken from them stay few.
/// </summary>
internal sealed record RegistryOperation(string Protocol, string Name, string? Route, RegistryCount Counts);
