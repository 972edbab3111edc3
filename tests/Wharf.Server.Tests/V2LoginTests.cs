using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Wharf.Core.Metadata;
using Wharf.Server.Tests.Support;
using static Wharf.Server.Tests.V1ConformanceTests;

namespace Wharf.Server.Tests;

/// <summary>The V2 login flow of rest-api §3.3, as `docker login` and registry clients run it.</summary>
public sealed class V2LoginTests(WharfServer server) : IClassFixture<WharfServer>, IAsyncLifetime
{
    private const string V2 = "/artifactory/api/docker/docker-v2-local/v2";

    public async Task InitializeAsync()
    {
        await using var tx = await server.Store.BeginAsync(default);
        await tx.Repositories.TryCreateAsync(new RepositoryConfig("v2-open", DockerApiVersion.V2, AnonymousRead: true), default);
        await tx.Repositories.TryCreateAsync(new RepositoryConfig("v2-forced", DockerApiVersion.V2, ForceDockerAuthentication: true, AnonymousRead: true), default);
        await tx.CommitAsync(default);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Docker_login_follows_the_challenge_to_a_token_and_back()
    {
        using var anonymous = await server.Client().GetAsync(V2 + "/");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("registry/2.0", anonymous.Headers.GetValues("Docker-Distribution-Api-Version").Single());
        var challenge = anonymous.Headers.WwwAuthenticate.Single();
        Assert.Equal("Bearer", challenge.Scheme);
        Assert.Contains($"realm=\"http://{server.BaseAddress.Authority}/artifactory/api/docker/docker-v2-local/v2/token\"", challenge.Parameter, StringComparison.Ordinal);
        Assert.Contains($"service=\"{server.BaseAddress.Authority}\"", challenge.Parameter, StringComparison.Ordinal);
        var error = JsonDocument.Parse(await anonymous.Content.ReadAsStringAsync()).RootElement.GetProperty("errors")[0];
        Assert.Equal("UNAUTHORIZED", error.GetProperty("code").GetString());
        Assert.Equal(401, error.GetProperty("status").GetInt32());

        using var alice = server.Client("alice", WharfServer.AlicePassword);
        var token = JsonDocument.Parse(await alice.GetStringAsync(V2 + $"/token?service={server.BaseAddress.Authority}")).RootElement;
        Assert.Equal(token.GetProperty("token").GetString(), token.GetProperty("access_token").GetString());
        Assert.Equal(3600, token.GetProperty("expires_in").GetInt32());
        using var bearer = Bearer(token.GetProperty("token").GetString()!);
        using var ping = await bearer.GetAsync(V2 + "/");
        Assert.Equal(HttpStatusCode.OK, ping.StatusCode);
        Assert.Equal("{}", await ping.Content.ReadAsStringAsync());

        // Basic on the ping works too; a tampered or foreign-key token does not.
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync(V2 + "/")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Bearer(token.GetProperty("token").GetString()! + "x").GetAsync(V2 + "/")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await bearer.GetAsync("/artifactory/api/docker/v2-open/v2/")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client("alice", "wrong").GetAsync(V2 + "/token")).StatusCode);
    }

    [Fact]
    public async Task Tokens_grant_the_intersection_of_what_is_asked_and_what_is_held()
    {
        using var vic = await ReaderAsync("vic", "team-a/**");
        var access = await AccessAsync(vic, V2 + "/token?scope=repository:team-a/web:pull,push&scope=repository:team-b/web:pull");
        var granted = Assert.Single(access);
        Assert.Equal("team-a/web", granted.Name);
        Assert.Equal(["pull"], granted.Actions);

        // The repository-path method names the key first; key-less, the key is required there.
        Assert.Equal(["pull", "push", "delete"], Assert.Single(await AccessAsync(server.Client("alice", WharfServer.AlicePassword), V2 + "/token?scope=repository:docker-v2-local/team-a/web:*")).Actions);
        Assert.Equal("docker-v2-local/team-a/web", Assert.Single(await AccessAsync(vic, "/artifactory/api/docker/v2/token?scope=repository:docker-v2-local/team-a/web:pull")).Name);
        Assert.Empty(await AccessAsync(vic, "/artifactory/api/docker/v2/token?scope=repository:team-a/web:pull"));
        var catalogOnly = Assert.Single(await AccessAsync(vic, V2 + "/token?scope=registry:catalog:*&scope=repository:team-a/web:steal&scope=junk"));
        Assert.Equal(("catalog", "*"), (catalogOnly.Name, Assert.Single(catalogOnly.Actions)));
    }

    /// <summary>
    /// Regression: the catalog's challenge asks for <c>registry:catalog:*</c>, but that scope was
    /// dropped from the token, so every client that follows the challenge (crane, regctl, the
    /// distribution client) got an empty catalog. It lists what the holder may read now.
    /// </summary>
    [Fact]
    public async Task The_catalog_challenge_leads_to_a_token_that_lists_what_its_holder_may_read()
    {
        using var admin = server.Admin();
        await V2Push.PushImageAsync(admin, "docker-v2-local", "cat-a/web", "1");
        await V2Push.PushImageAsync(admin, "docker-v2-local", "cat-b/web", "1");
        using var cat = await ReaderAsync("cat", "cat-a/**");

        using (var challenge = await server.Client().GetAsync(V2 + "/_catalog"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, challenge.StatusCode);
            Assert.Contains("scope=\"registry:catalog:*\"", challenge.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }

        // By a repository's key, and key-less on the main listener (repository-path method).
        foreach (var (catalog, tokenPath, listed) in new[]
        {
            (V2 + "/_catalog", V2 + "/token", "cat-a/web"),
            ("/v2/_catalog", "/artifactory/api/docker/v2/token", "docker-v2-local/cat-a/web"),
        })
        {
            var token = JsonDocument.Parse(await cat.GetStringAsync(tokenPath + "?scope=registry:catalog:*")).RootElement.GetProperty("token").GetString()!;
            using var bearer = Bearer(token);
            var names = JsonDocument.Parse(await bearer.GetStringAsync(catalog)).RootElement.GetProperty("repositories").EnumerateArray().Select(n => n.GetString()).ToList();
            Assert.Contains(listed, names);
            Assert.DoesNotContain(names, n => n!.Contains("cat-b", StringComparison.Ordinal));

            // A token without the catalog scope lists only the images it may pull (here none).
            var scopeless = JsonDocument.Parse(await cat.GetStringAsync(tokenPath)).RootElement.GetProperty("token").GetString()!;
            using var other = Bearer(scopeless);
            Assert.Equal("{\"repositories\":[]}", await other.GetStringAsync(catalog));
        }
    }

    [Fact]
    public async Task Anonymous_pings_succeed_where_anonymous_may_read_unless_authentication_is_forced()
    {
        using var anonymous = server.Client();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/artifactory/api/docker/v2-open/v2/")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/artifactory/api/docker/v2-forced/v2/")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/artifactory/api/docker/v2/")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client("alice", WharfServer.AlicePassword).GetAsync("/artifactory/api/docker/v2/")).StatusCode);
        Assert.Single(await AccessAsync(anonymous, "/artifactory/api/docker/v2-open/v2/token?scope=repository:lib/x:pull,push"), a => a.Actions.SequenceEqual(["pull"]));
    }

    [Fact]
    public async Task V1_repositories_keep_a_plain_404_and_unknown_keys_say_so()
    {
        using var v1 = await server.Admin().GetAsync("/artifactory/api/docker/docker-local/v2/");
        Assert.Equal(HttpStatusCode.NotFound, v1.StatusCode);
        Assert.False(v1.Headers.Contains("Docker-Distribution-Api-Version"));
        Assert.Empty(await v1.Content.ReadAsByteArrayAsync());
        using var unknown = await server.Admin().GetAsync("/artifactory/api/docker/nosuch/v2/");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("NAME_UNKNOWN", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    /// <summary>A new user (no groups) who reads <paramref name="pattern"/> in docker-v2-local and nothing else; a client with its password.</summary>
    private async Task<HttpClient> ReaderAsync(string user, string pattern)
    {
        using var admin = server.Admin();
        await admin.PutAsync($"/api/security/users/{user}", Json($"{{\"email\":\"{user}@x\",\"password\":\"{user}-secret-1\",\"groups\":[]}}"));
        await admin.PutAsync($"/api/security/permissions/{user}-v2", Json(
            $"{{\"repositories\":[\"docker-v2-local\"],\"includesPattern\":\"{pattern}\",\"principals\":{{\"users\":{{\"{user}\":[\"r\"]}}}}}}"));
        return server.Client(user, user + "-secret-1");
    }

    private static async Task<IReadOnlyList<(string Name, string[] Actions)>> AccessAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        var token = JsonDocument.Parse(body).RootElement.GetProperty("token").GetString()!;
        var payload = token.Split('.')[1].Replace('-', '+').Replace('_', '/');
        payload = payload.PadRight(payload.Length + ((4 - (payload.Length % 4)) % 4), '=');
        var claims = JsonDocument.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(payload))).RootElement;
        return [.. claims.GetProperty("access").EnumerateArray().Select(a => (a.GetProperty("name").GetString()!, a.GetProperty("actions").EnumerateArray().Select(x => x.GetString()!).ToArray()))];
    }

    private HttpClient Bearer(string token)
    {
        var client = server.Client();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}
