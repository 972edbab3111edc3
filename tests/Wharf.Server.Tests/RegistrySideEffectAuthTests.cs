using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Wharf.Server.Tests.Support;
using static Wharf.Server.Tests.Support.RegistryHttp;

namespace Wharf.Server.Tests;

/// <summary>
/// What a registry write does besides its own files (maxUniqueTags, dockerTagRetention, a new V1
/// repository's index, promotion into existing folders) needs the same rights as doing it by
/// hand, and refusals and token scopes reveal or cover nothing beyond what the caller may read.
/// </summary>
public sealed class RegistrySideEffectAuthTests(RegistrySideEffectAuthTests.Fixture fixture) : IClassFixture<RegistrySideEffectAuthTests.Fixture>
{
    [Fact]
    public async Task A_push_beyond_maxUniqueTags_needs_delete_on_the_tags_it_drops()
    {
        using var admin = fixture.Server.Admin();
        await V2Push.PushImageAsync(admin, "cap-v2", "img", "a");
        await V2Push.PushImageAsync(admin, "cap-v2", "img", "b");
        using var narrow = fixture.Client("narrow");

        // V2: img:mine would drop img:a, which narrow may not delete.
        var config = "{\"architecture\":\"amd64\",\"os\":\"linux\"}"u8.ToArray();
        var layer = "mine"u8.ToArray();
        await V2Push.PushBlobAsync(narrow, "cap-v2", "img", config);
        await V2Push.PushBlobAsync(narrow, "cap-v2", "img", layer);
        await AssertV2ErrorAsync(await V2Push.PutManifestAsync(narrow, "cap-v2", "img", "mine", V2Push.ImageManifest(config, [layer])), HttpStatusCode.Forbidden, "DENIED");
        Assert.Equal(["a", "b"], await TagsAsync(admin, "cap-v2", "img"));

        // V1: acme/web:mine would drop acme/web:1.0.
        Assert.Equal(HttpStatusCode.Forbidden, (await narrow.PutAsync("/api/docker/cap-v1/v1/repositories/acme/web/tags/mine", Json($"\"{fixture.V1Image}\""))).StatusCode);
        var tags = JsonDocument.Parse(await admin.GetStringAsync("/api/docker/cap-v1/v1/repositories/acme/web/tags")).RootElement;
        Assert.Equal(["1.0"], tags.EnumerateObject().Select(p => p.Name));

        // Someone who may delete them pushes as before, and the oldest tags go.
        await V2Push.PushImageAsync(admin, "cap-v2", "img", "c");
        Assert.Equal(["b", "c"], await TagsAsync(admin, "cap-v2", "img"));
    }

    [Fact]
    public async Task Retention_keeps_revisions_only_where_the_pusher_may_write_them()
    {
        using var admin = fixture.Server.Admin();
        using var narrow = fixture.Client("narrow");
        var first = await V2Push.PushImageAsync(narrow, "ret-v2", "img", "mine");

        // The replaced manifest would be kept in img/sha256:<old>/, where narrow may not deploy.
        var config = "{\"architecture\":\"arm64\",\"os\":\"linux\"}"u8.ToArray();
        await V2Push.PushBlobAsync(narrow, "ret-v2", "img", config);
        await V2Push.PushBlobAsync(narrow, "ret-v2", "img", first.Layer);
        await AssertV2ErrorAsync(await V2Push.PutManifestAsync(narrow, "ret-v2", "img", "mine", V2Push.ImageManifest(config, [first.Layer])), HttpStatusCode.Forbidden, "DENIED");
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/api/storage/ret-v2/img/{first.Digest}")).StatusCode);
        using (var still = await admin.GetAsync($"{V2Push.Base("ret-v2")}img/manifests/mine"))
        {
            Assert.Equal(first.Manifest, await still.Content.ReadAsByteArrayAsync());
        }

        // An administrator's re-push keeps the revision.
        using (var put = await V2Push.PutManifestAsync(admin, "ret-v2", "img", "mine", V2Push.ImageManifest(config, [first.Layer])))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/storage/ret-v2/img/{first.Digest}/manifest.json")).StatusCode);
    }

