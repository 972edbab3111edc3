using System.Net;
using Wharf.Server.Tests.Support;
using static Wharf.Server.Tests.Support.RegistryHttp;

namespace Wharf.Server.Tests;

/// <summary>
/// As <see cref="V2TreeObstacleTests"/> for V1: a file copied under a name without registry
/// meaning (<c>repositories/acme/blocked</c>, <c>.images</c>) that a later push, tag or promotion
/// would have to run through is an expected refusal (409), nothing is written, and the server logs
/// no error.
/// </summary>
public sealed class V1TreeObstacleTests(WharfServer server) : IClassFixture<WharfServer>
{
    [Fact]
    public async Task Pushes_tags_and_promotions_through_a_copied_file_answer_409()
    {
        using var admin = server.Admin();
        var mark = server.Logs.Mark;
        var chain = TestImage.Chain(DockerVersion.V1_12, 1);
        using (var docker = new DockerV1Client(server.BaseAddress, "/api/docker/docker-public/v1/", DockerVersion.V1_12, AuthStyle.BasicEverywhere, "admin", WharfServer.AdminPassword))
        {
            await docker.PushAsync("acme/source", "1.0", chain);
        }

        // A file named like a repository folder, and one named like the images root of another repository.
        await CopyAsync(admin, "docker-public", "repositories/acme/source/_index_images.json", "docker-public", "repositories/acme/blocked");
        await CopyAsync(admin, "docker-public", "repositories/acme/source/_index_images.json", "docker-forced", ".images");
        var v1 = "/api/docker/docker-public/v1";

        Assert.Equal(HttpStatusCode.Conflict, (await admin.PutAsync($"{v1}/repositories/acme/blocked/", Json("[]"))).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PutAsync($"{v1}/repositories/acme/blocked/tags/1.0", Json($"\"{chain[0].Id}\""))).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PutAsync($"{v1}/repositories/acme/blocked/nested/tags/1.0", Json($"\"{chain[0].Id}\""))).StatusCode);
        using (var promote = await admin.PostAsync($"{v1}/promote", Json("""{"targetRepo":"docker-public","dockerRepository":"acme/source","targetDockerRepository":"acme/blocked","copy":true}""")))
        {
            Assert.True(promote.StatusCode == HttpStatusCode.Conflict, await promote.Content.ReadAsStringAsync());
        }

        using (var promote = await admin.PostAsync($"{v1}/promote", Json("""{"targetRepo":"docker-forced","dockerRepository":"acme/source","copy":true}""")))
        {
            Assert.True(promote.StatusCode == HttpStatusCode.Conflict, await promote.Content.ReadAsStringAsync());
        }

        // A push whose images would land below the copied file is refused when it publishes them.
        using (var docker = new DockerV1Client(server.BaseAddress, "/api/docker/docker-forced/v1/", DockerVersion.V1_12, AuthStyle.BasicEverywhere, "admin", WharfServer.AdminPassword))
        {
            await Assert.ThrowsAnyAsync<Exception>(() => docker.PushAsync("acme/other", "1.0", TestImage.Chain(DockerVersion.V1_12, 1)));
        }

        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/storage/docker-public/repositories/acme/blocked/1.0")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/docker/docker-forced/v1/repositories/acme/other/tags/1.0")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/docker/docker-forced/v1/repositories/acme/source/tags/1.0")).StatusCode);
        server.Logs.AssertNoServerErrors(mark);
    }

    private static async Task CopyAsync(HttpClient admin, string fromRepo, string from, string toRepo, string to)
    {
        using var copy = await admin.PostAsync($"/api/copy/{fromRepo}/{from}?to=/{toRepo}/{to}", null);
        Assert.True(copy.StatusCode == HttpStatusCode.OK, await copy.Content.ReadAsStringAsync());
    }
}
