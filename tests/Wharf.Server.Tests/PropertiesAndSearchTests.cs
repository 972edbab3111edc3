using System.Net;
using System.Text.Json;
using Wharf.Server.Tests.Support;
using static Wharf.Server.Tests.V1ConformanceTests;

namespace Wharf.Server.Tests;

/// <summary>
/// Properties PUT/DELETE (rest-api §1.4, §4.3), property search and quick search (§5.1, §5.2) and
/// <c>docker search</c> (§5.3, docker-v1-protocol §6.6), end to end over a V1 push.
/// </summary>
public sealed class PropertiesAndSearchTests(WharfServer server) : IClassFixture<WharfServer>, IAsyncLifetime
{
    private const string ReaderPassword = "rhea-secret-1";
    private const string NobodyPassword = "nobody-secret-1";

    public async Task InitializeAsync()
    {
        using var admin = server.Admin();
        if ((await admin.GetAsync("/api/security/users/rhea")).StatusCode == HttpStatusCode.OK)
        {
            return;
        }

        // rhea reads docker-local but may not annotate; nobody holds no permission at all.
        await admin.PutAsync("/api/security/users/rhea", Json($"{{\"email\":\"r@x\",\"password\":\"{ReaderPassword}\",\"groups\":[]}}"));
        await admin.PutAsync("/api/security/permissions/rhea-read", Json(
            "{\"repositories\":[\"docker-local\"],\"includesPattern\":\"**\",\"principals\":{\"users\":{\"rhea\":[\"r\"]}}}"));
        await admin.PutAsync("/api/security/users/nobody", Json($"{{\"email\":\"n@x\",\"password\":\"{NobodyPassword}\",\"groups\":[]}}"));
    }

    public Task DisposeAsync() => Task.CompletedTask;

    // ------------------------------------------------------------------ properties PUT / DELETE

    [Theory]
    [InlineData("a=1;b=2,3", """{"a":["1"],"b":["2","3"]}""")]
    [InlineData("a=1%7Cb=2,3", """{"a":["1"],"b":["2","3"]}""")]
    [InlineData("path=a%5C,b", """{"path":["a,b"]}""")]
    [InlineData("v=x%5C;y%5C=z%5C%7Cw%5C%5Cq", """{"v":["x;y=z|w\\q"]}""")]
    [InlineData("qa", """{"qa":[""]}""")]
    [InlineData("qa;b=1", """{"b":["1"],"qa":[""]}""")]
    [InlineData("a=1;a=2", """{"a":["1","2"]}""")]
    [InlineData("a=1,1;a=1", """{"a":["1"]}""")]
    [InlineData("Build.Number=7;build.number=8", """{"Build.Number":["7"],"build.number":["8"]}""")]
    [InlineData("a=%C3%A9t%C3%A9%20x", """{"a":["été x"]}""")]
    public async Task Put_properties_parses_the_property_string_and_get_returns_arrays(string properties, string expected)
    {
        var name = await PushAsync();
        var file = Index(name);
        using var alice = Alice();
        using (var put = await alice.PutAsync($"/api/storage/docker-local/{file}?properties={properties}", null))
        {
            Assert.Equal(HttpStatusCode.NoContent, put.StatusCode);
            Assert.Empty(await put.Content.ReadAsByteArrayAsync());
        }

        var stored = UserProperties(await PropertiesAsync(alice, file));
        Assert.Equal(Canonical(JsonSerializer.Deserialize<Dictionary<string, string[]>>(expected)!), Canonical(stored));
    }

    [Theory]
    [InlineData("/api")]
    [InlineData("/artifactory/api")]
    public async Task Setting_a_key_replaces_its_values_and_leaves_other_keys(string api)
    {
        var name = await PushAsync();
        var file = Index(name);
        using var alice = Alice();
        await AssertNoContentAsync(await alice.PutAsync($"{api}/storage/docker-local/{file}?properties=a=1,2;b=x", null));
        await AssertNoContentAsync(await alice.PutAsync($"{api}/storage/docker-local/{file}?properties=a=3", null));
        var stored = await PropertiesAsync(alice, file);
        Assert.Equal(["3"], stored["a"]);
        Assert.Equal(["x"], stored["b"]);
        Assert.Equal([name], stored["docker.repoName"]);

        // The GET filter names keys; the response still holds arrays.
        var filtered = JsonDocument.Parse(await alice.GetStringAsync($"{api}/storage/docker-local/{file}?properties=a")).RootElement;
        Assert.Equal(["a"], filtered.GetProperty("properties").EnumerateObject().Select(p => p.Name));
        Assert.Equal($"{Base}/api/storage/docker-local/{file}", filtered.GetProperty("uri").GetString());
    }

    [Fact]
    public async Task Delete_properties_removes_the_named_keys_only()
    {
        var name = await PushAsync();
        var file = Index(name);
        using var alice = Alice();
        await AssertNoContentAsync(await alice.PutAsync($"/api/storage/docker-local/{file}?properties=a=1;b=2;c=3", null));
        using (var delete = await alice.DeleteAsync($"/api/storage/docker-local/{file}?properties=a,b"))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
            Assert.Empty(await delete.Content.ReadAsByteArrayAsync());
        }

