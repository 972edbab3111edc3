using System.Net;
using System.Text;
using System.Text.Json;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>The conformance checklist of docker-v1-protocol §14, at the root and under the canonical base (item 93).</summary>
public sealed class V1ConformanceTests(WharfServer server) : IClassFixture<WharfServer>
{
    public static TheoryData<string> Prefixes() => new() { "/v1", "/artifactory/api/docker/docker-local/v1", "/api/docker/docker-local/v1" };

    [Theory]
    [MemberData(nameof(Prefixes))]
    public async Task Ping_answers_true_without_and_with_wrong_credentials(string prefix)
    {
        foreach (var client in new[] { server.Client(), server.Client("admin", "wrong") })
        {
            using var response = await client.GetAsync(prefix + "/_ping");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
            Assert.Equal("true", await response.Content.ReadAsStringAsync());
            Assert.Equal("true", response.Headers.GetValues("X-Docker-Registry-Standalone").Single());
            Assert.NotEmpty(response.Headers.GetValues("X-Docker-Registry-Version").Single());
        }

        using var root = await server.Client().GetAsync("/_ping");
        Assert.Equal("true", await root.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("GET", "/v2/")]
    [InlineData("GET", "/v2")]
    [InlineData("GET", "/v2/acme/web/manifests/latest")]
    [InlineData("HEAD", "/v2/acme/web/blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("POST", "/v2/acme/web/blobs/uploads/")]
    [InlineData("GET", "/artifactory/api/docker/docker-local/v2/")]
    public async Task Everything_under_v2_is_a_plain_404(string method, string path)
    {
        // What docker 1.x reaches: the V1 repository's own port (rest-api §3.1), or its path-mode URL.
        using var client = path.StartsWith("/artifactory/", StringComparison.Ordinal)
            ? server.Admin()
            : server.ClientOnPort(await server.OwnPortAsync("docker-local"), "admin", WharfServer.AdminPassword);
        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.False(response.Headers.Contains("Docker-Distribution-API-Version"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("errors", body, StringComparison.Ordinal);
        Assert.DoesNotContain("details", body, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Prefixes))]
    public async Task Login_accepts_valid_basic_and_refuses_the_rest(string prefix)
    {
        Assert.Equal(HttpStatusCode.OK, (await server.Client("alice", WharfServer.AlicePassword).GetAsync(prefix + "/users/")).StatusCode);
        using var wrong = await server.Client("alice", "nope").GetAsync(prefix + "/users/");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.StartsWith("Basic realm=", wrong.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client().GetAsync(prefix + "/users/")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Anonymous("Basic", "Og==").GetAsync(prefix + "/users/")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await server.Client("mallory", WharfServer.AlicePassword).GetAsync(prefix + "/users/")).StatusCode);
        foreach (var body in new[] { "{\"username\":\"u\",\"password\":\"p\",\"email\":\"e@x\",\"auth\":\"\"}", "{\"username\":\"u\"}", "not json" })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client().PostAsync(prefix + "/users/", new StringContent(body))).StatusCode);
        }
    }

    [Theory]
    [MemberData(nameof(Prefixes))]
    public async Task Push_start_issues_exactly_one_token_and_echoes_the_host(string prefix)
    {
        using var admin = server.Admin();
        var request = IndexPut(prefix + "/repositories/conf/one/", "[]");
        request.Headers.Host = "registry.example.test:5000";
        using var response = await admin.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("\"\"", await response.Content.ReadAsStringAsync());
        var token = Assert.Single(response.Headers.GetValues("X-Docker-Token"));
        Assert.Contains("repository=\"conf/one\"", token, StringComparison.Ordinal);
        Assert.Contains("access=write", token, StringComparison.Ordinal);
        Assert.Equal("registry.example.test:5000", Assert.Single(response.Headers.GetValues("X-Docker-Endpoints")));

        // Without the trailing slash it behaves the same; push end is exactly 204 and issues no token.
        Assert.Equal(HttpStatusCode.OK, (await admin.SendAsync(IndexPut(prefix + "/repositories/conf/one", "[]"))).StatusCode);
        using var end = await admin.SendAsync(IndexPut(prefix + "/repositories/conf/one/images", "[]"));
        Assert.Equal(HttpStatusCode.NoContent, end.StatusCode);
        Assert.Empty(await end.Content.ReadAsByteArrayAsync());
        Assert.False(end.Headers.Contains("X-Docker-Token"));
    }