    [Fact]
    public async Task A_manifest_pushed_again_by_digest_keeps_its_folder_as_it_is()
    {
        using var admin = fixture.Server.Admin();
        var image = await V2Push.PushImageAsync(admin, "ret-v2", "bydigest", "t");
        using (var put = await V2Push.PutManifestAsync(admin, "ret-v2", "bydigest", image.Digest, image.Manifest))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        var path = $"/api/storage/ret-v2/bydigest/{image.Digest}/manifest.json";
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync($"{path}?properties=qa=passed", null)).StatusCode);

        // A deployer without delete or annotate pushes the same digest again: nothing it may not change changes.
        using var narrow = fixture.Client("digest-pusher");
        using (var again = await V2Push.PutManifestAsync(narrow, "ret-v2", "bydigest", image.Digest, image.Manifest))
        {
            Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        }

        var properties = JsonDocument.Parse(await admin.GetStringAsync($"{path}?properties")).RootElement.GetProperty("properties");
        Assert.Equal("passed", properties.GetProperty("qa")[0].GetString());
    }

    [Fact]
    public async Task A_tag_of_a_new_V1_repository_needs_deploy_on_its_index()
    {
        using var tagger = fixture.Client("tagger");
        Assert.Equal(HttpStatusCode.Forbidden, (await tagger.PutAsync("/api/docker/cap-v1/v1/repositories/evil/new/tags/1.0", Json($"\"{fixture.V1Image}\""))).StatusCode);
        using var admin = fixture.Server.Admin();
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/storage/cap-v1/repositories/evil")).StatusCode);
    }

    [Fact]
    public async Task Promoting_a_tag_the_caller_may_not_read_is_not_found_like_a_missing_one()
    {
        using var excluder = fixture.Client("excluder");
        foreach (var tag in new[] { "hidden", "no-such-tag" })
        {
            using var v2 = await excluder.PostAsync("/api/docker/ret-v2/v2/promote", Json($$"""{"targetRepo":"ret-v2","dockerRepository":"team/app","targetDockerRepository":"team/copy","tag":"{{tag}}","copy":true}"""));
            Assert.True(v2.StatusCode == HttpStatusCode.NotFound, $"{tag}: {v2.StatusCode} {await v2.Content.ReadAsStringAsync()}");
            using var v1 = await excluder.PostAsync("/api/docker/cap-v1/v1/promote", Json($$"""{"targetRepo":"cap-v1","dockerRepository":"acme/web","targetDockerRepository":"acme/copy","tag":"{{(tag == "hidden" ? "1.0" : tag)}}","copy":true}"""));
            Assert.True(v1.StatusCode == HttpStatusCode.NotFound, $"{tag}: {v1.StatusCode} {await v1.Content.ReadAsStringAsync()}");
        }
    }

    [Fact]
    public async Task A_scope_naming_the_key_covers_the_image_it_was_granted_for_only()
    {
        using var reader = fixture.Client("reader");
        var scope = Uri.EscapeDataString("repository:ret-v2/team/app:pull");
        var token = JsonDocument.Parse(await reader.GetStringAsync($"/artifactory/api/docker/ret-v2/v2/token?scope={scope}")).RootElement.GetProperty("token").GetString();
        using var client = fixture.Server.Client();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"{V2Push.Base("ret-v2")}team/app/tags/list")).StatusCode);
        await AssertV2ErrorAsync(await client.GetAsync($"{V2Push.Base("ret-v2")}ret-v2/team/app/tags/list"), HttpStatusCode.Forbidden, "DENIED");
    }

    private static async Task<List<string?>> TagsAsync(HttpClient client, string repo, string image) =>
        [.. JsonDocument.Parse(await client.GetStringAsync($"{V2Push.Base(repo)}{image}/tags/list")).RootElement.GetProperty("tags").EnumerateArray().Select(t => t.GetString())];

    /// <summary>
    /// cap-v2 (V2, maxUniqueTags 2), cap-v1 (V1, maxUniqueTags 1, acme/web:1.0), ret-v2 (V2,
    /// dockerTagRetention 3, team/app:hidden and an image named ret-v2/team/app); users limited to
    /// a few paths.
    /// </summary>
    public sealed class Fixture : IAsyncLifetime
    {
        public WharfServer Server { get; } = new();

        public string V1Image { get; private set; } = "";

        public HttpClient Client(string user) => Server.Client(user, user + "-secret-1");

        public async Task InitializeAsync()
        {
            await Server.InitializeAsync();
            using var admin = Server.Admin();
            await CreateRepositoryAsync(admin, """{"key":"cap-v2","rclass":"local","packageType":"docker","dockerApiVersion":"V2","maxUniqueTags":2}""");
            await CreateRepositoryAsync(admin, """{"key":"cap-v1","rclass":"local","packageType":"docker","dockerApiVersion":"V1","maxUniqueTags":1}""");
            await CreateRepositoryAsync(admin, """{"key":"ret-v2","rclass":"local","packageType":"docker","dockerApiVersion":"V2","dockerTagRetention":3}""");

            var chain = TestImage.Chain(DockerVersion.V1_12, 1);
            using (var docker = new DockerV1Client(Server.BaseAddress, "/api/docker/cap-v1/v1/", DockerVersion.V1_12, AuthStyle.BasicEverywhere, "admin", WharfServer.AdminPassword))
            {
                await docker.PushAsync("acme/web", "1.0", chain);
            }

            V1Image = chain[^1].Id;
            await V2Push.PushImageAsync(admin, "ret-v2", "team/app", "hidden");
            await V2Push.PushImageAsync(admin, "ret-v2", "ret-v2/team/app", "1.0");

            await CreateUserAsync(admin, "narrow", """{"repositories":["cap-v2","cap-v1","ret-v2"],"includesPattern":"img/mine/**,img/_uploads/**,repositories/acme/web/mine/**,repositories/acme/web/_index_images.json,.images/**","principals":{"users":{"narrow":["r","w","d"]}}}""");
            await CreateUserAsync(admin, "digest-pusher", """{"repositories":["ret-v2"],"includesPattern":"bydigest/**","principals":{"users":{"digest-pusher":["r","w"]}}}""");
            await CreateUserAsync(admin, "tagger", """{"repositories":["cap-v1"],"includesPattern":"repositories/evil/new/1.0/**,.images/**","principals":{"users":{"tagger":["r","w"]}}}""");
            await CreateUserAsync(admin, "excluder", """{"repositories":["ret-v2","cap-v1"],"includesPattern":"**","excludesPattern":"team/app/hidden/**,repositories/acme/web/1.0/**","principals":{"users":{"excluder":["r","w","d","n"]}}}""");
            await CreateUserAsync(admin, "reader", """{"repositories":["ret-v2"],"includesPattern":"**","principals":{"users":{"reader":["r"]}}}""");
        }

        private static async Task CreateRepositoryAsync(HttpClient admin, string body)
        {
            var key = JsonDocument.Parse(body).RootElement.GetProperty("key").GetString();
            using var put = await admin.PutAsync($"/api/repositories/{key}", Json(body));
            Assert.True(put.StatusCode == HttpStatusCode.OK, await put.Content.ReadAsStringAsync());
        }

        private static async Task CreateUserAsync(HttpClient admin, string name, string target)
        {
            Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync($"/api/security/users/{name}", Json($"{{\"email\":\"{name}@example.com\",\"password\":\"{name}-secret-1\",\"groups\":[]}}"))).StatusCode);
            using var put = await admin.PutAsync($"/api/security/permissions/{name}", Json(target));
            Assert.True(put.StatusCode == HttpStatusCode.OK, await put.Content.ReadAsStringAsync());
        }

        public Task DisposeAsync() => Server.DisposeAsync();
    }
}
