using System.Net;
using Wharf.Server.Tests.Support;
using static Wharf.Server.Tests.V1ConformanceTests;

namespace Wharf.Server.Tests;

/// <summary>
/// A user allowed only below <c>repositories/acme/</c> must not reach anything else through path
/// tricks: dot segments (plain and encoded), encoded slashes, doubled slashes, trailing dots,
/// Unicode look-alikes, or a repository key in another case.
/// </summary>
public sealed class PermissionPathTrickTests(WharfServer server) : IClassFixture<WharfServer>, IAsyncLifetime
{
    private const string Password = "pat-secret-1";

    public async Task InitializeAsync()
    {
        using var admin = server.Admin();
        if ((await admin.GetAsync("/api/security/users/pat")).StatusCode == HttpStatusCode.OK)
        {
            return;
        }

        await admin.PutAsync("/api/security/users/pat", Json($"{{\"email\":\"p@x\",\"password\":\"{Password}\",\"groups\":[]}}"));
        await admin.PutAsync("/api/security/permissions/pat-acme", Json(
            "{\"repositories\":[\"docker-local\"],\"includesPattern\":\"repositories/acme/**,.images/**\",\"principals\":{\"users\":{\"pat\":[\"r\",\"w\",\"d\"]}}}"));
        using var docker = new DockerV1Client(server.BaseAddress, "/v1/", DockerVersion.V1_12, AuthStyle.BasicEverywhere, "alice", WharfServer.AlicePassword);
        await docker.PushAsync("secret/app", "1", TestImage.Chain(DockerVersion.V1_12, 1));
        await docker.PushAsync("acme/app", "1", TestImage.Chain(DockerVersion.V1_12, 1));
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Theory]
    [InlineData("/v1/repositories/acme/../secret/app/tags")]
    [InlineData("/v1/repositories/acme/%2e%2e/secret/app/tags")]
    [InlineData("/v1/repositories/acme/..%2fsecret/app/tags")]
    [InlineData("/v1/repositories/acme%2f..%2fsecret/app/tags")]
    [InlineData("/v1/repositories/acme//secret/app/tags")]
    [InlineData("/v1/repositories/acme./app/tags")]
    [InlineData("/v1/repositories/%D0%B0cme/app/tags")]
    [InlineData("/v1/repositories/ACME/app/tags")]
    [InlineData("/v1/repositories/secret/app/tags")]
    public async Task Docker_routes_never_reach_past_the_pattern(string path)
    {
        using var pat = server.Client("pat", Password);
        using var response = await pat.GetAsync(path);
        Assert.True(response.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{path}: {(int)response.StatusCode}");
        Assert.DoesNotContain("\"1\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await pat.DeleteAsync("/v1/repositories/secret/app/tags/1")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await pat.GetAsync("/v1/repositories/acme/app/tags")).StatusCode);
    }

    [Theory]
    [InlineData("/api/storage/docker-local/repositories/acme/../secret/app/1/tag.json")]
    [InlineData("/api/storage/docker-local/repositories/acme/%2e%2e/secret/app/1/tag.json")]
    [InlineData("/api/storage/docker-local/repositories/acme/..%2fsecret/app/1/tag.json")]
    [InlineData("/api/storage/docker-local/repositories/acme%2f..%2fsecret/app/1/tag.json")]
    [InlineData("/api/storage/docker-local/repositories//secret/app/1/tag.json")]
    [InlineData("/api/storage/docker-local/repositories/secret./app/1/tag.json")]
    [InlineData("/api/storage/DOCKER-LOCAL/repositories/secret/app/1/tag.json")]
    [InlineData("/artifactory/DOCKER-local/repositories/secret/app/1/tag.json")]
    [InlineData("/artifactory/docker-local/repositories/acme/..%2f..%2frepositories/secret/app/1/tag.json")]
    public async Task Storage_routes_never_reach_past_the_pattern(string path)
    {
        using var pat = server.Client("pat", Password);
        using var response = await pat.GetAsync(path);
        Assert.True(response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest, $"{path}: {(int)response.StatusCode}");
        Assert.Equal(HttpStatusCode.OK, (await pat.GetAsync("/api/storage/DOCKER-LOCAL/repositories/acme/app/1/tag.json")).StatusCode);
    }

    [Fact]
    public async Task Listings_show_only_what_the_pattern_allows()
    {
        using var pat = server.Client("pat", Password);
        var list = await pat.GetStringAsync("/api/storage/docker-local/?list&deep=1");
        Assert.Contains("/repositories/acme/app/1/tag.json", list, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", list, StringComparison.Ordinal);
        var root = await pat.GetStringAsync("/api/storage/docker-local/repositories");
        Assert.Contains("/acme", root, StringComparison.Ordinal);
        Assert.DoesNotContain("/secret", root, StringComparison.Ordinal);
    }
}
