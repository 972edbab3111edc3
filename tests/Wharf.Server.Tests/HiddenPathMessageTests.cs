using System.Net;
using System.Text;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>
/// A refusal of a tree operation (delete, copy, move, properties) names only paths the caller may
/// read, by the storage API's rule for that path (GET answers 404 for the others): for an item they
/// may not read it names the requested path instead ("… holds items you may not delete"). The
/// refusal itself stays: 403 (409 for a conflict), and nothing changes.
/// </summary>
public sealed class HiddenPathMessageTests(HiddenPathMessageTests.Fixture fixture) : IClassFixture<HiddenPathMessageTests.Fixture>
{
    private const string V2Repo = "docker-v2-local";

    [Fact]
    public async Task The_hidden_paths_are_not_found_by_the_storage_api()
    {
        using var hider = fixture.Client("hider");
        Assert.Equal(HttpStatusCode.NotFound, (await hider.GetAsync($"/api/storage/{V2Repo}/team/app/2.0")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await hider.GetAsync($"/api/storage/{V2Repo}/hidden/secretfile")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await hider.GetAsync("/api/storage/docker-local/repositories/acme/web/1.0")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await hider.GetAsync($"/api/storage/{V2Repo}/team/app")).StatusCode);
    }

    [Fact]
    public async Task Deleting_a_folder_that_holds_a_hidden_item_is_refused_without_naming_it()
    {
        using var hider = fixture.Client("hider");
        var before = await fixture.TreeAsync(V2Repo);
        await AssertRefusedAsync(await hider.DeleteAsync($"/artifactory/{V2Repo}/team/app"), HttpStatusCode.Forbidden, $"'{V2Repo}/team/app' holds items you may not delete");
        Assert.Equal(before, await fixture.TreeAsync(V2Repo));
    }

    [Fact]
    public async Task Copying_or_moving_a_folder_that_holds_a_hidden_item_is_refused_without_naming_it()
    {
        using var hider = fixture.Client("hider");
        var before = await fixture.TreeAsync(V2Repo);
        foreach (var request in new[] { "copy", "move" }.SelectMany(verb => new[] { $"/api/{verb}/{V2Repo}/team/app?to=/{V2Repo}/team/copy&dry=1", $"/api/{verb}/{V2Repo}/team/app?to=/{V2Repo}/team/copy" }))
        {
            await AssertRefusedAsync(await hider.PostAsync(request, null), HttpStatusCode.Forbidden, $"'{V2Repo}/team/app' holds items you may not read");
        }

        Assert.Equal(before, await fixture.TreeAsync(V2Repo));
    }

    [Fact]
    public async Task Setting_or_deleting_properties_on_a_folder_that_holds_a_hidden_item_is_refused_without_naming_it()
    {
        using var hider = fixture.Client("hider");
        await AssertRefusedAsync(await hider.PutAsync($"/api/storage/{V2Repo}/team/app?properties=x=1", null), HttpStatusCode.Forbidden, $"'{V2Repo}/team/app' holds items you may not annotate");
        await AssertRefusedAsync(await hider.DeleteAsync($"/api/storage/{V2Repo}/team/app?properties=x"), HttpStatusCode.Forbidden, $"'{V2Repo}/team/app' holds items you may not annotate");
        using var admin = fixture.Server.Admin();
        var properties = await admin.GetAsync($"/api/storage/{V2Repo}/team/app/latest/manifest.json?properties=x");
        Assert.Equal(HttpStatusCode.NotFound, properties.StatusCode);
    }

    /// <summary>A file the caller may not read in the way of a copy is not named either; the copy still fails (409).</summary>
    [Fact]
    public async Task A_hidden_file_in_the_way_of_a_copy_is_not_named()
    {
        using var hider = fixture.Client("hider");
        var before = await fixture.TreeAsync(V2Repo);
        await AssertRefusedAsync(await hider.PostAsync($"/api/copy/{V2Repo}/team/app/latest?to=/{V2Repo}/hidden/secretfile/x", null), HttpStatusCode.Conflict, $"'{V2Repo}/hidden/secretfile/x'");
        Assert.Equal(before, await fixture.TreeAsync(V2Repo));
    }

    /// <summary>A V1 image some hidden tag uses is refused without naming that tag.</summary>
    [Fact]
    public async Task Deleting_an_image_a_hidden_tag_uses_is_refused_without_naming_the_tag()
    {
        using var hider = fixture.Client("hider");
        var before = await fixture.TreeAsync("docker-local");
        var image = fixture.WebOne[^1].Id;
        await AssertRefusedAsync(await hider.DeleteAsync($"/artifactory/docker-local/.images/{image}"), HttpStatusCode.Conflict, $"Image {image} is used by a tag you may not read");
        Assert.Equal(before, await fixture.TreeAsync("docker-local"));
    }

