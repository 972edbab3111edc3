using System.Net;
using System.Text.Json;
using Wharf.Server.Tests.Support;
using static Wharf.Server.Tests.Support.RegistryHttp;

namespace Wharf.Server.Tests;

/// <summary>
/// Registry routes authorize on the exact tree paths they read or write, as the storage API does:
/// a path pattern or an excluded tag limits docker clients exactly as it limits
/// <c>/artifactory/…</c>, and content cannot be copied out of reach through a tag, a promotion or
/// a migration.
/// </summary>
public sealed class RegistryPathAuthTests(RegistryPathAuthTests.Fixture fixture) : IClassFixture<RegistryPathAuthTests.Fixture>
{
    private const string V2Repo = "docker-v2-local";
    private static readonly string V2 = V2Push.Base(V2Repo);

    [Fact]
    public async Task A_reader_of_latest_only_pulls_latest_only()
    {
        using var reader = fixture.Client("latest-reader");
        var app = fixture.Images;

        // V2: the tag the pattern covers pulls; every other way to the other tags answers as the storage API does.
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync($"{V2}team/app/manifests/latest")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync($"{V2}team/app/manifests/{app["latest"].Digest}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync($"{V2}team/app/blobs/{app["latest"].LayerDigest}")).StatusCode);
        await AssertV2ErrorAsync(await reader.GetAsync($"{V2}team/app/manifests/1.0"), HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        await AssertV2ErrorAsync(await reader.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"{V2}team/app/manifests/1.0")), HttpStatusCode.NotFound, null);
        await AssertV2ErrorAsync(await reader.GetAsync($"{V2}team/app/manifests/{app["1.0"].Digest}"), HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        await AssertV2ErrorAsync(await reader.GetAsync($"{V2}team/app/blobs/{app["1.0"].LayerDigest}"), HttpStatusCode.NotFound, "BLOB_UNKNOWN");
        Assert.Equal(HttpStatusCode.NotFound, (await reader.GetAsync($"/artifactory/{V2Repo}/team/app/1.0/manifest.json")).StatusCode);

        Assert.Equal(["latest"], await TagsAsync(reader, "team/app"));
        var catalog = JsonDocument.Parse(await reader.GetStringAsync($"{V2}_catalog")).RootElement.GetProperty("repositories").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains("team/app", catalog);
        Assert.DoesNotContain("team/other", catalog);

        // V1: the tag list and tag reads follow the tag files; layers outside the pattern are not served.
        var tags = JsonDocument.Parse(await reader.GetStringAsync("/v1/repositories/acme/web/tags")).RootElement;
        Assert.Equal(["latest"], tags.EnumerateObject().Select(p => p.Name));
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/v1/repositories/acme/web/tags/latest")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await reader.GetAsync("/v1/repositories/acme/web/tags/1.0")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await reader.GetAsync($"/v1/images/{fixture.WebOne[^1].Id}/layer")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await reader.GetAsync($"/artifactory/docker-local/.images/{fixture.WebOne[^1].Id}/layer.tar")).StatusCode);
        var search = JsonDocument.Parse(await reader.GetStringAsync("/v1/search?q=")).RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("name").GetString()).ToList();
        Assert.Contains("acme/web", search);
        Assert.DoesNotContain("secret/vault", search);
    }