    [Fact]
    public async Task Push_start_issues_a_token_to_anonymous_callers_where_they_may_push_nothing_else()
    {
        // docker 1.6 needs the header even for anonymous pushes; here the anonymous push is refused first.
        using var anonymous = await Anonymous("Basic", "Og==").SendAsync(IndexPut("/v1/repositories/conf/anon/", "[]"));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Contains("error", await anonymous.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Image_states_follow_the_upload_state_machine()
    {
        using var admin = server.Admin();
        var image = TestImage.Chain(DockerVersion.V1_9, 1)[0];
        await admin.SendAsync(IndexPut("/v1/repositories/conf/states/", $"[{{\"id\":\"{image.Id}\"}}]"));
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/v1/images/{image.Id}/json")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PutAsync($"/v1/images/{image.Id}/layer", new ByteArrayContent(image.Layer))).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync($"/v1/images/{image.Id}/json", new ByteArrayContent(image.Json))).StatusCode);
        await AssertErrorAsync(await admin.GetAsync($"/v1/images/{image.Id}/json"), 400, "Image is being uploaded, retry later");
        await AssertErrorAsync(await admin.GetAsync($"/v1/images/{image.Id}/layer"), 400, "Image is being uploaded, retry later");

        using (var noHeader = await admin.PutAsync($"/v1/images/{image.Id}/checksum", null))
        {
            Assert.Equal(HttpStatusCode.PreconditionFailed, noHeader.StatusCode);
        }

        // Checksum before the layer, and a wrong checksum, both leave the image uploading.
        await AssertErrorAsync(await Checksum(admin, image.Id, image.PayloadChecksum), 400, "Checksum mismatch");
        var chunked = new StreamContent(new MemoryStream(image.Layer));
        var layerRequest = new HttpRequestMessage(HttpMethod.Put, $"/v1/images/{image.Id}/layer") { Content = chunked };
        layerRequest.Headers.TransferEncodingChunked = true;
        Assert.Equal(HttpStatusCode.OK, (await admin.SendAsync(layerRequest)).StatusCode);
        await AssertErrorAsync(await Checksum(admin, image.Id, "sha256:" + new string('0', 64)), 400, "Checksum mismatch");
        await AssertErrorAsync(await admin.GetAsync($"/v1/images/{image.Id}/json"), 400, "Image is being uploaded, retry later");

        Assert.Equal(HttpStatusCode.OK, (await Checksum(admin, image.Id, image.PayloadChecksum.ToUpperInvariant().Replace("SHA256:", "sha256:", StringComparison.Ordinal))).StatusCode);
        using var json = await admin.GetAsync($"/v1/images/{image.Id}/json");
        Assert.Equal(image.Json, await json.Content.ReadAsByteArrayAsync());
        Assert.Equal(image.Layer.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), json.Headers.GetValues("X-Docker-Size").Single());
        Assert.Equal(image.PayloadChecksum, json.Headers.GetValues("X-Docker-Checksum-Payload").Single());
        Assert.False(json.Headers.Contains("X-Docker-Checksum"));

        // COMPLETE is immutable.
        await AssertErrorAsync(await admin.PutAsync($"/v1/images/{image.Id}/json", new ByteArrayContent(image.Json)), 409, "Image already exists");
        await AssertErrorAsync(await admin.PutAsync($"/v1/images/{image.Id}/layer", new ByteArrayContent(image.Layer)), 409, "Image already exists");
        await AssertErrorAsync(await Checksum(admin, image.Id, image.PayloadChecksum), 409, "Cannot set this image checksum");
    }

    [Fact]
    public async Task Re_sending_json_while_uploading_resets_the_layer_state()
    {
        using var admin = server.Admin();
        var image = TestImage.Chain(DockerVersion.V1_6, 1)[0];
        await admin.PutAsync($"/v1/images/{image.Id}/json", new ByteArrayContent(image.Json));
        await admin.PutAsync($"/v1/images/{image.Id}/layer", new ByteArrayContent(image.Layer));
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync($"/v1/images/{image.Id}/json", new ByteArrayContent(image.Json))).StatusCode);
        await AssertErrorAsync(await Checksum(admin, image.Id, image.PayloadChecksum), 400, "Checksum mismatch");
        await admin.PutAsync($"/v1/images/{image.Id}/layer", new ByteArrayContent(image.Layer));
        Assert.Equal(HttpStatusCode.OK, (await Checksum(admin, image.Id, image.PayloadChecksum)).StatusCode);
    }

    [Fact]
    public async Task Minimal_json_with_a_known_parent_is_accepted_and_ancestry_follows_it()
    {
        using var admin = server.Admin();
        var chain = TestImage.Chain(DockerVersion.V1_12, 3);
        foreach (var image in chain)
        {
            await PushImageAsync(admin, image);
        }

        var ancestry = JsonSerializer.Deserialize<string[]>(await admin.GetStringAsync($"/v1/images/{chain[2].Id}/ancestry"))!;
        Assert.Equal([chain[2].Id, chain[1].Id, chain[0].Id], ancestry);
        Assert.Equal([chain[0].Id], JsonSerializer.Deserialize<string[]>(await admin.GetStringAsync($"/v1/images/{chain[0].Id}/ancestry"))!);
    }

    [Fact]
    public async Task Layer_ranges_resume_and_end_cleanly()
    {
        using var admin = server.Admin();
        var image = TestImage.Chain(DockerVersion.V1_9, 1, layerBytes: 1000)[0];
        await PushImageAsync(admin, image);
        var path = $"/v1/images/{image.Id}/layer";

        using var full = await admin.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, full.StatusCode);
        Assert.Equal("bytes", full.Headers.AcceptRanges.Single());
        Assert.Null(full.Content.Headers.ContentEncoding.FirstOrDefault());

        foreach (var range in new[] { "bytes=10-1000", "bytes=10-" })
        {
            using var partial = await Ranged(admin, path, range);
            Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
            Assert.Equal(990, partial.Content.Headers.ContentLength);
            Assert.Equal("bytes 10-999/1000", partial.Content.Headers.ContentRange!.ToString());
            Assert.Equal(image.Layer[10..], await partial.Content.ReadAsByteArrayAsync());
        }

        using var end = await Ranged(admin, path, "bytes=1000-1000");
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, end.StatusCode);
        Assert.Equal(0, end.Content.Headers.ContentLength);
        Assert.Equal("bytes */1000", end.Content.Headers.ContentRange!.ToString());
    }

    [Fact]
    public async Task Tags_put_get_list_and_validate()
    {
        using var admin = server.Admin();
        var image = TestImage.Chain(DockerVersion.V1_12, 1)[0];
        await PushImageAsync(admin, image);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/v1/repositories/conf/tagged/tags/1.0", Json($"\"{image.Id}\""))).StatusCode);
        Assert.Equal($"\"{image.Id}\"", await admin.GetStringAsync("/v1/repositories/conf/tagged/tags/1.0"));
        Assert.Equal(image.Id, JsonSerializer.Deserialize<Dictionary<string, string>>(await admin.GetStringAsync("/v1/repositories/conf/tagged/tags"))!["1.0"]);

        await AssertErrorAsync(await admin.PutAsync("/v1/repositories/conf/tagged/tags/1.1", Json("[1]")), 400, "Invalid data");
        await AssertErrorAsync(await admin.PutAsync("/v1/repositories/conf/tagged/tags/1.1", Json($"\"{new string('c', 64)}\"")), 404, "Image not found");
        await AssertErrorAsync(await admin.PutAsync("/v1/repositories/conf/tagged/tags/-bad", Json($"\"{image.Id}\"")), 400, @"Invalid tag name (must match ^[\w][\w.-]{0,127}$)");
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PutAsync($"/v1/repositories/conf/tagged/tags/{new string('t', 129)}", Json($"\"{image.Id}\""))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync($"/v1/repositories/conf/tagged/tags/{new string('t', 128)}", Json($"\"{image.Id}\""))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/v1/repositories/conf/tagged/tags/nosuch")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/v1/repositories/nosuch/repo/tags")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync("/v1/repositories/conf/tagged/tags/nosuch")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync("/v1/repositories/nosuch/repo/")).StatusCode);
    }

    [Fact]
    public async Task Search_pages_and_counts_every_match()
    {
        using var admin = server.Admin();
        foreach (var name in new[] { "srch/alpha", "srch/beta", "srch/gamma" })
        {
            await admin.SendAsync(IndexPut($"/v1/repositories/{name}/", "[]"));
        }

        var page = JsonDocument.Parse(await admin.GetStringAsync("/v1/search?q=srch/&n=1&page=2")).RootElement;
        Assert.Equal(3, page.GetProperty("num_results").GetInt32());
        Assert.Equal(3, page.GetProperty("num_pages").GetInt32());
        Assert.Equal(2, page.GetProperty("page").GetInt32());
        Assert.Equal(1, page.GetProperty("page_size").GetInt32());
        var result = Assert.Single(page.GetProperty("results").EnumerateArray().ToList());
        Assert.Equal("srch/beta", result.GetProperty("name").GetString());
        Assert.Equal("", result.GetProperty("description").GetString());
        Assert.Equal(0, result.GetProperty("star_count").GetInt32());
        Assert.False(result.GetProperty("is_official").GetBoolean());

        var all = JsonDocument.Parse(await admin.GetStringAsync("/v1/search")).RootElement;
        Assert.Equal("", all.GetProperty("query").GetString());
        Assert.True(all.GetProperty("num_results").GetInt32() >= 3);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client().GetAsync("/v1/search?q=srch")).StatusCode);
    }

    [Fact]
    public async Task Tokens_authorize_their_own_push_and_pull_only()
    {
        using var admin = server.Admin();
        var chain = TestImage.Chain(DockerVersion.V1_6, 2);
        var announce = JsonSerializer.Serialize(chain.Select(i => new { id = i.Id }));
        using var start = await admin.SendAsync(IndexPut("/v1/repositories/tok/web/", announce));
        var write = start.Headers.GetValues("X-Docker-Token").Single();

        // A write token pushes images named in the announcement and tags them; doubled prefixes parse.
        var tokenOnly = Anonymous("Token", write);
        await PushImageAsync(tokenOnly, chain[0]);
        await PushImageAsync(Anonymous("Token", "Token " + write), chain[1]);
        Assert.Equal(HttpStatusCode.OK, (await tokenOnly.PutAsync("/v1/repositories/tok/web/tags/1", Json($"\"{chain[1].Id}\""))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await tokenOnly.SendAsync(IndexPut("/v1/repositories/tok/web/images", "[]"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await tokenOnly.GetAsync($"/v1/images/{chain[0].Id}/json")).StatusCode);

        // It cannot start another push or a pull (no self-renewal), nor cover an id that is not hex.
        Assert.Equal(HttpStatusCode.Unauthorized, (await tokenOnly.SendAsync(IndexPut("/v1/repositories/tok/web/", "[]"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await tokenOnly.GetAsync("/v1/repositories/tok/web/images")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await tokenOnly.GetAsync("/v1/images/not-hex/json")).StatusCode);

        // Outside its repository, its images, or on DELETE it grants nothing.
        var stranger = TestImage.Chain(DockerVersion.V1_6, 1)[0];
        Assert.Equal(HttpStatusCode.Unauthorized, (await tokenOnly.PutAsync($"/v1/images/{stranger.Id}/json", new ByteArrayContent(stranger.Json))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await tokenOnly.GetAsync("/v1/repositories/other/repo/tags")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await tokenOnly.DeleteAsync("/v1/repositories/tok/web/tags/1")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Anonymous("Token", write + "x").GetAsync($"/v1/images/{chain[0].Id}/json")).StatusCode);

        // A read token from the pull start reads tags and every image of the tag's ancestry, but cannot push.
        var pullStart = new HttpRequestMessage(HttpMethod.Get, "/v1/repositories/tok/web/images");
        pullStart.Headers.Add("X-Docker-Token", "true");
        using var pull = await admin.SendAsync(pullStart);
        var read = pull.Headers.GetValues("X-Docker-Token").Single();
        Assert.Contains("access=read", read, StringComparison.Ordinal);
        var reader = Anonymous("Token", read);
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/v1/repositories/tok/web/tags/1")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync($"/v1/images/{chain[0].Id}/ancestry")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync($"/v1/images/{chain[1].Id}/layer")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await reader.PutAsync("/v1/repositories/tok/web/tags/2", Json($"\"{chain[1].Id}\""))).StatusCode);
    }

    [Fact]
    public async Task Empty_credentials_are_anonymous_and_wrong_ones_are_refused()
    {
        foreach (var (scheme, value) in new[] { ("Basic", "Og=="), ("Token", "") })
        {
            using var response = await Anonymous(scheme, value).GetAsync("/v1/repositories/conf/one/images");
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        using var registry = await server.Client().GetAsync($"/v1/images/{new string('a', 64)}/json");
        Assert.Equal(HttpStatusCode.Unauthorized, registry.StatusCode);
        Assert.Equal("Token", registry.Headers.WwwAuthenticate.ToString());
        using var index = await server.Client().SendAsync(IndexPut("/v1/repositories/conf/one/", "[]"));
        Assert.StartsWith("Basic realm=", index.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await server.Client("mallory", WharfServer.AlicePassword).GetAsync("/v1/users/")).StatusCode);
    }

    [Fact]
    public async Task Unknown_repositories_answer_404_to_readers_and_401_to_strangers()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await server.Admin().GetAsync("/v1/repositories/nosuch/repo/images")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client().GetAsync("/v1/repositories/nosuch/repo/images")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client().GetAsync("/artifactory/api/docker/docker-public/v1/repositories/nosuch/repo/images")).StatusCode);
    }

    [Fact]
    public async Task No_response_sets_cookies_or_the_v2_header()
    {
        using var admin = server.ClientOnPort(await server.OwnPortAsync("docker-local"), "admin", WharfServer.AdminPassword);
        foreach (var path in new[] { "/v1/_ping", "/v1/users/", "/v1/search", "/v2/", "/v1/repositories/nosuch/x/tags" })
        {
            using var response = await admin.GetAsync(path);
            Assert.False(response.Headers.Contains("Set-Cookie"), path);
            Assert.False(response.Headers.Contains("Docker-Distribution-API-Version"), path);
        }
    }

    internal static async Task PushImageAsync(HttpClient client, TestImage image)
    {
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsync($"/v1/images/{image.Id}/json", new ByteArrayContent(image.Json))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsync($"/v1/images/{image.Id}/layer", new ByteArrayContent(image.Layer))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Checksum(client, image.Id, image.PayloadChecksum)).StatusCode);
    }

    internal static Task<HttpResponseMessage> Checksum(HttpClient client, string id, string payload)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/images/{id}/checksum");
        request.Headers.Add("X-Docker-Checksum-Payload", payload);
        request.Headers.Add("X-Docker-Checksum", "tarsum+sha256:" + new string('0', 64));
        return client.SendAsync(request);
    }

    internal static async Task AssertErrorAsync(HttpResponseMessage response, int status, string message)
    {
        using (response)
        {
            Assert.Equal(status, (int)response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
            var body = JsonSerializer.Deserialize<Dictionary<string, string>>(await response.Content.ReadAsStringAsync())!;
            Assert.Equal(message, body["error"]);
        }
    }

    internal static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static HttpRequestMessage IndexPut(string path, string body)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, path) { Content = Json(body) };
        request.Headers.Add("X-Docker-Token", "true");
        return request;
    }

    private static Task<HttpResponseMessage> Ranged(HttpClient client, string path, string range)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("Range", range);
        return client.SendAsync(request);
    }

    private HttpClient Anonymous(string scheme, string value)
    {
        var client = server.Client();
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", (scheme + " " + value).TrimEnd());
        return client;
    }
}
