using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Wharf.Server.Tests.Support;
using static Wharf.Server.Tests.V1ConformanceTests;

namespace Wharf.Server.Tests;

/// <summary>
/// Copies and moves into registry folders follow the names a push would have to use: OCI image
/// names and tags in V2 repositories, V1 repository names and tags in V1 ones. Anything else is
/// 400 with nothing changed, so no copy leaves a tag no client can pull.
/// </summary>
public sealed class CopyMoveNamingTests(WharfServer server) : IClassFixture<WharfServer>
{
    private const string V2 = "docker-v2-local";
    private const string Base = "/artifactory/api/docker/" + V2 + "/v2/";

    [Theory]
    [InlineData("team/forge/Bad%20Tag!")]
    [InlineData("team/forge/-dash")]
    [InlineData("team/forge/_uploads")]
    [InlineData("team/forge/sha256:zz")]
    [InlineData("team/forge/" + "t12345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678")]
    [InlineData("team/Forge/1.0")]
    [InlineData("team/forge--/1.0")]
    [InlineData("Team")]
    [InlineData("")]
    public async Task V2_copies_and_moves_to_names_outside_the_push_grammar_are_400_and_change_nothing(string target)
    {
        using var admin = server.Admin();
        var mark = server.Logs.Mark;
        await PushV2TagAsync(admin, "team/forge", "1.0");
        var before = await TreeAsync(admin, V2);
        foreach (var verb in new[] { "copy", "move" })
        {
            foreach (var dry in new[] { "", "&dry=1" })
            {
                using var response = await admin.PostAsync($"/api/{verb}/{V2}/team/forge/1.0?to=/{V2}/{target}{dry}", null);
                var body = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{verb} to {target}{dry}: {(int)response.StatusCode} {body}");
                var message = JsonDocument.Parse(body).RootElement.GetProperty("errors")[0].GetProperty("message").GetString()!;
                Assert.Contains("push", message, StringComparison.Ordinal);
            }
        }

        Assert.Equal(before, await TreeAsync(admin, V2));
        Assert.Equal(["1.0"], JsonDocument.Parse(await admin.GetStringAsync($"{Base}team/forge/tags/list")).RootElement.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        server.Logs.AssertNoServerErrors(mark);
    }

    [Fact]
    public async Task V2_copies_and_moves_within_the_grammar_still_work()
    {
        using var admin = server.Admin();
        await PushV2TagAsync(admin, "team/ok", "1.0");
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/copy/{V2}/team/ok/1.0?to=/{V2}/team/ok/1.1", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/copy/{V2}/team/ok?to=/{V2}/team/ok-copy", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/move/{V2}/team/ok/1.1?to=/{V2}/team/ok/Release_2.0", null)).StatusCode);
        Assert.Equal(["1.0", "Release_2.0"], JsonDocument.Parse(await admin.GetStringAsync($"{Base}team/ok/tags/list")).RootElement.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"{Base}team/ok-copy/manifests/1.0")).StatusCode);
    }

    [Theory]
    [InlineData("repositories/acme/web/bad%20tag!")]
    [InlineData("repositories/acme/web/.hidden")]
    [InlineData("repositories/Acme/web/1.0")]
    [InlineData("repositories/acme/tags/1.0")]
    [InlineData("repositories/web/1.0")]
    public async Task V1_copies_and_moves_to_names_outside_the_push_grammar_are_400_and_change_nothing(string target)
    {
        using var admin = server.Admin();
        var mark = server.Logs.Mark;
        await PushV1TagAsync(admin, "acme/web", "1.0");
        var before = await TreeAsync(admin, "docker-local");
        foreach (var verb in new[] { "copy", "move" })
        {
            using var response = await admin.PostAsync($"/api/{verb}/docker-local/repositories/acme/web/1.0?to=/docker-local/{target}", null);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{verb} to {target}: {(int)response.StatusCode} {body}");
        }

        // A whole repository folder is checked the same way.
        using (var folder = await admin.PostAsync("/api/copy/docker-local/repositories/acme/web?to=/docker-local/repositories/acme/We%20b", null))
        {
            Assert.Equal(HttpStatusCode.BadRequest, folder.StatusCode);
        }

        Assert.Equal(before, await TreeAsync(admin, "docker-local"));
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/api/copy/docker-local/repositories/acme/web/1.0?to=/docker-local/repositories/acme/web/1.1", null)).StatusCode);
        Assert.Contains("\"1.1\"", await admin.GetStringAsync("/v1/repositories/acme/web/tags"), StringComparison.Ordinal);
        server.Logs.AssertNoServerErrors(mark);
    }

    private static async Task PushV2TagAsync(HttpClient admin, string image, string tag)
    {
        var config = "{}"u8.ToArray();
        using (var blob = await admin.PostAsync($"{Base}{image}/blobs/uploads/?digest={V2ApiTests.Digest(config)}", new ByteArrayContent(config)))
        {
            Assert.Equal(HttpStatusCode.Created, blob.StatusCode);
        }

        var manifest = Encoding.UTF8.GetBytes($"{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"{V2ApiTests.Digest(config)}\",\"size\":2}},\"layers\":[]}}");
        var content = new ByteArrayContent(manifest);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/vnd.oci.image.manifest.v1+json");
        using var put = await admin.PutAsync($"{Base}{image}/manifests/{tag}", content);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
    }

    private static async Task PushV1TagAsync(HttpClient admin, string name, string tag)
    {
        var image = TestImage.Chain(DockerVersion.V1_12, 1)[0];
        await PushImageAsync(admin, image);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync($"/v1/repositories/{name}/tags/{tag}", Json($"\"{image.Id}\""))).StatusCode);
    }

    private static async Task<string> TreeAsync(HttpClient admin, string repo) =>
        Listings.WithoutTimes(await admin.GetStringAsync($"/api/storage/{repo}?list&deep=1&listFolders=1"));
}