    [Fact]
    public async Task An_excluded_tag_cannot_be_read_overwritten_or_deleted()
    {
        using var excluder = fixture.Client("excluder");
        var app = fixture.Images;

        // V2: team/app/2.0 is excluded; the rest of team/app is not.
        using (var other = await V2Push.PutManifestAsync(excluder, V2Repo, "team/app", "2.0", app["1.0"].Manifest))
        {
            await AssertV2ErrorAsync(other, HttpStatusCode.Forbidden, "DENIED");
        }

        using (var same = await V2Push.PutManifestAsync(excluder, V2Repo, "team/app", "2.0", app["2.0"].Manifest))
        {
            await AssertV2ErrorAsync(same, HttpStatusCode.Forbidden, "DENIED");
        }

        // What the caller may not read is not there for them, as under /artifactory/.
        await AssertV2ErrorAsync(await excluder.DeleteAsync($"{V2}team/app/manifests/2.0"), HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        await AssertV2ErrorAsync(await excluder.DeleteAsync($"{V2}team/app/manifests/{app["2.0"].Digest}"), HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        Assert.Equal(HttpStatusCode.NotFound, (await excluder.DeleteAsync($"/artifactory/{V2Repo}/team/app/2.0")).StatusCode);
        await AssertV2ErrorAsync(await excluder.GetAsync($"{V2}team/app/manifests/2.0"), HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        await AssertV2ErrorAsync(await excluder.GetAsync($"{V2}team/app/blobs/{app["2.0"].LayerDigest}"), HttpStatusCode.NotFound, "BLOB_UNKNOWN");
        Assert.DoesNotContain("2.0", await TagsAsync(excluder, "team/app"));
        Assert.Contains("1.0", await TagsAsync(excluder, "team/app"));

        // A manifest naming the excluded tag's layer cannot copy it into a readable tag, nor can a mount.
        using (var stolen = await V2Push.PutManifestAsync(excluder, V2Repo, "team/app", "stolen", app["2.0"].Manifest))
        {
            await AssertV2ErrorAsync(stolen, HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
        }

        using (var mount = await excluder.PostAsync($"{V2}team/copy/blobs/uploads/?mount={app["2.0"].LayerDigest}&from=team/app", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, mount.StatusCode);
        }

        // V1: repositories/acme/web/1.0 is excluded.
        Assert.Equal(HttpStatusCode.Forbidden, (await excluder.PutAsync("/v1/repositories/acme/web/tags/1.0", Json($"\"{fixture.WebLatest[^1].Id}\""))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await excluder.DeleteAsync("/v1/repositories/acme/web/tags/1.0")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await excluder.DeleteAsync("/v1/repositories/acme/web/")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await excluder.GetAsync("/v1/repositories/acme/web/tags/1.0")).StatusCode);
        var tags = JsonDocument.Parse(await excluder.GetStringAsync("/v1/repositories/acme/web/tags")).RootElement;
        Assert.DoesNotContain("1.0", tags.EnumerateObject().Select(p => p.Name));

        // Nothing changed.
        using var admin = fixture.Server.Admin();
        using (var pulled = await admin.GetAsync($"{V2}team/app/manifests/2.0"))
        {
            Assert.Equal(app["2.0"].Manifest, await pulled.Content.ReadAsByteArrayAsync());
        }

        Assert.Equal($"\"{fixture.WebOne[^1].Id}\"", await admin.GetStringAsync("/v1/repositories/acme/web/tags/1.0"));
    }

    [Fact]
    public async Task Tagging_promoting_and_migrating_need_read_on_every_image_of_the_chain()
    {
        using var thief = fixture.Client("thief");
        var secret = fixture.Secret[^1].Id;

        // Tagging a secret image into a repository the thief may write is refused, and nothing is written.
        Assert.Equal(HttpStatusCode.Forbidden, (await thief.PutAsync("/v1/repositories/acme/web/tags/stolen", Json($"\"{secret}\""))).StatusCode);
        using var admin = fixture.Server.Admin();
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/v1/repositories/acme/web/tags/stolen")).StatusCode);

        // A tag someone else pointed at the secret image cannot be promoted or migrated out by the thief.
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/v1/repositories/acme/web/tags/planted", Json($"\"{secret}\""))).StatusCode);
        try
        {
            using (var promote = await thief.PostAsync("/api/docker/docker-local/v1/promote", Json("""{"targetRepo":"docker-mine","dockerRepository":"acme/web","tag":"planted","copy":true}""")))
            {
                Assert.True(promote.StatusCode == HttpStatusCode.Forbidden, await promote.Content.ReadAsStringAsync());
            }

            using (var migrate = await thief.PostAsync("/api/docker/docker-local/v1/migrate", Json("""{"targetRepo":"docker-v2-local","dockerRepository":"acme/web","tag":"planted"}""")))
            {
                Assert.True(migrate.StatusCode == HttpStatusCode.Forbidden, await migrate.Content.ReadAsStringAsync());
            }

            Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/docker/docker-mine/v1/repositories/acme/web/tags/planted")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"{V2}acme/web/manifests/planted")).StatusCode);
        }
        finally
        {
            await admin.DeleteAsync("/v1/repositories/acme/web/tags/planted");
        }

        // What the thief may read moves as before.
        Assert.Equal(HttpStatusCode.OK, (await thief.PutAsync("/v1/repositories/acme/web/tags/mine", Json($"\"{fixture.WebLatest[^1].Id}\""))).StatusCode);
        using (var promote = await thief.PostAsync("/api/docker/docker-local/v1/promote", Json("""{"targetRepo":"docker-mine","dockerRepository":"acme/web","tag":"mine","copy":true}""")))
        {
            Assert.True(promote.StatusCode == HttpStatusCode.OK, await promote.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task Retargeting_a_V1_tag_needs_delete_and_creating_one_needs_deploy()
    {
        using var deployer = fixture.Client("deployer");
        var latest = fixture.WebLatest[^1].Id;
        var one = fixture.WebOne[^1].Id;
        Assert.Equal(HttpStatusCode.OK, (await deployer.PutAsync("/v1/repositories/acme/web/tags/fresh", Json($"\"{latest}\""))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await deployer.PutAsync("/v1/repositories/acme/web/tags/fresh", Json($"\"{latest}\""))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await deployer.PutAsync("/v1/repositories/acme/web/tags/fresh", Json($"\"{one}\""))).StatusCode);

        using var admin = fixture.Server.Admin();
        Assert.Equal($"\"{latest}\"", await admin.GetStringAsync("/v1/repositories/acme/web/tags/fresh"));
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/v1/repositories/acme/web/tags/fresh", Json($"\"{one}\""))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync("/v1/repositories/acme/web/tags/fresh")).StatusCode);
    }

    [Fact]
    public async Task A_folder_reached_only_by_browsing_shows_its_listing_but_not_its_properties()
    {
        using var admin = fixture.Server.Admin();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync("/api/storage/docker-local/repositories/acme/web/1.0?properties=qa.secret=folder-only&recursive=0", null)).StatusCode);
        using var reader = fixture.Client("latest-reader");

        // Browsing passes through the tag folder (a pattern could match below it) ...
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/api/storage/docker-local/repositories/acme/web")).StatusCode);

        // ... but what the folder itself carries is read like a file: not covered, not there.
        Assert.Equal(HttpStatusCode.NotFound, (await reader.GetAsync("/api/storage/docker-local/repositories/acme/web/1.0?properties")).StatusCode);
        var found = JsonDocument.Parse(await reader.GetStringAsync("/api/search/prop?qa.secret=folder-only")).RootElement.GetProperty("results");
        Assert.Equal(0, found.GetArrayLength());
        Assert.Equal(1, JsonDocument.Parse(await admin.GetStringAsync("/api/search/prop?qa.secret=folder-only")).RootElement.GetProperty("results").GetArrayLength());
    }

    private static async Task<List<string?>> TagsAsync(HttpClient client, string image)
    {
        using var response = await client.GetAsync($"{V2}{image}/tags/list");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return [.. JsonDocument.Parse(body).RootElement.GetProperty("tags").EnumerateArray().Select(e => e.GetString())];
    }

    /// <summary>
    /// docker-local (V1) holds acme/web:latest, acme/web:1.0 and secret/vault:latest; docker-v2-local
    /// holds team/app:latest, 1.0 and 2.0 and team/other:1.0. Users with narrow grants on both.
    /// </summary>
    public sealed class Fixture : IAsyncLifetime
    {
        public WharfServer Server { get; } = new();

        public Dictionary<string, PushedImage> Images { get; } = [];

        public IReadOnlyList<TestImage> WebLatest { get; private set; } = [];

        public IReadOnlyList<TestImage> WebOne { get; private set; } = [];

        public IReadOnlyList<TestImage> Secret { get; private set; } = [];

        public HttpClient Client(string user) => Server.Client(user, user + "-secret-1");

        public async Task InitializeAsync()
        {
            await Server.InitializeAsync();
            using var admin = Server.Admin();
            Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/repositories/docker-mine", Json("""{"key":"docker-mine","rclass":"local","packageType":"docker","dockerApiVersion":"V1"}"""))).StatusCode);

            using (var docker = new DockerV1Client(Server.BaseAddress, "/v1/", DockerVersion.V1_12, AuthStyle.BasicEverywhere, "admin", WharfServer.AdminPassword))
            {
                WebLatest = TestImage.Chain(DockerVersion.V1_12, 2);
                WebOne = TestImage.Chain(DockerVersion.V1_12, 1, parent: WebLatest[0]);
                Secret = TestImage.Chain(DockerVersion.V1_12, 1);
                await docker.PushAsync("acme/web", "latest", WebLatest);
                await docker.PushAsync("acme/web", "1.0", [WebLatest[0], .. WebOne]);
                await docker.PushAsync("secret/vault", "v1", Secret);
            }

            foreach (var tag in new[] { "latest", "1.0", "2.0" })
            {
                Images[tag] = await V2Push.PushImageAsync(admin, V2Repo, "team/app", tag);
            }

            await V2Push.PushImageAsync(admin, V2Repo, "team/other", "1.0");

            // The 2.0 layer lives only in its tag folder, as after a stale-upload purge.
            using (var purge = await admin.DeleteAsync($"/artifactory/{V2Repo}/team/app/_uploads/sha256__{Images["2.0"].LayerDigest[7..]}"))
            {
                Assert.Equal(HttpStatusCode.NoContent, purge.StatusCode);
            }

            await CreateUserAsync(admin, "latest-reader", """{"repositories":["docker-local","docker-v2-local"],"includesPattern":"**/latest/**","principals":{"users":{"latest-reader":["r"]}}}""");
            await CreateUserAsync(admin, "excluder", """{"repositories":["docker-local","docker-v2-local"],"includesPattern":"**","excludesPattern":"team/app/2.0/**,repositories/acme/web/1.0/**","principals":{"users":{"excluder":["r","w","d","n"]}}}""");
            var secretImages = string.Join(',', Secret.Select(i => $".images/{i.Id}/**"));
            await CreateUserAsync(admin, "thief", "{\"repositories\":[\"docker-local\"],\"includesPattern\":\"repositories/acme/**,.images/**\",\"excludesPattern\":\"" + secretImages + "\",\"principals\":{\"users\":{\"thief\":[\"r\",\"w\"]}}}");
            Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/security/permissions/thief-own", Json("""{"repositories":["docker-mine","docker-v2-local"],"includesPattern":"**","principals":{"users":{"thief":["r","w","d"]}}}"""))).StatusCode);
            await CreateUserAsync(admin, "deployer", """{"repositories":["docker-local"],"includesPattern":"**","principals":{"users":{"deployer":["r","w"]}}}""");
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