        var stored = UserProperties(await PropertiesAsync(alice, file));
        Assert.Equal(["c"], stored.Keys);

        // Deleting keys the item does not have is no error; the item itself stays.
        await AssertNoContentAsync(await alice.DeleteAsync($"/artifactory/api/storage/docker-local/{file}?properties=nosuch,c"));
        Assert.Empty(UserProperties(await PropertiesAsync(alice, file)));
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"/api/storage/docker-local/{file}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync($"/api/storage/docker-local/{file}?properties=c")).StatusCode);
    }

    [Fact]
    public async Task Folders_apply_changes_recursively_by_default_and_not_with_recursive_0()
    {
        var name = await PushAsync(tag: "1.0");
        var folder = $"repositories/{name}";
        var below = new[] { folder, Index(name), $"{folder}/1.0", $"{folder}/1.0/tag.json" };
        using var alice = Alice();

        await AssertNoContentAsync(await alice.PutAsync($"/api/storage/docker-local/{folder}?properties=deep=yes", null));
        foreach (var path in below)
        {
            Assert.Equal(["yes"], (await PropertiesAsync(alice, path))["deep"]);
        }

        await AssertNoContentAsync(await alice.PutAsync($"/api/storage/docker-local/{folder}?properties=shallow=yes&recursive=0", null));
        Assert.Equal(["yes"], (await PropertiesAsync(alice, folder))["shallow"]);
        foreach (var path in below.Skip(1))
        {
            Assert.False((await PropertiesAsync(alice, path)).ContainsKey("shallow"), path);
        }

        // recursive=1 on a file is harmless.
        await AssertNoContentAsync(await alice.PutAsync($"/api/storage/docker-local/{Index(name)}?properties=file=1&recursive=1", null));
        Assert.Equal(["1"], (await PropertiesAsync(alice, Index(name)))["file"]);

        await AssertNoContentAsync(await alice.DeleteAsync($"/api/storage/docker-local/{folder}?properties=deep&recursive=0"));
        Assert.False((await PropertiesAsync(alice, folder)).ContainsKey("deep"));
        foreach (var path in below.Skip(1))
        {
            Assert.Equal(["yes"], (await PropertiesAsync(alice, path))["deep"]);
        }

        await AssertNoContentAsync(await alice.DeleteAsync($"/api/storage/docker-local/{folder}?properties=deep"));
        foreach (var path in below)
        {
            Assert.False((await PropertiesAsync(alice, path)).ContainsKey("deep"), path);
        }
    }

    public static TheoryData<string> BadPropertyStrings() => new()
    {
        "properties==1",
        "properties=a=1;=2",
        "properties=",
        "properties=;",
        "properties=a%20b=1",
        "properties=a*=1",
        "properties=a/b=1",
        "properties=a%2Fb=1",
        "properties=a%23b=1",
        "properties=a%5C%5Cb=1",
        "properties=a%5C=b=1",
        "properties=a%5C,b=1",
        "properties=a(b=1",
        "properties=%C2%B1=1",
        "properties=ok=1;bad%09key=2",
        $"properties={new string('k', 256)}=1",
        $"properties=a={new string('v', 2401)}",
        $"properties=a=1,{new string('v', 2401)}",
        "properties=a=x%0Ay",
        "props=a=1",
        "",
    };

    [Theory]
    [MemberData(nameof(BadPropertyStrings))]
    public async Task Bad_property_strings_are_refused_with_400_and_change_nothing(string query)
    {
        var name = await PushAsync();
        var file = Index(name);
        using var alice = Alice();
        await AssertNoContentAsync(await alice.PutAsync($"/api/storage/docker-local/{file}?properties=keep=1", null));
        var before = Canonical(await PropertiesAsync(alice, file));

        await AssertErrorAsync(await alice.PutAsync($"/api/storage/docker-local/{file}?{query}", null), 400);
        Assert.Equal(before, Canonical(await PropertiesAsync(alice, file)));

        // A folder target, recursive by default, changes nothing below it either.
        await AssertErrorAsync(await alice.PutAsync($"/api/storage/docker-local/repositories/{name}?{query}", null), 400);
        Assert.Equal(before, Canonical(await PropertiesAsync(alice, file)));
    }

    [Fact]
    public async Task Longest_allowed_key_and_value_are_accepted()
    {
        var name = await PushAsync();
        var file = Index(name);
        var key = new string('k', 255);
        var value = new string('v', 2400);
        using var alice = Alice();
        await AssertNoContentAsync(await alice.PutAsync($"/api/storage/docker-local/{file}?properties={key}={value}", null));
        Assert.Equal([value], (await PropertiesAsync(alice, file))[key]);
    }

    [Theory]
    [InlineData("properties=")]
    [InlineData("properties=,")]
    [InlineData("properties=a%20b")]
    [InlineData("properties=a,b*")]
    [InlineData("properties=a,%23")]
    [InlineData("")]
    public async Task Bad_property_deletes_are_refused_with_400_and_change_nothing(string query)
    {
        var name = await PushAsync();
        var file = Index(name);
        using var alice = Alice();
        await AssertNoContentAsync(await alice.PutAsync($"/api/storage/docker-local/{file}?properties=a=1;b=2", null));
        var before = Canonical(await PropertiesAsync(alice, file));
        await AssertErrorAsync(await alice.DeleteAsync($"/api/storage/docker-local/{file}?{query}"), 400);
        Assert.Equal(before, Canonical(await PropertiesAsync(alice, file)));
    }

    [Fact]
    public async Task Unknown_items_and_repository_roots_are_refused()
    {
        var name = await PushAsync();
        using var alice = Alice();
        await AssertErrorAsync(await alice.PutAsync($"/api/storage/docker-local/repositories/{name}/nosuch.json?properties=a=1", null), 404);
        await AssertErrorAsync(await alice.DeleteAsync($"/api/storage/docker-local/repositories/{name}/nosuch.json?properties=a"), 404);
        await AssertErrorAsync(await alice.PutAsync("/api/storage/nosuch-repo/x?properties=a=1", null), 404);
        await AssertErrorAsync(await alice.DeleteAsync("/api/storage/nosuch-repo/x?properties=a"), 404);

        await AssertErrorAsync(await alice.PutAsync("/api/storage/docker-local/?properties=a=1", null), 400);
        await AssertErrorAsync(await alice.DeleteAsync("/api/storage/docker-local/?properties=a"), 400);
        using var admin = server.Admin();
        await AssertErrorAsync(await admin.PutAsync("/api/storage/docker-local/?properties=a=1", null), 400);
        Assert.Empty(UserProperties(await PropertiesAsync(admin, Index(name))));
    }

    [Fact]
    public async Task Annotating_needs_n_and_anonymous_callers_are_asked_to_log_in()
    {
        var name = await PushAsync();
        var file = Index(name);
        using var alice = Alice();
        await AssertNoContentAsync(await alice.PutAsync($"/api/storage/docker-local/{file}?properties=keep=1", null));
        var before = Canonical(await PropertiesAsync(alice, file));

        // rhea reads docker-local (so the item is visible) but holds no n.
        using var rhea = server.Client("rhea", ReaderPassword);
        Assert.Equal(HttpStatusCode.OK, (await rhea.GetAsync($"/api/storage/docker-local/{file}?properties")).StatusCode);
        await AssertErrorAsync(await rhea.PutAsync($"/api/storage/docker-local/{file}?properties=a=1", null), 403);
        await AssertErrorAsync(await rhea.DeleteAsync($"/api/storage/docker-local/{file}?properties=keep"), 403);
        await AssertErrorAsync(await rhea.PutAsync($"/api/storage/docker-local/repositories/{name}?properties=a=1", null), 403);

        // A user without read learns nothing about the item.
        using var nobody = server.Client("nobody", NobodyPassword);
        var hidden = await nobody.PutAsync($"/api/storage/docker-local/{file}?properties=a=1", null);
        Assert.True(hidden.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Forbidden, $"{(int)hidden.StatusCode}");

        using var anonymous = server.Client();
        var unauthorized = await anonymous.PutAsync($"/api/storage/docker-local/{file}?properties=a=1", null);
        Assert.Equal("Basic realm=\"Artifactory Realm\"", unauthorized.Headers.WwwAuthenticate.ToString());
        await AssertErrorAsync(unauthorized, 401);
        await AssertErrorAsync(await anonymous.DeleteAsync($"/api/storage/docker-local/{file}?properties=keep"), 401);
        Assert.Equal(before, Canonical(await PropertiesAsync(alice, file)));

        // Anonymous may read docker-public but not annotate it.
        var open = await PushAsync(prefix: PublicPrefix);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync($"/api/storage/docker-public/{Index(open)}?properties")).StatusCode);
        await AssertErrorAsync(await anonymous.PutAsync($"/api/storage/docker-public/{Index(open)}?properties=a=1", null), 401);
        await AssertErrorAsync(await server.Client("alice", "wrong-password").PutAsync($"/api/storage/docker-local/{file}?properties=a=1", null), 401);
        Assert.Equal(before, Canonical(await PropertiesAsync(alice, file)));
    }

    [Theory]
    [InlineData("docker.repoName")]
    [InlineData("docker.description")]
    [InlineData("sha256")]
    [InlineData("artifactory.content-type")]
    public async Task Only_admins_change_wharf_maintained_properties(string key)
    {
        var name = await PushAsync();
        var file = Index(name);
        using var alice = Alice();
        var before = Canonical(await PropertiesAsync(alice, file));
        await AssertErrorAsync(await alice.PutAsync($"/api/storage/docker-local/{file}?properties={key}=forged", null), 403);
        await AssertErrorAsync(await alice.PutAsync($"/api/storage/docker-local/{file}?properties=ok=1;{key}=forged", null), 403);
        await AssertErrorAsync(await alice.PutAsync($"/api/storage/docker-local/repositories/{name}?properties={key}=forged", null), 403);
        await AssertErrorAsync(await alice.DeleteAsync($"/api/storage/docker-local/{file}?properties={key}"), 403);
        await AssertErrorAsync(await alice.DeleteAsync($"/api/storage/docker-local/{file}?properties=ok,{key}"), 403);
        Assert.Equal(before, Canonical(await PropertiesAsync(alice, file)));

        using var admin = server.Admin();
        await AssertNoContentAsync(await admin.PutAsync($"/api/storage/docker-local/{file}?properties={key}=set-by-admin", null));
        Assert.Equal(["set-by-admin"], (await PropertiesAsync(admin, file))[key]);
        await AssertNoContentAsync(await admin.DeleteAsync($"/api/storage/docker-local/{file}?properties={key}"));
        Assert.False((await PropertiesAsync(admin, file)).ContainsKey(key));
    }

    // ------------------------------------------------------------------ property search

    [Theory]
    [InlineData("/api")]
    [InlineData("/artifactory/api")]
    public async Task Property_search_finds_the_pushed_index_by_docker_repo_name(string api)
    {
        var name = await PushAsync();
        using var alice = Alice();
        using var response = await alice.GetAsync($"{api}/search/prop?docker.repoName={name}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/vnd.org.jfrog.artifactory.search.MetadataSearchResult+json", response.Content.Headers.ContentType!.MediaType);
        var hit = Assert.Single(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("results").EnumerateArray().ToList());
        Assert.Equal($"{Base}/api/storage/docker-local/{Index(name)}", hit.GetProperty("uri").GetString());
        Assert.Equal(["uri"], hit.EnumerateObject().Select(p => p.Name));

        // The uri is the storage URL: following it works.
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync(hit.GetProperty("uri").GetString())).StatusCode);

        // Values compare exactly and case-sensitively.
        Assert.Empty(await SearchAsync(alice, $"/api/search/prop?docker.repoName={name.ToUpperInvariant()}"));
        Assert.Empty(await SearchAsync(alice, $"/api/search/prop?docker.repoName={name}x"));
        Assert.Empty(await SearchAsync(alice, $"/api/search/prop?docker.repoName={name[..^1]}"));
    }

    [Fact]
    public async Task Property_search_ands_keys_ors_values_and_takes_wildcards()
    {
        var marker = Guid.NewGuid().ToString("N");
        var red = await PushAsync();
        var blue = await PushAsync();
        var green = await PushAsync();
        using var alice = Alice();
        await AssertNoContentAsync(await alice.PutAsync($"/api/storage/docker-local/{Index(red)}?properties=ps.marker={marker};ps.color=red;ps.size=big", null));
        await AssertNoContentAsync(await alice.PutAsync($"/api/storage/docker-local/{Index(blue)}?properties=ps.marker={marker};ps.color=blue", null));
        await AssertNoContentAsync(await alice.PutAsync($"/api/storage/docker-local/{Index(green)}?properties=ps.marker={marker};ps.color=green,teal;ps.size=small", null));
        string[] all = [Hit(red), Hit(blue), Hit(green)];

        async Task ExpectAsync(string query, params string[] expected) =>
            Assert.Equal(expected.Order(StringComparer.Ordinal), (await SearchAsync(alice, $"/api/search/prop?ps.marker={marker}&{query}")).Order(StringComparer.Ordinal));

        await ExpectAsync("", all);
        await ExpectAsync("ps.color=red", Hit(red));
        await ExpectAsync("ps.color=red,blue", Hit(red), Hit(blue));
        await ExpectAsync("ps.color=red&ps.color=blue", Hit(red), Hit(blue));
        await ExpectAsync("ps.color=teal", Hit(green));
        await ExpectAsync("ps.color=red&ps.size=big", Hit(red));
        await ExpectAsync("ps.color=red&ps.size=small");
        await ExpectAsync("ps.color=blue&ps.size");
        await ExpectAsync("ps.size", Hit(red), Hit(green));
        await ExpectAsync("ps.size=", Hit(red), Hit(green));
        await ExpectAsync("ps.color=RED");
        await ExpectAsync("ps.color=r*", Hit(red));
        await ExpectAsync("ps.color=*e*", all);
        await ExpectAsync("ps.color=gr??n", Hit(green));
        await ExpectAsync("ps.color=gr?n");
        await ExpectAsync("ps.color=b*,*n", Hit(blue), Hit(green));
        await ExpectAsync("ps.color=*", all);
        await ExpectAsync("ps.nosuch");

        // Wildcards in the first (driving) key too; keys themselves compare case-sensitively.
        Assert.Equal(all.Order(StringComparer.Ordinal), (await SearchAsync(alice, $"/api/search/prop?ps.marker={marker[..8]}*")).Order(StringComparer.Ordinal));
        Assert.Empty(await SearchAsync(alice, $"/api/search/prop?PS.MARKER={marker}"));
    }

    [Fact]
    public async Task Property_search_values_take_escapes_and_wildcard_lookalikes_literally()
    {
        var marker = Guid.NewGuid().ToString("N");
        var name = await PushAsync();
        using var alice = Alice();
        await AssertNoContentAsync(await alice.PutAsync($"/api/storage/docker-local/{Index(name)}?properties=lit.{marker}=a%5C,b;lit2.{marker}=%5Bx%5D%25_", null));
        Assert.Equal([Hit(name)], await SearchAsync(alice, $"/api/search/prop?lit.{marker}=a%5C,b"));
        Assert.Empty(await SearchAsync(alice, $"/api/search/prop?lit.{marker}=a"));
        Assert.Equal([Hit(name)], await SearchAsync(alice, $"/api/search/prop?lit2.{marker}=%5Bx%5D%25_"));
        Assert.Equal([Hit(name)], await SearchAsync(alice, $"/api/search/prop?lit2.{marker}=%5Bx%5D*"));
        Assert.Empty(await SearchAsync(alice, $"/api/search/prop?lit2.{marker}=x*"));
    }

    [Fact]
    public async Task Property_search_honours_repos_and_read_permissions()
    {
        var marker = Guid.NewGuid().ToString("N");
        var local = await PushAsync();
        var open = await PushAsync(prefix: PublicPrefix);
        using var alice = Alice();
        await AssertNoContentAsync(await alice.PutAsync($"/api/storage/docker-local/{Index(local)}?properties=scope.marker={marker}", null));
        await AssertNoContentAsync(await alice.PutAsync($"/api/storage/docker-public/{Index(open)}?properties=scope.marker={marker}", null));
        var localHit = Hit(local);
        var openHit = Hit(open, "docker-public");
        string[] both = [localHit, openHit];

        Assert.Equal(both, (await SearchAsync(alice, $"/api/search/prop?scope.marker={marker}")).Order(StringComparer.Ordinal));
        Assert.Equal([openHit], await SearchAsync(alice, $"/api/search/prop?scope.marker={marker}&repos=docker-public"));
        Assert.Equal([localHit], await SearchAsync(alice, $"/api/search/prop?scope.marker={marker}&repos=DOCKER-LOCAL"));
        Assert.Equal(both, (await SearchAsync(alice, $"/api/search/prop?scope.marker={marker}&repos=docker-local,docker-public")).Order(StringComparer.Ordinal));
        Assert.Empty(await SearchAsync(alice, $"/api/search/prop?scope.marker={marker}&repos=nosuch"));
        Assert.Equal([localHit], await SearchAsync(alice, $"/api/search/prop?scope.marker={marker}&repos=nosuch,docker-local"));

        using var admin = server.Admin();
        Assert.Equal(both, (await SearchAsync(admin, $"/api/search/prop?scope.marker={marker}")).Order(StringComparer.Ordinal));
        using var anonymous = server.Client();
        Assert.Equal([openHit], await SearchAsync(anonymous, $"/api/search/prop?scope.marker={marker}"));
        Assert.Empty(await SearchAsync(anonymous, $"/api/search/prop?scope.marker={marker}&repos=docker-local"));
        using var nobody = server.Client("nobody", NobodyPassword);
        Assert.Empty(await SearchAsync(nobody, $"/api/search/prop?scope.marker={marker}"));
        Assert.Empty(await SearchAsync(nobody, $"/api/search/artifact?name=_index_images.json"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client("alice", "wrong-password").GetAsync($"/api/search/prop?scope.marker={marker}")).StatusCode);

        // A permission target on part of the tree filters hits path by path.
        var other = await PushAsync();
        await AssertNoContentAsync(await alice.PutAsync($"/api/storage/docker-local/{Index(other)}?properties=scope.marker={marker}", null));
        var user = "part" + marker[..8];
        await admin.PutAsync($"/api/security/users/{user}", Json($"{{\"email\":\"p@x\",\"password\":\"part-secret-1\",\"groups\":[]}}"));
        await admin.PutAsync($"/api/security/permissions/{user}", Json(
            $"{{\"repositories\":[\"docker-local\"],\"includesPattern\":\"repositories/{local}/**\",\"principals\":{{\"users\":{{\"{user}\":[\"r\"]}}}}}}"));
        using var part = server.Client(user, "part-secret-1");
        Assert.Equal([localHit], await SearchAsync(part, $"/api/search/prop?scope.marker={marker}"));
        Assert.Equal([localHit], await SearchAsync(part, $"/api/search/prop?docker.repoName={local},{other}"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("?repos=docker-local")]
    [InlineData("?a%20b=1")]
    [InlineData("?a*=1")]
    [InlineData("?=1")]
    public async Task Property_search_without_a_usable_key_is_400(string query)
    {
        await AssertErrorAsync(await Alice().GetAsync($"/api/search/prop{query}"), 400);
    }

    [Fact]
    public async Task Result_detail_header_adds_info_and_properties()
    {
        var name = await PushAsync(tag: "d1");
        using var alice = Alice();
        await AssertNoContentAsync(await alice.PutAsync($"/api/storage/docker-local/{Index(name)}?properties=detail.k=v1,v2", null));
        var url = $"/api/search/prop?docker.repoName={name}";

        var properties = await SearchDetailAsync(alice, url, "properties");
        Assert.Equal(["uri", "properties"], properties.EnumerateObject().Select(p => p.Name));
        Assert.Equal([name], properties.GetProperty("properties").GetProperty("docker.repoName").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal(["v1", "v2"], properties.GetProperty("properties").GetProperty("detail.k").EnumerateArray().Select(v => v.GetString()));

        var info = await SearchDetailAsync(alice, url, "info");
        Assert.False(info.TryGetProperty("properties", out _));
        var storage = JsonDocument.Parse(await alice.GetStringAsync($"/api/storage/docker-local/{Index(name)}")).RootElement;
        Assert.Equal("docker-local", info.GetProperty("repo").GetString());
        Assert.Equal("/" + Index(name), info.GetProperty("path").GetString());
        Assert.Equal(storage.GetProperty("created").GetString(), info.GetProperty("created").GetString());
        Assert.Equal("alice", info.GetProperty("createdBy").GetString());
        Assert.Equal(storage.GetProperty("lastModified").GetString(), info.GetProperty("lastModified").GetString());
        Assert.Equal(storage.GetProperty("size").GetString(), info.GetProperty("size").GetString());
        Assert.Equal(storage.GetProperty("downloadUri").GetString(), info.GetProperty("downloadUri").GetString());
        Assert.Equal(storage.GetProperty("mimeType").GetString(), info.GetProperty("mimeType").GetString());
        Assert.Equal(storage.GetProperty("checksums").GetProperty("sha256").GetString(), info.GetProperty("checksums").GetProperty("sha256").GetString());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", info.GetProperty("created").GetString()!);

        var both = await SearchDetailAsync(alice, url, "info, properties");
        Assert.Equal("docker-local", both.GetProperty("repo").GetString());
        Assert.Equal(["v1", "v2"], both.GetProperty("properties").GetProperty("detail.k").EnumerateArray().Select(v => v.GetString()));

        // Folders carry no file fields.
        await AssertNoContentAsync(await alice.PutAsync($"/api/storage/docker-local/repositories/{name}/d1?properties=detail.folder={name}&recursive=0", null));
        var folder = await SearchDetailAsync(alice, $"/api/search/prop?detail.folder={name}", "info");
        Assert.Equal($"/repositories/{name}/d1", folder.GetProperty("path").GetString());
        Assert.False(folder.TryGetProperty("downloadUri", out _));
        Assert.False(folder.TryGetProperty("size", out _));

        // The base URL override shapes search uris as it does storage uris.
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Add("X-JFrog-Override-Base-Url", "https://repo.example.com/artifactory");
        using var overridden = await alice.SendAsync(request);
        var hit = JsonDocument.Parse(await overridden.Content.ReadAsStringAsync()).RootElement.GetProperty("results")[0];
        Assert.Equal($"https://repo.example.com/artifactory/api/storage/docker-local/{Index(name)}", hit.GetProperty("uri").GetString());
    }

    // ------------------------------------------------------------------ quick search

    [Fact]
    public async Task Quick_search_matches_file_names_with_wildcards_case_insensitively()
    {
        var tag = "Qs-" + Guid.NewGuid().ToString("N");
        var name = await PushAsync(tag: tag);
        var tagFile = Hit(name)[..^"_index_images.json".Length] + tag + "/tag.json";
        var tagFolder = Hit(name)[..^"_index_images.json".Length] + tag;
        using var alice = Alice();

        using (var response = await alice.GetAsync("/api/search/artifact?name=tag.jso?"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/vnd.org.jfrog.artifactory.search.ArtifactSearchResult+json", response.Content.Headers.ContentType!.MediaType);
            var uris = Uris(await response.Content.ReadAsStringAsync());
            Assert.Contains(tagFile, uris);
            Assert.All(uris, u => Assert.EndsWith("/tag.json", u, StringComparison.Ordinal));
        }

        var json = await SearchAsync(alice, "/artifactory/api/search/artifact?name=*.JSON");
        Assert.Contains(tagFile, json);
        Assert.Contains(Hit(name), json);
        Assert.All(json, u => Assert.EndsWith(".json", u, StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(json, u => u.EndsWith("/layer.tar", StringComparison.Ordinal));

        // The name, not the path, is matched; folders are found too.
        Assert.Equal([tagFolder], await SearchAsync(alice, $"/api/search/artifact?name={tag.ToLowerInvariant()}"));
        Assert.Equal([tagFolder], await SearchAsync(alice, $"/api/search/artifact?name={tag[..10].ToUpperInvariant()}*"));
        Assert.Equal([tagFolder], await SearchAsync(alice, $"/api/search/artifact?name=*{tag[10..]}"));
        Assert.Equal([tagFolder], await SearchAsync(alice, $"/api/search/artifact?name={tag[..5]}?{tag[6..]}"));
        Assert.Empty(await SearchAsync(alice, $"/api/search/artifact?name={tag[..10]}"));
        Assert.Empty(await SearchAsync(alice, $"/api/search/artifact?name=repositories/{name}/{tag}"));

        // SQL wildcards in the pattern are literal characters.
        Assert.Empty(await SearchAsync(alice, $"/api/search/artifact?name={tag[..10]}%25"));
        Assert.Empty(await SearchAsync(alice, $"/api/search/artifact?name={tag[..5]}_{tag[6..]}"));

        Assert.Equal([tagFile], (await SearchAsync(alice, "/api/search/artifact?name=tag.json&repos=docker-local")).Where(u => u.Contains(tag, StringComparison.Ordinal)));
        Assert.Empty(await SearchAsync(alice, $"/api/search/artifact?name={tag}&repos=docker-public"));
        Assert.Empty(await SearchAsync(server.Client(), $"/api/search/artifact?name={tag}"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("?name=")]
    [InlineData("?repos=docker-local")]
    public async Task Quick_search_without_a_name_is_400(string query)
    {
        await AssertErrorAsync(await Alice().GetAsync($"/api/search/artifact{query}"), 400);
    }

    [Fact]
    public async Task A_deleted_tag_disappears_from_every_search()
    {
        var gone = "gone-" + Guid.NewGuid().ToString("N")[..12];
        var kept = "kept-" + Guid.NewGuid().ToString("N")[..12];
        var name = await PushAsync(tag: gone);
        using (var docker = new DockerV1Client(server.BaseAddress, "/v1/", DockerVersion.V1_12, AuthStyle.BasicEverywhere, "alice", WharfServer.AlicePassword))
        {
            await docker.PushAsync(name, kept, TestImage.Chain(DockerVersion.V1_12, 1));
        }

        using var alice = Alice();
        var folder = Hit(name)[..^"_index_images.json".Length];
        Assert.Equal([folder + gone + "/tag.json"], await SearchAsync(alice, $"/api/search/prop?docker.tag.name={gone}"));
        Assert.Equal([folder + gone], await SearchAsync(alice, $"/api/search/artifact?name={gone}"));
        Assert.Contains(folder + gone + "/tag.json", await SearchAsync(alice, "/api/search/artifact?name=tag.json"));

        using (var delete = await alice.DeleteAsync($"/v1/repositories/{name}/tags/{gone}"))
        {
            Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        }

        Assert.Empty(await SearchAsync(alice, $"/api/search/prop?docker.tag.name={gone}"));
        Assert.Empty(await SearchAsync(alice, $"/api/search/artifact?name={gone}"));
        Assert.Empty(await SearchAsync(alice, $"/api/search/artifact?name={gone}*"));
        var tagFiles = await SearchAsync(alice, "/api/search/artifact?name=tag.json");
        Assert.DoesNotContain(folder + gone + "/tag.json", tagFiles);
        Assert.Contains(folder + kept + "/tag.json", tagFiles);
        Assert.Equal([folder + kept + "/tag.json"], await SearchAsync(alice, $"/api/search/prop?docker.tag.name={kept}"));
        Assert.Equal([Hit(name)], await SearchAsync(alice, $"/api/search/prop?docker.repoName={name}"));

        // Deleting the repository takes its index out of property search too.
        using (var delete = await alice.DeleteAsync($"/v1/repositories/{name}/"))
        {
            Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        }

        Assert.Empty(await SearchAsync(alice, $"/api/search/prop?docker.repoName={name}"));
        Assert.Empty(await SearchAsync(alice, $"/api/search/prop?docker.tag.name={kept}"));
    }

    // ------------------------------------------------------------------ docker search

    [Fact]
    public async Task Docker_search_finds_repositories_by_name_and_by_description()
    {
        var name = await PushAsync();
        var word = "frob" + Guid.NewGuid().ToString("N")[..10];
        using var alice = Alice();
        var byName = await DockerSearchAsync(alice, name.Split('/')[1].ToUpperInvariant());
        var hit = Assert.Single(byName.GetProperty("results").EnumerateArray().ToList());
        Assert.Equal(name, hit.GetProperty("name").GetString());
        Assert.Equal("", hit.GetProperty("description").GetString());
        Assert.Equal(0, (await DockerSearchAsync(alice, word)).GetProperty("num_results").GetInt32());

        // docker.description is maintained by Wharf: only an admin sets it.
        await AssertErrorAsync(await alice.PutAsync($"/api/storage/docker-local/{Index(name)}?properties=docker.description=Fake", null), 403);
        using var admin = server.Admin();
        await AssertNoContentAsync(await admin.PutAsync($"/api/storage/docker-local/{Index(name)}?properties=docker.description=The%20{word}%20service%5C,%20v2", null));

        foreach (var q in new[] { word, word.ToUpperInvariant(), $"The {word} service, v2", $"{word} serv" })
        {
            var result = await DockerSearchAsync(alice, q);
            Assert.Equal(q, result.GetProperty("query").GetString());
            Assert.Equal(1, result.GetProperty("num_results").GetInt32());
            var found = Assert.Single(result.GetProperty("results").EnumerateArray().ToList());
            Assert.Equal(name, found.GetProperty("name").GetString());
            Assert.Equal($"The {word} service, v2", found.GetProperty("description").GetString());
            Assert.Equal(0, found.GetProperty("star_count").GetInt32());
            Assert.False(found.GetProperty("is_official").GetBoolean());
            Assert.False(found.GetProperty("is_trusted").GetBoolean());
            Assert.False(found.GetProperty("is_automated").GetBoolean());
        }

        // The name search still finds it, now with its description, and readers only see readable ones.
        Assert.Equal($"The {word} service, v2", Assert.Single((await DockerSearchAsync(alice, name)).GetProperty("results").EnumerateArray().ToList()).GetProperty("description").GetString());
        using var nobody = server.Client("nobody", NobodyPassword);
        var none = await nobody.GetAsync($"/v1/search?q={word}");
        if (none.StatusCode == HttpStatusCode.OK)
        {
            Assert.Equal(0, JsonDocument.Parse(await none.Content.ReadAsStringAsync()).RootElement.GetProperty("num_results").GetInt32());
        }
        else
        {
            Assert.Equal(HttpStatusCode.Forbidden, none.StatusCode);
        }

        // Removing the description removes the match by description.
        await AssertNoContentAsync(await admin.DeleteAsync($"/api/storage/docker-local/{Index(name)}?properties=docker.description"));
        Assert.Equal(0, (await DockerSearchAsync(alice, word)).GetProperty("num_results").GetInt32());
    }

    [Fact]
    public async Task Docker_search_on_the_public_repository_answers_anonymous_callers()
    {
        var name = await PushAsync(prefix: PublicPrefix);
        using var anonymous = server.Client();
        var result = JsonDocument.Parse(await anonymous.GetStringAsync($"{PublicPrefix}search?q={name.Split('/')[1]}")).RootElement;
        Assert.Equal(name, Assert.Single(result.GetProperty("results").EnumerateArray().ToList()).GetProperty("name").GetString());
    }

    // ------------------------------------------------------------------ helpers

    private const string PublicPrefix = "/artifactory/api/docker/docker-public/v1/";

    private string Base => server.BaseAddress.ToString().TrimEnd('/') + "/artifactory";

    private HttpClient Alice() => server.Client("alice", WharfServer.AlicePassword);

    private static string Index(string name) => $"repositories/{name}/_index_images.json";

    private string Hit(string name, string repo = "docker-local") => $"{Base}/api/storage/{repo}/{Index(name)}";

    /// <summary>Pushes a one-image chain under a fresh name and returns the name (<c>ps/&lt;hex&gt;</c>).</summary>
    private async Task<string> PushAsync(string tag = "1", string prefix = "/v1/")
    {
        var name = "ps/n" + Guid.NewGuid().ToString("N")[..16];
        using var docker = new DockerV1Client(server.BaseAddress, prefix, DockerVersion.V1_12, AuthStyle.BasicEverywhere, "alice", WharfServer.AlicePassword);
        await docker.PushAsync(name, tag, TestImage.Chain(DockerVersion.V1_12, 1, layerBytes: 256));
        return name;
    }

    /// <summary>Every property of an item; empty when it has none (the GET answers 404 then).</summary>
    private static async Task<Dictionary<string, string[]>> PropertiesAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync($"/api/storage/docker-local/{path}?properties");
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return [];
        }

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/vnd.org.jfrog.artifactory.storage.ItemProperties+json", response.Content.Headers.ContentType!.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("properties").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(v => v.GetString()!).ToArray(), StringComparer.Ordinal);
    }

    private static Dictionary<string, string[]> UserProperties(Dictionary<string, string[]> all) =>
        all.Where(p => !p.Key.StartsWith("docker.", StringComparison.Ordinal)).ToDictionary(StringComparer.Ordinal);

    private static string Canonical(Dictionary<string, string[]> properties) =>
        JsonSerializer.Serialize(properties.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new object[] { p.Key, p.Value }));

    private static async Task<List<string>> SearchAsync(HttpClient client, string url)
    {
        using var response = await client.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {(int)response.StatusCode} {body}");
        return Uris(body);
    }

    private static List<string> Uris(string body) =>
        [.. JsonDocument.Parse(body).RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("uri").GetString()!)];

    private static async Task<JsonElement> SearchDetailAsync(HttpClient client, string url, string detail)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Add("X-Result-Detail", detail);
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return Assert.Single(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("results").EnumerateArray().ToList()).Clone();
    }

    private static async Task<JsonElement> DockerSearchAsync(HttpClient client, string q)
    {
        using var response = await client.GetAsync($"/v1/search?q={Uri.EscapeDataString(q)}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static async Task AssertNoContentAsync(HttpResponseMessage response)
    {
        using (response)
        {
            Assert.True(response.StatusCode == HttpStatusCode.NoContent, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    private static async Task AssertErrorAsync(HttpResponseMessage response, int status)
    {
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode} {body}");
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            var error = Assert.Single(JsonDocument.Parse(body).RootElement.GetProperty("errors").EnumerateArray().ToList());
            Assert.Equal(status, error.GetProperty("status").GetInt32());
            Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        }
    }
}