    /// <summary>Where the item refused is readable, the refusal still names it.</summary>
    [Fact]
    public async Task A_readable_item_refused_is_named()
    {
        using var reader = fixture.Client("reader");
        await AssertRefusedAsync(await reader.DeleteAsync($"/artifactory/{V2Repo}/team/app"), HttpStatusCode.Forbidden, $"Deleting '{V2Repo}/team/app' is not permitted");
        await AssertRefusedAsync(await reader.PutAsync($"/api/storage/{V2Repo}/team/app/latest?properties=x=1", null), HttpStatusCode.Forbidden, $"Annotating '{V2Repo}/team/app/latest' is not permitted");
        await AssertRefusedAsync(await reader.PostAsync($"/api/move/{V2Repo}/team/app/latest?to=/{V2Repo}/team/moved", null), HttpStatusCode.Forbidden, $"Deleting '{V2Repo}/team/app/latest' (needed to move it) is not permitted");
        using var hider = fixture.Client("hider");
        await AssertRefusedAsync(await hider.DeleteAsync($"/artifactory/docker-local/.images/{fixture.Shown[0].Id}"), HttpStatusCode.Conflict, $"Image {fixture.Shown[0].Id} is used by tag repositories/acme/shown/1; delete the tag first.");
        using var copy = await hider.PostAsync($"/api/copy/{V2Repo}/{fixture.Uploaded}?to=/{V2Repo}/team/app/latest/manifest.json/x", null);
        Assert.Contains($"'{V2Repo}/team/app/latest/manifest.json' is a file", await copy.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static async Task AssertRefusedAsync(HttpResponseMessage response, HttpStatusCode status, string expected)
    {
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == status, $"{response.RequestMessage!.Method} {response.RequestMessage.RequestUri}: {response.StatusCode} {body}");
            Assert.Contains(expected, body, StringComparison.Ordinal);
            Assert.DoesNotContain("2.0", body, StringComparison.Ordinal);
            Assert.DoesNotContain("1.0", body, StringComparison.Ordinal);
            Assert.DoesNotContain("secretfile'", body, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// docker-v2-local holds team/app:latest, 1.0 and 2.0 and a file hidden/secretfile; docker-local
    /// holds acme/web:latest, acme/web:1.0 (whose top image only 1.0 uses) and acme/shown:1.
    /// <c>hider</c> holds r, w, d, n on everything except team/app/2.0, hidden/secretfile and
    /// acme/web's tag 1.0; <c>reader</c> holds r and w on docker-v2-local.
    /// </summary>
    public sealed class Fixture : IAsyncLifetime
    {
        public WharfServer Server { get; } = new();

        public IReadOnlyList<TestImage> WebLatest { get; private set; } = [];

        public IReadOnlyList<TestImage> WebOne { get; private set; } = [];

        public IReadOnlyList<TestImage> Shown { get; private set; } = [];

        /// <summary>An uploaded blob's entry: a file a copy may give any name.</summary>
        public string Uploaded { get; private set; } = "";

        public HttpClient Client(string user) => Server.Client(user, user + "-secret-1");

        public async Task<string> TreeAsync(string repo)
        {
            using var admin = Server.Admin();
            return Listings.WithoutTimes(await admin.GetStringAsync($"/api/storage/{repo}?list&deep=1&listFolders=1"));
        }

        public async Task InitializeAsync()
        {
            await Server.InitializeAsync();
            using var admin = Server.Admin();
            foreach (var tag in new[] { "latest", "1.0", "2.0" })
            {
                await V2Push.PushImageAsync(admin, V2Repo, "team/app", tag);
            }

            var blob = await V2Push.PushBlobAsync(admin, V2Repo, "hidden/src", "a file"u8.ToArray());
            Uploaded = $"hidden/src/_uploads/sha256__{blob[7..]}";
            using (var copy = await admin.PostAsync($"/api/copy/{V2Repo}/{Uploaded}?to=/{V2Repo}/hidden/secretfile", null))
            {
                Assert.Equal(HttpStatusCode.OK, copy.StatusCode);
            }

            using (var docker = new DockerV1Client(Server.BaseAddress, "/v1/", DockerVersion.V1_12, AuthStyle.BasicEverywhere, "admin", WharfServer.AdminPassword))
            {
                WebLatest = TestImage.Chain(DockerVersion.V1_12, 1);
                WebOne = TestImage.Chain(DockerVersion.V1_12, 1, parent: WebLatest[0]);
                await docker.PushAsync("acme/web", "latest", WebLatest);
                await docker.PushAsync("acme/web", "1.0", [WebLatest[0], .. WebOne]);
                Shown = TestImage.Chain(DockerVersion.V1_12, 1);
                await docker.PushAsync("acme/shown", "1", Shown);
            }

            await CreateUserAsync(admin, "hider", """{"repositories":["docker-local","docker-v2-local"],"includesPattern":"**","excludesPattern":"team/app/2.0/**,hidden/secretfile,repositories/acme/web/1.0/**","principals":{"users":{"hider":["r","w","d","n"]}}}""");
            await CreateUserAsync(admin, "reader", """{"repositories":["docker-v2-local"],"includesPattern":"**","principals":{"users":{"reader":["r","w"]}}}""");
        }

        private static async Task CreateUserAsync(HttpClient admin, string name, string target)
        {
            Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync($"/api/security/users/{name}", Json($"{{\"email\":\"{name}@example.com\",\"password\":\"{name}-secret-1\",\"groups\":[]}}"))).StatusCode);
            using var put = await admin.PutAsync($"/api/security/permissions/{name}", Json(target));
            Assert.True(put.StatusCode == HttpStatusCode.OK, await put.Content.ReadAsStringAsync());
        }

        private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

        public Task DisposeAsync() => Server.DisposeAsync();
    }
}
