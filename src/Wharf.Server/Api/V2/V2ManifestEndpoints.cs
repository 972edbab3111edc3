using Wharf.Core.Docker.V2;
using Wharf.Core.Naming;
using Wharf.Server.Http;

namespace Wharf.Server.Api.V2;

/// <summary>
/// Manifests by tag or digest: pull, push, delete
/// (https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md, sections named on
/// each handler). The registry checks each path a push writes, and delete permission where it
/// replaces a tag with other content (rest-api §3.2).
/// </summary>
internal static class V2ManifestEndpoints
{
    /// <summary>GET/HEAD <c>&lt;name&gt;/manifests/&lt;reference&gt;</c> ("Pulling manifests").</summary>
    public static async Task<IResult> GetAsync(V2Call call, V2Manifests manifests, CancellationToken cancellationToken)
    {
        // A reference outside the grammar names nothing stored: not found, as the spec answers a
        // pull of any manifest the repository lacks.
        var reference = call.Request.Reference;
        if (!V2Name.IsValidTag(reference) && !Digest.TryParse(reference, out _))
        {
            return call.Fail(V2Outcome.ManifestUnknown);
        }

        var manifest = await manifests.GetManifestAsync(call.Key, call.Image, reference, call.Caller.Items, cancellationToken);
        if (manifest is null)
        {
            return call.Fail(V2Outcome.ManifestUnknown);
        }

        var response = call.Context.Response;
        response.Headers["Docker-Content-Digest"] = manifest.Digest.ToString();
        response.Headers.ETag = $"\"{manifest.Digest}\"";
        response.ContentType = manifest.MediaType;
        response.ContentLength = manifest.Size;
        if (HttpMethods.IsHead(call.Context.Request.Method))
        {
            return Results.Empty;
        }

        var bytes = await manifests.ReadManifestAsync(manifest, cancellationToken) ?? throw new InvalidOperationException($"Manifest blob {manifest.Sha256Hex} is referenced but missing.");
        await response.Body.WriteAsync(bytes, cancellationToken);
        return Results.Empty;
    }

    /// <summary>PUT <c>&lt;name&gt;/manifests/&lt;reference&gt;</c>, at most <see cref="Manifests.MaxBytes"/> ("Pushing Manifests").</summary>
    public static async Task<IResult> PutAsync(V2Call call, V2Manifests manifests, CancellationToken cancellationToken)
    {
        var reference = call.Request.Reference;
        if (!Digest.TryParse(reference, out _) && !V2Name.IsValidTag(reference))
        {
            return V2Errors.Result(V2Errors.ManifestReferenceInvalid);
        }

        var request = call.Context.Request;
        var (read, bytes) = await RequestBody.ReadAsync(request, Manifests.MaxBytes, cancellationToken);
        if (read != BodyReadOutcome.Ok)
        {
            return V2Errors.Result(read == BodyReadOutcome.TooLarge ? V2Errors.ManifestTooLarge : V2Errors.ManifestBodyIncomplete);
        }

        var (outcome, digest, subject, reason) = await manifests.PutManifestAsync(
            call.Request.Repository, call.Image, reference, bytes, request.ContentType, call.User, call.Caller.Items, cancellationToken);
        return outcome == V2Outcome.Created ? V2Results.ManifestCreated(call, digest!, subject) : call.Fail(outcome, reason);
    }

    /// <summary>DELETE <c>&lt;name&gt;/manifests/&lt;reference&gt;</c> ("Deleting tags", "Deleting Manifests").</summary>
    public static async Task<IResult> DeleteAsync(V2Call call, V2Manifests manifests, CancellationToken cancellationToken)
    {
        var outcome = await manifests.DeleteManifestAsync(call.Key, call.Image, call.Request.Reference, call.Caller.Items, cancellationToken);
        return outcome == V2Outcome.Ok ? V2Results.Deleted(call) : call.Fail(outcome);
    }
}
