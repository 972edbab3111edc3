using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>The V1 tree (rest-api §8.1, §8.3) through the storage API (§4.1–§4.3) and downloads (§4.5).</summary>
public sealed class StorageApiTests(WharfServer server) : IClassFixture<WharfServer>
{
    [Theory]
    [InlineData("/api")]
    [InlineData("/artifactory/api")]
    public async Task A_push_appears_as_the_artifactory_v1_layout_with_docker_properties(string api)
    {
        var chain = await PushAsync("tree/web", "1.0");
        var top = chain[^1];
        using var admin = server.Admin();

        var list = JsonDocument.Parse(await admin.GetStringAsync($"{api}/storage/docker-local/?list&deep=1")).RootElement;
        var uris = list.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("uri").GetString()).ToHashSet();
        foreach (var file in new[] { "json.json", "layer.tar", "ancestry.json", "_checksum.json" })
        {
            Assert.Contains($"/.images/{top.Id}/{file}", uris);
        }

        Assert.Contains("/repositories/tree/web/_index_images.json", uris);
        Assert.Contains("/repositories/tree/web/1.0/tag.json", uris);

        var layer = JsonDocument.Parse(await admin.GetStringAsync($"{api}/storage/docker-local/.images/{top.Id}/layer.tar")).RootElement;
        Assert.Equal(top.Layer.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), layer.GetProperty("size").GetString());
        Assert.Equal($"/.images/{top.Id}/layer.tar", layer.GetProperty("path").GetString());
        Assert.Equal("docker-local", layer.GetProperty("repo").GetString());
        Assert.Equal("alice", layer.GetProperty("createdBy").GetString());
        var checksums = layer.GetProperty("checksums");
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(top.Layer)), checksums.GetProperty("sha256").GetString());
        Assert.Equal(Convert.ToHexStringLower(SHA1.HashData(top.Layer)), checksums.GetProperty("sha1").GetString());
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(top.Layer)), checksums.GetProperty("md5").GetString());
        Assert.EndsWith($"/artifactory/docker-local/.images/{top.Id}/layer.tar", layer.GetProperty("downloadUri").GetString(), StringComparison.Ordinal);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", layer.GetProperty("created").GetString()!);

        Assert.Equal([top.Id], Properties(await admin.GetStringAsync($"{api}/storage/docker-local/.images/{top.Id}?properties"), "docker.imageId"));
        Assert.Equal([top.Layer.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)], Properties(await admin.GetStringAsync($"{api}/storage/docker-local/.images/{top.Id}/layer.tar?properties"), "docker.size"));
        var tag = await admin.GetStringAsync($"{api}/storage/docker-local/repositories/tree/web/1.0/tag.json?properties");
        Assert.Equal(["1.0"], Properties(tag, "docker.tag.name"));
        Assert.Equal([top.Id], Properties(tag, "docker.tag.content"));
        Assert.Equal(["tree/web"], Properties(await admin.GetStringAsync($"{api}/storage/docker-local/repositories/tree/web/_index_images.json?properties=docker.repoName"), "docker.repoName"));
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"{api}/storage/docker-local/repositories/tree/web/1.0/tag.json?properties=nosuch")).StatusCode);

        var folder = JsonDocument.Parse(await admin.GetStringAsync($"{api}/storage/docker-local/repositories/tree/web")).RootElement;
        var children = folder.GetProperty("children").EnumerateArray().Select(c => (c.GetProperty("uri").GetString(), c.GetProperty("folder").GetBoolean())).ToList();
        Assert.Contains(("/1.0", true), children);
        Assert.Contains(("/_index_images.json", false), children);
    }

    [Fact]
    public async Task Downloads_stream_the_same_bytes_with_ranges_and_checksum_headers()
    {
        var top = (await PushAsync("tree/download", "1"))[^1];
        using var admin = server.Admin();
        using var full = await admin.GetAsync($"/artifactory/docker-local/.images/{top.Id}/layer.tar");
        Assert.Equal(top.Layer, await full.Content.ReadAsByteArrayAsync());
        Assert.Equal(Convert.ToHexStringLower(SHA1.HashData(top.Layer)), full.Headers.GetValues("X-Checksum-Sha1").Single());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(top.Layer)), full.Headers.GetValues("X-Checksum-Sha256").Single());
        Assert.NotNull(full.Headers.ETag);

        var ranged = new HttpRequestMessage(HttpMethod.Get, $"/artifactory/docker-local/.images/{top.Id}/layer.tar");
        ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(100, 199);
        using var part = await admin.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(top.Layer[100..200], await part.Content.ReadAsByteArrayAsync());

        using var head = await admin.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/artifactory/docker-local/.images/{top.Id}/json.json"));
        Assert.Equal(top.Json.Length, head.Content.Headers.ContentLength);

        var listing = await admin.GetStringAsync("/artifactory/docker-local/repositories/tree/download/");
        Assert.Contains("_index_images.json", listing, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/api/storage/docker-local/../../etc/passwd")]
    [InlineData("/api/storage/docker-local/%2e%2e/%2e%2e/wharf.db")]
    [InlineData("/api/storage/docker-local/a%5C..%5Cb")]
    [InlineData("/artifactory/docker-local/..%2f..%2fwharf.db")]
    [InlineData("/artifactory/docker-local/.images/%2e%2e/%2e%2e/storage")]
    public async Task Path_tricks_never_leave_the_repository(string path)
    {
        using var response = await server.Admin().GetAsync(path);
        Assert.True(response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest, $"{(int)response.StatusCode}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("SQLite", body, StringComparison.Ordinal);
        Assert.DoesNotContain("root:", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Errors_use_the_rest_envelope_and_credentials_are_checked()
    {
        using var admin = server.Admin();
        using var missing = await admin.GetAsync("/api/storage/docker-local/no/such/file");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        var error = JsonDocument.Parse(await missing.Content.ReadAsStringAsync()).RootElement.GetProperty("errors")[0];
        Assert.Equal(404, error.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));

        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/storage/nosuch/x")).StatusCode);
        using var anonymous = await server.Client().GetAsync("/api/storage/docker-local/");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("Basic realm=\"Artifactory Realm\"", anonymous.Headers.WwwAuthenticate.ToString());
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client("admin", "wrong").GetAsync("/api/storage/docker-local/")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client().GetAsync("/api/storage/docker-public/")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client().GetAsync("/api/storage/docker-public/?list")).StatusCode);
        var someFile = JsonDocument.Parse(await admin.GetStringAsync("/api/storage/docker-local/?list&deep=1")).RootElement.GetProperty("files")[0].GetProperty("uri").GetString();
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetAsync($"/api/storage/docker-local{someFile}?list")).StatusCode);
    }

    [Fact]
    public async Task Base_url_overrides_shape_every_uri()
    {
        await PushAsync("tree/urls", "1");
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/storage/docker-local/repositories/tree/urls/_index_images.json");
        request.Headers.Add("X-JFrog-Override-Base-Url", "https://repo.example.com/artifactory");
        using var response = await server.Admin().SendAsync(request);
        var info = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("https://repo.example.com/artifactory/api/storage/docker-local/repositories/tree/urls/_index_images.json", info.GetProperty("uri").GetString());
        Assert.Equal("https://repo.example.com/artifactory/docker-local/repositories/tree/urls/_index_images.json", info.GetProperty("downloadUri").GetString());
    }

    private async Task<IReadOnlyList<TestImage>> PushAsync(string name, string tag)
    {
        using var docker = new DockerV1Client(server.BaseAddress, "/v1/", DockerVersion.V1_12, AuthStyle.BasicEverywhere, "alice", WharfServer.AlicePassword);
        var chain = TestImage.Chain(DockerVersion.V1_12, 2, layerBytes: 5000);
        await docker.PushAsync(name, tag, chain);
        return chain;
    }

    private static string[] Properties(string json, string key) =>
        [.. JsonDocument.Parse(json).RootElement.GetProperty("properties").GetProperty(key).EnumerateArray().Select(v => v.GetString()!)];
}
