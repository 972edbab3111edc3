using System.Net;
using System.Net.Sockets;
using System.Text;
using Wharf.Server.Tests.Support;
using static Wharf.Server.Tests.V1ConformanceTests;

namespace Wharf.Server.Tests;

/// <summary>
/// docker-v1-protocol bad input: each gets the spec's status and error body, and nothing stored
/// before is lost or changed; no request reaches outside the data directory.
/// </summary>
public sealed class V1BadInputTests(WharfServer server) : IClassFixture<WharfServer>
{
    [Theory]
    [InlineData("not-hex")]
    [InlineData("ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789")]
    [InlineData("0123456789abcdef")]
    [InlineData("..%2f..%2f..%2fetc%2fpasswd")]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0")]
    public async Task Ids_that_are_not_64_hex_are_invalid_everywhere(string id)
    {
        using var admin = server.Admin();
        var before = server.StoredFiles();
        foreach (var suffix in new[] { "json", "layer", "ancestry" })
        {
            await AssertErrorAsync(await admin.GetAsync($"/v1/images/{id}/{suffix}"), 404, "Invalid image ID");
        }

        await AssertErrorAsync(await admin.PutAsync($"/v1/images/{id}/json", Json("{\"id\":\"x\"}")), 404, "Invalid image ID");
        await AssertErrorAsync(await admin.PutAsync($"/v1/images/{id}/layer", new ByteArrayContent([1, 2, 3])), 404, "Invalid image ID");
        await AssertErrorAsync(await Checksum(admin, id, "sha256:" + new string('0', 64)), 404, "Invalid image ID");
        Assert.Equal(before, server.StoredFiles());
    }

