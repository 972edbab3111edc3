using System.Net;
using System.Text.Json;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>Push and pull exactly as docker 1.6, 1.9 and 1.12 do, over both auth styles and both routing forms.</summary>
public sealed class DockerV1FlowTests(WharfServer server) : IClassFixture<WharfServer>
{
    public static TheoryData<DockerVersion, AuthStyle, string> Clients()
    {
        var data = new TheoryData<DockerVersion, AuthStyle, string>();
        foreach (var version in Enum.GetValues<DockerVersion>())
        {
            foreach (var style in Enum.GetValues<AuthStyle>())
            {
                foreach (var prefix in new[] { "/v1/", "/artifactory/api/docker/docker-local/v1/" })
                {
                    data.Add(version, style, prefix);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task Push_then_pull_returns_the_same_json_and_layer_bytes(DockerVersion version, AuthStyle style, string prefix)
    {
        var client = new DockerV1Client(server.BaseAddress, prefix, version, style, "alice", WharfServer.AlicePassword);
        var name = $"team/app-{version}-{style}".ToLowerInvariant().Replace('_', '-');
        var chain = TestImage.Chain(version, 3);

        await client.PushAsync(name, "1.0", chain);
        Assert.Equal(server.BaseAddress.Authority, client.LastEndpoints);

        var pulled = await client.PullAsync(name, "1.0");
        Assert.Equal(chain.Select(i => i.Id), pulled.Select(i => i.Id));
        for (var i = 0; i < chain.Count; i++)
        {
            Assert.Equal(chain[i].Json, pulled[i].Json);
            Assert.Equal(chain[i].Layer, pulled[i].Layer);
        }

        // An immediate second push finds every image (lookups answer 200) and only re-tags.
        await client.PushAsync(name, "1.0", chain);
    }

    [Theory]
    [InlineData(DockerVersion.V1_6)]
    [InlineData(DockerVersion.V1_12)]
    public async Task Single_component_names_live_in_library(DockerVersion version)
    {
        var client = new DockerV1Client(server.BaseAddress, "/v1/", version, AuthStyle.BasicOnIndexThenToken, "alice", WharfServer.AlicePassword);
        var name = "solo" + version.ToString().Replace("_", "", StringComparison.Ordinal).ToLowerInvariant();
        var chain = TestImage.Chain(version, 2);
        await client.PushAsync(name, "latest", chain);
        Assert.Equal(chain[^1].Id, (await client.PullAsync("library/" + name, "latest"))[^1].Id);

        using var admin = server.Admin();
        var bare = await admin.GetStringAsync($"/v1/repositories/{name}/images");
        var full = await admin.GetStringAsync($"/v1/repositories/library/{name}/images");
        Assert.Equal(bare, full);
    }

    [Fact]
    public async Task Images_sharing_a_base_are_stored_once_and_pull_all_gets_every_tag()
    {
        var client = new DockerV1Client(server.BaseAddress, "/v1/", DockerVersion.V1_9, AuthStyle.BasicEverywhere, "alice", WharfServer.AlicePassword);
        var bases = TestImage.Chain(DockerVersion.V1_9, 2, layerBytes: 64 * 1024);
        var web = bases.Concat(TestImage.Chain(DockerVersion.V1_9, 1, parent: bases[^1])).ToList();
        var api = bases.Concat(TestImage.Chain(DockerVersion.V1_9, 2, parent: bases[^1])).ToList();

        await client.PushAsync("shared/stack", "web", web);
        var filesAfterFirst = server.StoredFiles().Count;
        await client.PushAsync("shared/stack", "api", api);

        // Only the two new layers (plus their small json/ancestry/checksum/tag/index files) were added; the base was not re-uploaded.
        var added = server.StoredFiles().Count - filesAfterFirst;
        Assert.InRange(added, 2, 2 + (2 * 3) + 2);

        var all = await client.PullAllAsync("shared/stack");
        Assert.Equal(["api", "web"], all.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(api.Select(i => i.Id), all["api"].Select(i => i.Id));
        Assert.Equal(web.Select(i => i.Id), all["web"].Select(i => i.Id));
        Assert.Equal(bases[0].Layer, all["api"][0].Layer);
    }

    [Fact]
    public async Task A_repository_key_named_like_a_route_segment_routes_in_path_mode()
    {
        using var client = new DockerV1Client(server.BaseAddress, "/artifactory/api/docker/repositories/v1/", DockerVersion.V1_9, AuthStyle.BasicOnIndexThenToken, "alice", WharfServer.AlicePassword);
        var chain = TestImage.Chain(DockerVersion.V1_9, 2);
        await client.PushAsync("repositories/tags-too", "1", chain);
        Assert.Equal(chain[^1].Layer, (await client.PullAsync("repositories/tags-too", "1"))[^1].Layer);

        // The name is the part after the prefix, not after the key: namespace "repositories", not "v1".
        using var admin = server.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/storage/repositories/repositories/repositories/tags-too/1/tag.json")).StatusCode);
    }

    [Fact]
    public async Task A_tag_and_a_nested_repository_of_the_same_name_are_deleted_independently()
    {
        using var client = new DockerV1Client(server.BaseAddress, "/v1/", DockerVersion.V1_12, AuthStyle.BasicEverywhere, "alice", WharfServer.AlicePassword);
        var outer = TestImage.Chain(DockerVersion.V1_12, 1);
        var inner = TestImage.Chain(DockerVersion.V1_12, 1);
        await client.PushAsync("nest/web", "v2", outer);
        await client.PushAsync("nest/web", "v3", outer);
        await client.PushAsync("nest/web/v2", "1", inner);

        // Tag v2 of nest/web and the repository nest/web/v2 share the folder repositories/nest/web/v2.
        using var alice = server.Client("alice", WharfServer.AlicePassword);
        Assert.Equal(HttpStatusCode.OK, (await alice.DeleteAsync("/v1/repositories/nest/web/tags/v2")).StatusCode);
        Assert.Equal(inner[0].Id, (await client.PullAsync("nest/web/v2", "1"))[0].Id);

        Assert.Equal(HttpStatusCode.OK, (await alice.DeleteAsync("/v1/repositories/nest/web/")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync("/v1/repositories/nest/web/tags")).StatusCode);
        Assert.Equal(inner[0].Id, (await client.PullAsync("nest/web/v2", "1"))[0].Id);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync("/api/storage/docker-local/repositories/nest/web/v3")).StatusCode);
    }

    [Fact]
    public async Task A_three_component_name_round_trips()
    {
        var client = new DockerV1Client(server.BaseAddress, "/v1/", DockerVersion.V1_12, AuthStyle.BasicEverywhere, "alice", WharfServer.AlicePassword);
        var chain = TestImage.Chain(DockerVersion.V1_12, 2);
        await client.PushAsync("a/b/c", "v1", chain);
        Assert.Equal(chain[^1].Layer, (await client.PullAsync("a/b/c", "v1"))[^1].Layer);
    }

    [Fact]
    public async Task Search_tag_delete_and_repository_delete_behave_as_the_registry_api_says()
    {
        var client = new DockerV1Client(server.BaseAddress, "/v1/", DockerVersion.V1_12, AuthStyle.BasicEverywhere, "alice", WharfServer.AlicePassword);
        var chain = TestImage.Chain(DockerVersion.V1_12, 2);
        await client.PushAsync("acme/web", "1.0", chain);
        await client.PushAsync("acme/web", "2.0", chain);

        using var alice = server.Client("alice", WharfServer.AlicePassword);
        foreach (var q in new[] { "web", "me/we", "ACME" })
        {
            var search = JsonDocument.Parse(await alice.GetStringAsync($"/v1/search?q={Uri.EscapeDataString(q)}")).RootElement;
            Assert.Contains(search.GetProperty("results").EnumerateArray(), r => r.GetProperty("name").GetString() == "acme/web");
        }

        using (var delete = await alice.DeleteAsync("/v1/repositories/acme/web/tags/1.0"))
        {
            Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
            Assert.Equal("true", await delete.Content.ReadAsStringAsync());
        }

        Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync("/v1/repositories/acme/web/tags/1.0")).StatusCode);
        var tags = JsonSerializer.Deserialize<Dictionary<string, string>>(await alice.GetStringAsync("/v1/repositories/acme/web/tags"))!;
        Assert.Equal(["2.0"], tags.Keys);

        using (var delete = await alice.DeleteAsync("/v1/repositories/acme/web/"))
        {
            Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync("/v1/repositories/acme/web/images")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync("/v1/repositories/acme/web/tags")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync("/v1/repositories/acme/web/tags/2.0")).StatusCode);

        // Images are global and may be shared: they stay readable after the repository is gone.
        foreach (var image in chain)
        {
            Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"/v1/images/{image.Id}/json")).StatusCode);
            Assert.Equal(image.Layer, await alice.GetByteArrayAsync($"/v1/images/{image.Id}/layer"));
        }

        var after = JsonDocument.Parse(await alice.GetStringAsync("/v1/search?q=acme/web")).RootElement;
        Assert.Equal(0, after.GetProperty("num_results").GetInt32());
    }

    [Fact]
    public async Task Anonymous_pushes_are_refused_and_anonymous_pulls_work_where_allowed()
    {
        var anonymous = new DockerV1Client(server.BaseAddress, "/v1/", DockerVersion.V1_6, AuthStyle.BasicOnIndexThenToken, null, null);
        await Assert.ThrowsAnyAsync<Xunit.Sdk.XunitException>(() => anonymous.PushAsync("anon/app", "1", TestImage.Chain(DockerVersion.V1_6, 1)));

        var publicPrefix = "/artifactory/api/docker/docker-public/v1/";
        var pusher = new DockerV1Client(server.BaseAddress, publicPrefix, DockerVersion.V1_6, AuthStyle.BasicOnIndexThenToken, "alice", WharfServer.AlicePassword);
        var chain = TestImage.Chain(DockerVersion.V1_6, 2);
        await pusher.PushAsync("open/app", "1", chain);
        var reader = new DockerV1Client(server.BaseAddress, publicPrefix, DockerVersion.V1_6, AuthStyle.BasicOnIndexThenToken, null, null);
        Assert.Equal(chain[^1].Layer, (await reader.PullAsync("open/app", "1"))[^1].Layer);
    }
}
