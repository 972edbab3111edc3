using System.Globalization;
using Wharf.Core.Docker.V1;
using Wharf.Core.Metadata;
using Wharf.Core.Storage;
using Wharf.Server.Hosting;
using Wharf.Server.Http;

namespace Wharf.Server.Api.V1;

/// <summary>
/// The image routes of the registry role (docker-v1-protocol §6.4). <see cref="V1Gate"/> has
/// checked the caller, the id and the route's files of the image folder (<see cref="Map"/>); reads
/// answer only for complete images (§9).
/// </summary>
internal static class V1ImageEndpoints
{
    /// <summary>The files a verified checksum publishes in the image folder.</summary>
    private static readonly string[] CompletedImageFiles = [V1Layout.JsonFile, V1Layout.LayerFile, V1Layout.AncestryFile, V1Layout.ChecksumFile];

    public static void Map(RouteGroupBuilder v1)
    {
        v1.MapGet(V1Routes.ImageJson, GetJsonAsync).WithV1Gate(new V1Requirement.Image(AccessActions.Read, [V1Layout.JsonFile]));
        v1.MapPut(V1Routes.ImageJson, PutJsonAsync).WithV1Gate(new V1Requirement.Image(AccessActions.Deploy, [V1Layout.JsonFile]));
        v1.MapPut(V1Routes.ImageLayer, PutLayerAsync).WithV1Gate(new V1Requirement.Image(AccessActions.Deploy, [V1Layout.LayerFile]));
        v1.MapGet(V1Routes.ImageLayer, GetLayerAsync).WithV1Gate(new V1Requirement.Image(AccessActions.Read, [V1Layout.LayerFile]));
        v1.MapPut(V1Routes.ImageChecksum, PutChecksumAsync).WithV1Gate(new V1Requirement.Image(AccessActions.Deploy, CompletedImageFiles));
        v1.MapGet(V1Routes.ImageAncestry, GetAncestryAsync).WithV1Gate(new V1Requirement.Image(AccessActions.Read, [V1Layout.AncestryFile]));
    }

    /// <summary>GET <c>images/&lt;id&gt;/json</c> (§6.4.1), with the layer's size and payload checksum.</summary>
    private static async Task<IResult> GetJsonAsync(HttpContext context, V1Images images, ContentStore content, CancellationToken cancellationToken)
    {
        var (image, failure) = await CompleteImageAsync(V1Call.Of(context), images, cancellationToken);
        if (image is null)
        {
            return failure!;
        }

        var json = await content.ReadAllBytesAsync(image.JsonSha256, cancellationToken)
            ?? throw new InvalidOperationException($"Blob {image.JsonSha256} is referenced but missing.");
        return V1Response.Raw(json,
        [
            new("X-Docker-Size", image.LayerSize.ToString(CultureInfo.InvariantCulture)),
            new("X-Docker-Checksum-Payload", image.PayloadChecksum),
        ]);
    }

    /// <summary>PUT <c>images/&lt;id&gt;/json</c> (§6.4.2), at most <see cref="V1Images.MaxImageJsonBytes"/>.</summary>
    private static async Task<IResult> PutJsonAsync(HttpContext context, V1Images images, CancellationToken cancellationToken)
    {
        var call = V1Call.Of(context);
        var (read, body) = await RequestBody.ReadAsync(context.Request, V1Images.MaxImageJsonBytes, cancellationToken);
        if (read != BodyReadOutcome.Ok)
        {
            return call.Error(read == BodyReadOutcome.TooLarge ? V1Errors.JsonTooLarge : V1Errors.BodyTruncated);
        }

        var outcome = await images.PutImageJsonAsync(call.Key, call.ImageId, body, cancellationToken);
        return outcome == V1Outcome.Ok ? V1Response.True : call.Error(V1Errors.For(outcome));
    }

    /// <summary>PUT <c>images/&lt;id&gt;/layer</c> (§6.4.3), streamed to the store while hashed.</summary>
    private static async Task<IResult> PutLayerAsync(HttpContext context, V1Images images, CancellationToken cancellationToken)
    {
        var call = V1Call.Of(context);
        var outcome = await images.PutLayerAsync(call.Key, call.ImageId, context.Request.Body, cancellationToken);
        return outcome == V1Outcome.Ok ? V1Response.True : call.Error(V1Errors.For(outcome));
    }

    /// <summary>PUT <c>images/&lt;id&gt;/checksum</c> (§6.4.4): the payload checksum is verified and the image completed.</summary>
    private static async Task<IResult> PutChecksumAsync(HttpContext context, V1Images images, ILogger<V1Gate> logger, CancellationToken cancellationToken)
    {
        var call = V1Call.Of(context);
        var headers = context.Request.Headers;
        if (!headers.TryGetValue("X-Docker-Checksum-Payload", out var payload))
        {
            return call.Error(V1Errors.ChecksumHeaderMissing);
        }

        if (string.IsNullOrWhiteSpace(payload.ToString()))
        {
            return call.Error(V1Errors.ChecksumEmpty);
        }

        var user = call.Principal.DisplayName;
        var outcome = await images.PutChecksumAsync(call.Key, call.ImageId, payload.ToString(), headers["X-Docker-Checksum"].ToString(), user, cancellationToken);
        if (outcome != V1Outcome.Ok)
        {
            return call.Error(V1Errors.For(outcome));
        }

        Log.V1ImagePushed(logger, call.ImageId, call.Key, user);
        return V1Response.True;
    }

    /// <summary>GET <c>images/&lt;id&gt;/layer</c> (§6.4.5), with Range.</summary>
    private static async Task<IResult> GetLayerAsync(HttpContext context, V1Images images, ContentStore content, CancellationToken cancellationToken)
    {
        var (image, failure) = await CompleteImageAsync(V1Call.Of(context), images, cancellationToken);
        if (image is null)
        {
            return failure!;
        }

        // Layers of a complete image never change (§9).
        context.Response.Headers.CacheControl = "public, max-age=31536000";
        await BlobResponse.SendAsync(context, content, image.LayerSha256, image.LayerSize, "application/octet-stream", cancellationToken);
        return Results.Empty;
    }

    /// <summary>GET <c>images/&lt;id&gt;/ancestry</c> (§6.4.6).</summary>
    private static async Task<IResult> GetAncestryAsync(HttpContext context, V1Images images, ContentStore content, CancellationToken cancellationToken)
    {
        var (image, failure) = await CompleteImageAsync(V1Call.Of(context), images, cancellationToken);
        if (image is null)
        {
            return failure!;
        }

        return V1Response.Raw(await content.ReadAllBytesAsync(image.AncestrySha256, cancellationToken)
            ?? throw new InvalidOperationException($"Blob {image.AncestrySha256} is referenced but missing."));
    }

    /// <summary>The image a read route addresses, or 404 or 400 unless it is complete (§9).</summary>
    private static async Task<(V1Image? Image, IResult? Failure)> CompleteImageAsync(V1Call call, V1Images images, CancellationToken cancellationToken)
    {
        var lookup = await images.GetImageAsync(call.Key, call.ImageId, cancellationToken);
        return lookup.Image is { } image ? (image, null) : (null, call.Error(V1Errors.For(lookup.Outcome)));
    }
}
