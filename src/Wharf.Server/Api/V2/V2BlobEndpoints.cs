using System.Globalization;
using Wharf.Core.Docker.V2;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Security;
using Wharf.Core.Storage;
using Wharf.Server.Http;

namespace Wharf.Server.Api.V2;

/// <summary>
/// Blobs and their uploads: pull, delete, monolithic and chunked pushes, mounts
/// (https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md, sections named on
/// each handler). Each handler runs behind <see cref="V2Gate"/>, which has authorized the
/// operation's action on the image; what it writes it checks path by path.
/// </summary>
internal static class V2BlobEndpoints
{
    /// <summary>GET/HEAD <c>&lt;name&gt;/blobs/&lt;digest&gt;</c>, with Range ("Pulling blobs").</summary>
    public static async Task<IResult> GetAsync(V2Call call, V2Blobs blobs, ContentStore content, CancellationToken cancellationToken)
    {
        if (!Digest.TryParse(call.Request.Reference, out var digest))
        {
            return V2Errors.Result(V2Errors.DigestMalformed);
        }

        var blob = await blobs.FindBlobAsync(call.Key, call.Image, digest, call.Caller.Items, cancellationToken);
        if (blob is null)
        {
            return call.Fail(V2Outcome.BlobUnknown);
        }

        var headers = call.Context.Response.Headers;
        headers["Docker-Content-Digest"] = digest.ToString();
        headers.ETag = $"\"{digest}\"";
        await BlobResponse.SendAsync(call.Context, content, blob.Sha256!, blob.Size, "application/octet-stream", cancellationToken);
        return Results.Empty;
    }

    /// <summary>DELETE <c>&lt;name&gt;/blobs/&lt;digest&gt;</c> ("Deleting Blobs"); a blob a manifest of the image names stays.</summary>
    public static async Task<IResult> DeleteAsync(V2Call call, V2Blobs blobs, CancellationToken cancellationToken)
    {
        if (!Digest.TryParse(call.Request.Reference, out var digest))
        {
            return V2Errors.Result(V2Errors.DigestMalformed);
        }

        var (outcome, usedBy) = await blobs.DeleteBlobAsync(call.Key, call.Image, digest, call.Caller.Items, cancellationToken);
        return outcome == V2Outcome.Ok
            ? V2Results.Deleted(call)
            : call.Fail(outcome, usedBy is null ? null : $"blob is used by {call.Request.ClientName}:{usedBy}; delete that manifest first");
    }

    /// <summary>
    /// POST <c>&lt;name&gt;/blobs/uploads/</c>: a mount ("Mounting a blob from another repository"),
    /// a monolithic push with <c>?digest=</c> ("Pushing a blob monolithically"), or the start of an
    /// upload ("Pushing a blob in chunks").
    /// </summary>
    public static async Task<IResult> StartUploadAsync(V2Call call, V2Blobs blobs, V2UploadSessions uploads, CancellationToken cancellationToken)
    {
        var request = call.Context.Request;
        var query = request.Query;
        if (query.TryGetValue("mount", out var mount))
        {
            // Mounted only when the caller may read the source; otherwise an ordinary upload starts (202).
            // Without "from" (automatic content discovery) the source is any image of the
            // repository that names the blob where the caller may read it, and, with a registry
            // token, that the token lets it pull.
            var from = V2Call.MountSource(call.Context);
            var fromImage = from is null ? null
                : call.Request.KeyInName && from.StartsWith(call.Key + "/", StringComparison.Ordinal) ? from[(call.Key.Length + 1)..] : from;
            var automatic = fromImage is null && !query.ContainsKey("from");
            if (Digest.TryParse(mount, out var mounted) && (automatic || (fromImage is not null && V2Name.IsValidName(fromImage) && call.TokenMayPull(call.Key, fromImage))))
            {
                if (await call.RequireAsync(V2Layout.UploadedBlob(call.Image, mounted)) is { } refused)
                {
                    return refused;
                }

                ItemAccess readable = automatic
                    ? async (path, actions) => V2TreeIndex.PlaceOf(path) is { } place && call.TokenMayPull(call.Key, place.Image) && await call.Caller.Items(path, actions)
                    : call.Caller.Items;

                // A blob the source does not hold (for this caller) is no error: an upload starts instead.
                var outcome = await blobs.MountAsync(call.Key, call.Image, fromImage, mounted, call.User, readable, cancellationToken);
                if (outcome != V2Outcome.BlobUnknown)
                {
                    return outcome == V2Outcome.Created ? V2Results.BlobCreated(call, mounted) : call.Fail(outcome);
                }
            }
        }
        else if (query.TryGetValue("digest", out var digestText))
        {
            if (!Digest.TryParse(digestText, out var digest))
            {
                return V2Errors.Result(V2Errors.DigestMalformed);
            }

            if (await call.RequireAsync(V2Layout.UploadedBlob(call.Image, digest)) is { } refused)
            {
                return refused;
            }

            var outcome = await blobs.PutBlobAsync(call.Key, call.Image, digest, request.Body, request.ContentLength, call.User, cancellationToken);
            return outcome == V2Outcome.Created ? V2Results.BlobCreated(call, digest) : call.Fail(outcome);
        }

        if (await call.RequireAsync(V2Layout.Uploads(call.Image)) is { } denied)
        {
            return denied;
        }

        return V2Results.UploadAccepted(call, await uploads.StartUploadAsync(call.Key, call.Image, cancellationToken));
    }