    [Theory]
    [InlineData("Acme/web")]
    [InlineData("acme/Web")]
    [InlineData("acme//web")]
    [InlineData("acme/%2e%2e/%2e%2e/web")]
    [InlineData("acme/..%2fweb")]
    [InlineData("acme%2Fweb")]
    [InlineData("acme/web%00")]
    [InlineData("acme/we b")]
    [InlineData("acme/tags")]
    public async Task Names_outside_the_grammar_are_refused_with_400_or_never_reach_storage(string name)
    {
        using var admin = server.Admin();
        var before = server.StoredFiles();
        foreach (var (method, path) in new[] { ("PUT", $"/v1/repositories/{name}/"), ("GET", $"/v1/repositories/{name}/images"), ("PUT", $"/v1/repositories/{name}/tags/latest"), ("GET", $"/v1/repositories/{name}/tags") })
        {
            using var response = await admin.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "PUT" ? Json("[]") : null });
            // Kestrel resolves dot segments before routing, so a traversal can only ever name another
            // valid repository path; everything else is refused as an invalid name.
            Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{method} {path}: {(int)response.StatusCode}");
            // Kestrel itself refuses some targets (a NUL byte) with a bodiless 400 before Wharf sees them.
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.BadRequest && body.Length > 0)
            {
                Assert.Contains("Invalid repository name", body, StringComparison.Ordinal);
            }
        }

        Assert.Equal(before, server.StoredFiles());
        Assert.True(server.StoredFiles().All(f => f.StartsWith(server.DataDir, StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("/v1/images/%2e%2e/json")]
    [InlineData("/v1/images/..%2f..%2fwharf.db/json")]
    [InlineData("/v1/images/%2e%2e/%2e%2e/%2e%2e/etc/passwd")]
    public async Task Dot_segments_in_image_paths_never_leave_the_routes(string path)
    {
        var before = server.StoredFiles();
        using var response = await server.Admin().GetAsync(path);
        Assert.True(response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest, $"{(int)response.StatusCode}");
        Assert.DoesNotContain("root:", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(before, server.StoredFiles());
    }

    [Fact]
    public async Task Malformed_json_missing_or_mismatched_ids_and_unknown_parents_are_refused()
    {
        using var admin = server.Admin();
        var id = Id();
        await AssertErrorAsync(await admin.PutAsync($"/v1/images/{id}/json", Json("{\"id\":")), 400, "Invalid JSON");
        await AssertErrorAsync(await admin.PutAsync($"/v1/images/{id}/json", Json("[1,2]")), 400, "Invalid JSON");
        await AssertErrorAsync(await admin.PutAsync($"/v1/images/{id}/json", Json("{\"parent\":\"x\"}")), 400, "Missing key `id' in JSON");
        await AssertErrorAsync(await admin.PutAsync($"/v1/images/{id}/json", Json($"{{\"id\":\"{Id()}\"}}")), 400, "JSON data contains invalid id");
        await AssertErrorAsync(await admin.PutAsync($"/v1/images/{id}/json", Json($"{{\"id\":\"{id}\",\"parent\":\"{Id()}\"}}")), 400, "Image depends on a non existing parent");
        await AssertErrorAsync(await admin.PutAsync($"/v1/images/{id}/json", Json($"{{\"id\":\"{id}\",\"parent\":\"{id}\"}}")), 400, "Image depends on a non existing parent");
        await AssertErrorAsync(await admin.PutAsync($"/v1/images/{id}/json", Json($"{{\"id\":\"{id}\",\"parent\":\"../../x\"}}")), 400, "Image depends on a non existing parent");
        await AssertErrorAsync(await admin.GetAsync($"/v1/images/{id}/json"), 404, "Image not found");
    }

    [Theory]
    [InlineData("{\"id\":\"\\ud800\"}")]
    [InlineData("{\"id\":\"abc\",\"parent\":\"\\udfff\"}")]
    public async Task Strings_with_lone_surrogates_are_refused_not_crashed_on(string json)
    {
        using var admin = server.Admin();
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PutAsync($"/v1/images/{Id()}/json", Json(json))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PutAsync("/v1/repositories/bad/surrogate/", Json("[{\"id\":\"\\ud800\"}]"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PutAsync("/v1/repositories/bad/surrogate/tags/1", Json("\"\\ud800\""))).StatusCode);
    }

    [Fact]
    public async Task Bytes_that_are_not_utf8_are_refused_not_crashed_on()
    {
        using var admin = server.Admin();
        var id = Id();
        byte[] body = [.. Encoding.ASCII.GetBytes("{\"id\":\""), 0xC3, 0x28, 0xFF, .. Encoding.ASCII.GetBytes("\"}")];
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PutAsync($"/v1/images/{id}/json", new ByteArrayContent(body))).StatusCode);
        byte[] list = [.. Encoding.ASCII.GetBytes("[{\"id\":\""), 0xFF, 0xFE, .. Encoding.ASCII.GetBytes("\"}]")];
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PutAsync("/v1/repositories/bad/utf8/", new ByteArrayContent(list))).StatusCode);
    }

    [Theory]
    [InlineData("acme/tag.json")]
    [InlineData("acme/_index_images.json")]
    public async Task Names_that_collide_with_tree_files_are_refused(string name) =>
        await AssertErrorAsync(await server.Admin().PutAsync($"/v1/repositories/{name}/", Json("[]")), 400, "Invalid repository name");

    [Fact]
    public async Task Image_json_over_the_cap_is_refused_with_413()
    {
        using var admin = server.Admin();
        var id = Id();
        var huge = $"{{\"id\":\"{id}\",\"comment\":\"{new string('x', 1 << 20)}\"}}";
        using var response = await admin.PutAsync($"/v1/images/{id}/json", Json(huge));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        await AssertErrorAsync(await admin.GetAsync($"/v1/images/{id}/json"), 404, "Image not found");
    }

    [Fact]
    public async Task Index_bodies_that_are_not_arrays_of_ids_are_refused()
    {
        using var admin = server.Admin();
        await AssertErrorAsync(await admin.PutAsync("/v1/repositories/bad/index/", Json("not json")), 400, "Error Decoding JSON");
        await AssertErrorAsync(await admin.PutAsync("/v1/repositories/bad/index/", Json("{\"id\":\"x\"}")), 400, "Invalid data");
        await AssertErrorAsync(await admin.PutAsync("/v1/repositories/bad/index/", Json("[{\"id\":\"../x\"}]")), 400, "Invalid data");
        await AssertErrorAsync(await admin.GetAsync("/v1/repositories/bad/index/images"), 404, "images not found");
    }

    [Fact]
    public async Task A_wrong_payload_checksum_keeps_the_image_invisible_and_a_retry_succeeds()
    {
        using var admin = server.Admin();
        var image = TestImage.Chain(DockerVersion.V1_9, 1)[0];
        await admin.PutAsync($"/v1/images/{image.Id}/json", new ByteArrayContent(image.Json));
        await admin.PutAsync($"/v1/images/{image.Id}/layer", new ByteArrayContent(image.Layer));
        await AssertErrorAsync(await Checksum(admin, image.Id, "sha256:" + new string('f', 64)), 400, "Checksum mismatch");
        await AssertErrorAsync(await Checksum(admin, image.Id, "md5:abc"), 400, "Checksum mismatch");
        await AssertErrorAsync(await admin.GetAsync($"/v1/images/{image.Id}/json"), 400, "Image is being uploaded, retry later");
        await AssertErrorAsync(await admin.PutAsync("/v1/repositories/bad/tagging/tags/1", Json($"\"{image.Id}\"")), 404, "Image not found");

        // The whole push again, as docker would retry it, succeeds.
        await PushImageAsync(admin, image);
        Assert.Equal(image.Layer, await admin.GetByteArrayAsync($"/v1/images/{image.Id}/layer"));
    }

    [Fact]
    public async Task An_empty_checksum_header_is_refused()
    {
        using var admin = server.Admin();
        var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/images/{Id()}/checksum");
        request.Headers.TryAddWithoutValidation("X-Docker-Checksum-Payload", " ");
        await AssertErrorAsync(await admin.SendAsync(request), 400, "Missing Image's checksum");
    }

    [Fact]
    public async Task A_truncated_chunked_layer_leaves_the_upload_as_it_was()
    {
        using var admin = server.Admin();
        var image = TestImage.Chain(DockerVersion.V1_6, 1, layerBytes: 100_000)[0];
        await admin.PutAsync($"/v1/images/{image.Id}/json", new ByteArrayContent(image.Json));

        // Half a chunked body, then the connection closes without the terminating chunk.
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
            var stream = tcp.GetStream();
            var auth = WharfServer.Basic("admin", WharfServer.AdminPassword).Parameter;
            var head = $"PUT /v1/images/{image.Id}/layer HTTP/1.1\r\nHost: {server.BaseAddress.Authority}\r\nAuthorization: Basic {auth}\r\nTransfer-Encoding: chunked\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"{50_000:x}\r\n"));
            await stream.WriteAsync(image.Layer.AsMemory(0, 50_000));
            await stream.FlushAsync();
            tcp.Client.Shutdown(SocketShutdown.Send);
            var buffer = new byte[4096];
            try
            {
                while (await stream.ReadAsync(buffer) > 0)
                {
                }
            }
            catch (IOException)
            {
                // Kestrel may reset a connection whose request body it gave up on.
            }
        }

        // No layer was recorded: the checksum cannot match, no partial upload file remains.
        await AssertErrorAsync(await Checksum(admin, image.Id, image.PayloadChecksum), 400, "Checksum mismatch");
        await WaitForNoUploadsAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync($"/v1/images/{image.Id}/layer", new ByteArrayContent(image.Layer))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Checksum(admin, image.Id, image.PayloadChecksum)).StatusCode);
    }

    [Fact]
    public async Task Requests_on_a_complete_image_change_nothing()
    {
        using var admin = server.Admin();
        var image = TestImage.Chain(DockerVersion.V1_12, 1)[0];
        await PushImageAsync(admin, image);
        var before = server.StoredFiles();
        var other = Encoding.UTF8.GetBytes($"{{\"id\":\"{image.Id}\",\"comment\":\"replaced\"}}");
        await AssertErrorAsync(await admin.PutAsync($"/v1/images/{image.Id}/json", new ByteArrayContent(other)), 409, "Image already exists");
        await AssertErrorAsync(await admin.PutAsync($"/v1/images/{image.Id}/layer", new ByteArrayContent([9, 9, 9])), 409, "Image already exists");
        Assert.Equal(image.Json, await admin.GetByteArrayAsync($"/v1/images/{image.Id}/json"));
        Assert.Equal(image.Layer, await admin.GetByteArrayAsync($"/v1/images/{image.Id}/layer"));
        Assert.Equal(before, server.StoredFiles());
    }

    [Theory]
    [InlineData("Basic !!!notbase64")]
    [InlineData("Basic bm9jb2xvbg==")]
    [InlineData("Bearer")]
    [InlineData("Negotiate abc")]
    [InlineData("Token signature=forged.sig,repository=\"acme/web\",access=write")]
    public async Task Malformed_or_forged_credentials_get_401_never_500(string header)
    {
        foreach (var path in new[] { "/v1/users/", "/v1/repositories/acme/web/images", $"/v1/images/{Id()}/json", "/v1/search", "/api/storage/docker-local/", "/api/security/apiKey", "/api/security/users", "/artifactory/api/docker/docker-v2-local/v2/token" })
        {
            using var client = server.Client();
            client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", header);
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync(path)).StatusCode);
        }
    }

    [Fact]
    public async Task Huge_or_repeated_authorization_headers_get_401()
    {
        using var huge = server.Client();
        huge.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Basic " + new string('A', 9000));
        Assert.Equal(HttpStatusCode.Unauthorized, (await huge.GetAsync("/v1/users/")).StatusCode);

        var twice = new HttpRequestMessage(HttpMethod.Get, "/v1/users/");
        twice.Headers.TryAddWithoutValidation("Authorization", new[] { WharfServer.Basic("admin", WharfServer.AdminPassword).ToString(), "Basic Og==" });
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client().SendAsync(twice)).StatusCode);
    }

    [Fact]
    public async Task Wrong_credentials_are_answered_before_anything_about_the_repository()
    {
        using var wrong = server.Client("admin", "wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync("/artifactory/api/docker/nosuch/v1/repositories/a/b/tags")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync("/v1/repositories/Bad/Name/tags")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync("/artifactory/api/docker/nosuch/v1/search")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync($"/artifactory/api/docker/nosuch/v1/images/{Id()}/json")).StatusCode);
    }

    [Fact]
    public async Task Unknown_repository_keys_in_path_mode_answer_404()
    {
        await AssertErrorAsync(await server.Admin().GetAsync("/artifactory/api/docker/nosuch/v1/repositories/a/b/tags"), 404, "Repository not found");
        using var v2 = await server.Admin().GetAsync("/artifactory/api/docker/docker-v2-local/v1/repositories/a/b/tags");
        Assert.Equal(HttpStatusCode.NotFound, v2.StatusCode);
        Assert.Empty(await v2.Content.ReadAsByteArrayAsync());
    }

    private async Task WaitForNoUploadsAsync()
    {
        var uploads = Path.Combine(server.DataDir, "storage", "uploads");
        for (var i = 0; i < 50 && Directory.Exists(uploads) && Directory.EnumerateFiles(uploads).Any(); i++)
        {
            await Task.Delay(100);
        }

        Assert.True(!Directory.Exists(uploads) || !Directory.EnumerateFiles(uploads).Any(), "a partial upload file was left behind");
    }

    private static string Id() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
}
