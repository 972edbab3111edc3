using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>Upload sessions refuse chunks whose headers disagree, on the completing PUT as on PATCH.</summary>
public sealed class V2UploadInputTests(WharfServer server) : IClassFixture<WharfServer>
{
    private const string Base = "/artifactory/api/docker/docker-v2-local/v2/";

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    public async Task A_final_chunk_whose_Content_Range_disagrees_with_Content_Length_is_416_and_changes_nothing(int alreadyUploaded)
    {
        using var admin = server.Admin();
        var mark = server.Logs.Mark;
        var image = $"up/range{alreadyUploaded}";
        var blob = RandomNumberGenerator.GetBytes(alreadyUploaded + 50);
        using var start = await admin.PostAsync($"{Base}{image}/blobs/uploads/", null);
        var location = start.Headers.Location!.ToString();
        if (alreadyUploaded > 0)
        {
            using var patch = await SendChunkAsync(admin, HttpMethod.Patch, location, blob[..alreadyUploaded], $"0-{alreadyUploaded - 1}");
            Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
            location = patch.Headers.Location!.ToString();
        }

        var expectedRange = alreadyUploaded == 0 ? "0-0" : $"0-{alreadyUploaded - 1}";
        var rest = blob[alreadyUploaded..];
        var digest = V2ApiTests.Digest(blob);
        var separator = location.Contains('?', StringComparison.Ordinal) ? "&" : "?";
        var before = server.StoredFiles();

        // Each range starts where the upload ends; only the length disagrees with the body.
        foreach (var range in new[] { $"{alreadyUploaded}-{alreadyUploaded + 9}", $"{alreadyUploaded}-{alreadyUploaded + 99}", $"bytes {alreadyUploaded}-{alreadyUploaded + 48}/*" })
        {
            using var put = await SendChunkAsync(admin, HttpMethod.Put, $"{location}{separator}digest={digest}", rest, range);
            var body = await put.Content.ReadAsStringAsync();
            Assert.True(put.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable, $"{range}: {(int)put.StatusCode} {body}");
            Assert.Equal("BLOB_UPLOAD_INVALID", JsonDocument.Parse(body).RootElement.GetProperty("errors")[0].GetProperty("code").GetString());
            Assert.Equal(expectedRange, put.Headers.GetValues("Range").Single());

            using var status = await admin.GetAsync(location);
            Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
            Assert.Equal(expectedRange, status.Headers.GetValues("Range").Single());
            Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"{Base}{image}/blobs/{digest}")).StatusCode);
            Assert.Equal(before, server.StoredFiles());
        }

        // The session still completes with a consistent final chunk.
        using (var done = await SendChunkAsync(admin, HttpMethod.Put, $"{location}{separator}digest={digest}", rest, $"{alreadyUploaded}-{blob.Length - 1}"))
        {
            Assert.Equal(HttpStatusCode.Created, done.StatusCode);
        }

        Assert.Equal(blob, await admin.GetByteArrayAsync($"{Base}{image}/blobs/{digest}"));
        server.Logs.AssertNoServerErrors(mark);
    }

    private static Task<HttpResponseMessage> SendChunkAsync(HttpClient client, HttpMethod method, string location, byte[] chunk, string range)
    {
        var content = new ByteArrayContent(chunk);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
        content.Headers.TryAddWithoutValidation("Content-Range", range);
        return client.SendAsync(new HttpRequestMessage(method, location) { Content = content });
    }
}