    /// <summary>GET <c>&lt;name&gt;/blobs/uploads/&lt;id&gt;</c>: how far an upload got ("Pushing a blob in chunks").</summary>
    public static async Task<IResult> UploadStatusAsync(V2Call call, V2UploadSessions uploads, CancellationToken cancellationToken)
    {
        var (upload, failure) = await FindUploadAsync(call, uploads, cancellationToken);
        return upload is null ? failure! : V2Results.UploadStatus(call, upload);
    }

    /// <summary>PATCH <c>&lt;name&gt;/blobs/uploads/&lt;id&gt;</c>: one chunk, at <c>Content-Range</c>'s start if given.</summary>
    public static async Task<IResult> PatchUploadAsync(V2Call call, V2UploadSessions uploads, CancellationToken cancellationToken)
    {
        var (upload, failure) = await FindUploadAsync(call, uploads, cancellationToken);
        if (upload is null)
        {
            return failure!;
        }

        var request = call.Context.Request;
        if (!TryChunkStart(request, out var start))
        {
            return V2Results.RangeInvalid(call, upload);
        }

        var (outcome, updated) = await uploads.AppendAsync(upload, start, request.Body, request.ContentLength, cancellationToken);
        return outcome switch
        {
            V2Outcome.Ok => V2Results.UploadAccepted(call, updated),
            V2Outcome.RangeInvalid => V2Results.RangeInvalid(call, updated),
            _ => call.Fail(outcome),
        };
    }

    /// <summary>PUT <c>&lt;name&gt;/blobs/uploads/&lt;id&gt;?digest=</c>: the last chunk (if any), then the blob is verified and named.</summary>
    public static async Task<IResult> CompleteUploadAsync(V2Call call, V2UploadSessions uploads, CancellationToken cancellationToken)
    {
        var (upload, failure) = await FindUploadAsync(call, uploads, cancellationToken);
        if (upload is null)
        {
            return failure!;
        }

        var request = call.Context.Request;
        if (!Digest.TryParse(request.Query["digest"], out var digest))
        {
            return V2Errors.Result(V2Errors.DigestParameterInvalid);
        }

        if (await call.RequireAsync(V2Layout.UploadedBlob(call.Image, digest)) is { } refused)
        {
            return refused;
        }

        // The final chunk is checked as PATCH checks one: before a byte of it is stored.
        if (!TryChunkStart(request, out var start))
        {
            return V2Results.RangeInvalid(call, upload);
        }

        var (outcome, current) = await uploads.CompleteWithBodyAsync(upload, start, request.Body, request.ContentLength, digest, call.User, cancellationToken);
        return outcome switch
        {
            V2Outcome.Created => V2Results.BlobCreated(call, digest),
            V2Outcome.RangeInvalid => V2Results.RangeInvalid(call, current),
            _ => call.Fail(outcome),
        };
    }

    /// <summary>DELETE <c>&lt;name&gt;/blobs/uploads/&lt;id&gt;</c>: the upload ends, its chunks go.</summary>
    public static async Task<IResult> CancelUploadAsync(V2Call call, V2UploadSessions uploads, CancellationToken cancellationToken)
    {
        var (upload, failure) = await FindUploadAsync(call, uploads, cancellationToken);
        if (upload is null)
        {
            return failure!;
        }

        await uploads.CancelUploadAsync(upload, cancellationToken);
        return V2Results.UploadCancelled();
    }

    /// <summary>The addressed upload session of the image, for a caller who may deploy to the image's uploads.</summary>
    private static async Task<(V2Upload? Upload, IResult? Failure)> FindUploadAsync(V2Call call, V2UploadSessions uploads, CancellationToken cancellationToken)
    {
        if (await call.RequireAsync(V2Layout.Uploads(call.Image)) is { } denied)
        {
            return (null, denied);
        }

        var upload = await uploads.FindUploadAsync(call.Key, call.Image, call.Request.Reference, cancellationToken);
        return upload is null ? (null, call.Fail(V2Outcome.UploadUnknown)) : (upload, null);
    }

    /// <summary>
    /// The start of a chunk's <c>Content-Range</c> (null without one); false when the header is
    /// malformed or names another length than the body's <c>Content-Length</c>.
    /// </summary>
    private static bool TryChunkStart(HttpRequest request, out long? start)
    {
        start = null;
        var range = request.Headers.ContentRange.ToString();
        if (range.Length == 0)
        {
            return true;
        }

        if (!TryParseContentRange(range, out var from, out var to) || (request.ContentLength is { } length && length != to - from + 1))
        {
            return false;
        }

        start = from;
        return true;
    }

    private static bool TryParseContentRange(string value, out long from, out long to)
    {
        from = to = 0;
        var text = value.StartsWith("bytes ", StringComparison.Ordinal) ? value[6..] : value;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            text = text[..slash];
        }

        var dash = text.IndexOf('-', StringComparison.Ordinal);
        return dash > 0
            && long.TryParse(text[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out from)
            && long.TryParse(text[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out to)
            && to >= from;
    }
}
