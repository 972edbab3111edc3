using Wharf.Core.Docker.V2;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;

namespace Wharf.Server.Api.V2;

/// <summary>
/// The V2 API's answers other than errors (<see cref="V2Errors"/>), with the headers the
/// distribution spec gives each and every URL from <see cref="UrlBuilder"/>.
/// </summary>
internal static class V2Results
{
    /// <summary>201: a blob stored by a monolithic push, a completed upload or a mount, with its <c>Location</c>.</summary>
    public static IResult BlobCreated(V2Call call, Digest digest)
    {
        var headers = call.Context.Response.Headers;
        headers.Location = UrlBuilder.Blob(call.Request, digest);
        headers["Docker-Content-Digest"] = digest.ToString();
        return Results.StatusCode(StatusCodes.Status201Created);
    }

    /// <summary>201: a manifest stored, with its <c>Location</c> by digest and its subject (<c>OCI-Subject</c>) if it names one.</summary>
    public static IResult ManifestCreated(V2Call call, Digest digest, Digest? subject)
    {
        var headers = call.Context.Response.Headers;
        headers.Location = UrlBuilder.Manifest(call.Request, digest);
        headers["Docker-Content-Digest"] = digest.ToString();
        if (subject is not null)
        {
            headers["OCI-Subject"] = subject.ToString();
        }

        return Results.StatusCode(StatusCodes.Status201Created);
    }

    /// <summary>202 with no body: a delete done.</summary>
    public static IResult Deleted(V2Call call)
    {
        call.Context.Response.ContentLength = 0;
        return Results.StatusCode(StatusCodes.Status202Accepted);
    }

    /// <summary>202: an upload started or a chunk stored, with the upload's state.</summary>
    public static IResult UploadAccepted(V2Call call, V2Upload upload)
    {
        SetUploadHeaders(call, upload);
        call.Context.Response.ContentLength = 0;
        return Results.StatusCode(StatusCodes.Status202Accepted);
    }

    /// <summary>204: an upload's state.</summary>
    public static IResult UploadStatus(V2Call call, V2Upload upload)
    {
        SetUploadHeaders(call, upload);
        return Results.StatusCode(StatusCodes.Status204NoContent);
    }

    /// <summary>204: an upload cancelled.</summary>
    public static IResult UploadCancelled() => Results.StatusCode(StatusCodes.Status204NoContent);

    /// <summary>416 <c>BLOB_UPLOAD_INVALID</c> with the upload's state, so that the client resumes where the upload ends.</summary>
    public static IResult RangeInvalid(V2Call call, V2Upload upload)
    {
        SetUploadHeaders(call, upload);
        return call.Fail(V2Outcome.RangeInvalid);
    }

    private static void SetUploadHeaders(V2Call call, V2Upload upload)
    {
        var headers = call.Context.Response.Headers;
        headers.Location = UrlBuilder.Upload(call.Request, upload.Id);
        headers["Docker-Upload-UUID"] = upload.Id;
        headers.Range = upload.Size == 0 ? "0-0" : $"0-{upload.Size - 1}";
    }
}
