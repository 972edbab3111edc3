using System.Net;
using System.Security.Cryptography;
using Wharf.Server.Tests.Support;
using static Wharf.Server.Tests.V1ConformanceTests;

namespace Wharf.Server.Tests;

/// <summary>
/// Range requests on every download route (V1 layers, <c>/artifactory/…</c> files, V2 blobs), per
/// RFC 9110 §14: a multi-range request with at least one satisfiable range is answered with the
/// whole body (200), 416 only when no range is satisfiable.
/// </summary>
public sealed class RangeRequestTests(WharfServer server) : IClassFixture<WharfServer>
{
    private const string V2Base = "/artifactory/api/docker/docker-v2-local/v2/";

    [Theory]
    [InlineData(1000)]
    [InlineData(2 << 20)] // whole answers of this size go out with sendfile
    public async Task A_satisfiable_multi_range_is_answered_with_the_whole_body_on_every_route(int size)
    {
        using var admin = server.Admin();
        var mark = server.Logs.Mark;
        foreach (var (route, content) in await RoutesAsync(admin, size))
        {
            foreach (var range in new[] { "bytes=0-0,1-1", "bytes=0-0, 5-9", $"bytes={size + 10}-{size + 20},0-0", "bytes=-1,0-", "bytes=0-0,0-0,0-0" })
            {
                using var response = await GetAsync(admin, route, range);
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"{route} {range}: {(int)response.StatusCode}");
                Assert.Null(response.Content.Headers.ContentRange);
                Assert.Equal(size, response.Content.Headers.ContentLength);
                Assert.Equal(content, await response.Content.ReadAsByteArrayAsync());

                // A whole answer of a megabyte or more still takes the sendfile path, which closes the connection after it.
                Assert.Equal(size >= 1 << 20, response.Headers.ConnectionClose == true);
            }

            // No satisfiable range at all: 416, as before.
            using (var none = await GetAsync(admin, route, $"bytes={size}-{size + 1},{size + 5}-"))
            {
                Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, none.StatusCode);
                Assert.Equal($"bytes */{size}", none.Content.Headers.ContentRange!.ToString());
            }

            // One range is still a partial answer.
            using var single = await GetAsync(admin, route, "bytes=1-2");
            Assert.Equal(HttpStatusCode.PartialContent, single.StatusCode);
            Assert.Equal(content[1..3], await single.Content.ReadAsByteArrayAsync());
        }

        server.Logs.AssertNoServerErrors(mark);
    }

    /// <summary>A V1 layer, the same file below <c>/artifactory/</c>, and a V2 blob, each holding <paramref name="size"/> random bytes.</summary>
    private static async Task<IReadOnlyList<(string Route, byte[] Content)>> RoutesAsync(HttpClient admin, int size)
    {
        var image = TestImage.Chain(DockerVersion.V1_12, 1, layerBytes: size)[0];
        await PushImageAsync(admin, image);
        var blob = RandomNumberGenerator.GetBytes(size);
        var digest = V2ApiTests.Digest(blob);
        using (var put = await admin.PostAsync($"{V2Base}ranges/blobs/uploads/?digest={digest}", new ByteArrayContent(blob)))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        return
        [
            ($"/v1/images/{image.Id}/layer", image.Layer),
            ($"/artifactory/docker-local/.images/{image.Id}/layer.tar", image.Layer),
            ($"{V2Base}ranges/blobs/{digest}", blob),
        ];
    }

    private static Task<HttpResponseMessage> GetAsync(HttpClient client, string path, string range)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("Range", range);
        return client.SendAsync(request);
    }
}
