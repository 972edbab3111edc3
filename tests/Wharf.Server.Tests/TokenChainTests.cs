using System.Net;
using System.Text.Json;
using Wharf.Server.Tests.Support;
using static Wharf.Server.Tests.Support.CredentialHelpers;
using static Wharf.Server.Tests.V1ConformanceTests;

namespace Wharf.Server.Tests;

/// <summary>
/// An access token minted with an access token never outlives it: its lifetime is capped at the
/// minting token's, and revoking, refreshing or the expiry of any token up the chain ends it at once.
/// </summary>
public sealed class TokenChainTests(WharfServer server) : IClassFixture<WharfServer>, IAsyncLifetime
{
    private const string Team = "atk-team";
    private const string Storage = "/api/storage/docker-local/";

    public async Task InitializeAsync()
    {
        using var admin = server.Admin();
        await admin.PutAsync($"/api/security/groups/{Team}", Json("{\"description\":\"token chains\"}"));
        await admin.PutAsync("/api/security/permissions/atk-team", Json(
            $"{{\"repositories\":[\"ANY LOCAL\"],\"principals\":{{\"groups\":{{\"{Team}\":[\"r\"]}}}}}}"));
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_token_minted_with_a_short_token_expires_with_it_and_dies_when_it_is_revoked()
    {
        using var narrow = await UserAsync("narrow");
        var shortToken = await TokenAsync(narrow, $"expires_in=60&scope=member-of-groups:{Team}");

        // Bearer and Basic alike: a year is asked for, at most the minting token's minute is given.
        using var bearer = server.Bearer(shortToken);
        var byBearer = await TokenResponseAsync(bearer, $"expires_in=31536000&scope=member-of-groups:{Team}");
        Assert.InRange(byBearer.GetProperty("expires_in").GetInt32(), 1, 60);
        var byBasic = await TokenResponseAsync(server.Client("narrow", shortToken), $"expires_in=31536000&scope=member-of-groups:{Team}");
        Assert.InRange(byBasic.GetProperty("expires_in").GetInt32(), 1, 60);

        using var longBearer = server.Bearer(byBearer.GetProperty("access_token").GetString()!);
        using var longBasic = server.Client("narrow", byBasic.GetProperty("access_token").GetString()!);
        Assert.Equal(HttpStatusCode.OK, (await longBearer.GetAsync(Storage)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await longBasic.GetAsync(Storage)).StatusCode);
        var registry = await RegistryTokenAsync(longBearer);
        Assert.Equal(HttpStatusCode.OK, (await server.Bearer(registry).GetAsync(V2Ping)).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await narrow.PostAsync("/api/security/token/revoke", Form($"token={shortToken}"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await longBearer.GetAsync(Storage)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await longBasic.GetAsync(Storage)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Bearer(registry).GetAsync(V2Ping)).StatusCode);
    }

    [Fact]
    public async Task An_admin_token_cannot_mint_a_token_that_never_expires_or_outlives_it()
    {
        using var admin = server.Admin();
        var adminToken = await TokenAsync(admin, "expires_in=120");
        using var asAdmin = server.Bearer(adminToken);
        using var user = await UserAsync("ward");
        var forever = await TokenResponseAsync(asAdmin, $"username=ward&expires_in=0&scope=member-of-groups:{Team}");
        Assert.InRange(forever.GetProperty("expires_in").GetInt32(), 1, 120);
        var transient = await TokenResponseAsync(asAdmin, $"username=ward-bot&expires_in=0&scope=member-of-groups:{Team}");
        Assert.InRange(transient.GetProperty("expires_in").GetInt32(), 1, 120);
        var listed = JsonDocument.Parse(await admin.GetStringAsync("/api/security/token")).RootElement.GetProperty("tokens");
        Assert.DoesNotContain(listed.EnumerateArray(), t => t.GetProperty("subject").GetString() is "ward" or "ward-bot" && t.GetProperty("expiry").ValueKind == JsonValueKind.Null);

        using var child = server.Bearer(forever.GetProperty("access_token").GetString()!);
        using var bot = server.Bearer(transient.GetProperty("access_token").GetString()!);
        Assert.Equal(HttpStatusCode.OK, (await child.GetAsync(Storage)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await bot.GetAsync(Storage)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/api/security/token/revoke", Form($"token={adminToken}"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await child.GetAsync(Storage)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await bot.GetAsync(Storage)).StatusCode);
    }

    [Fact]
    public async Task Refreshing_the_minting_token_ends_the_whole_chain_and_a_refreshed_child_does_not_escape()
    {
        using var owner = await UserAsync("chain");
        var root = await TokenResponseAsync(owner, $"expires_in=600&refreshable=true&scope=member-of-groups:{Team}");
        var rootToken = root.GetProperty("access_token").GetString()!;
        using var rootBearer = server.Bearer(rootToken);
        var child = await TokenResponseAsync(rootBearer, $"expires_in=31536000&refreshable=true&scope=member-of-groups:{Team}");
        Assert.InRange(child.GetProperty("expires_in").GetInt32(), 1, 600);
        using var childBearer = server.Bearer(child.GetProperty("access_token").GetString()!);
        var grandchild = await TokenAsync(childBearer, $"expires_in=31536000&scope=member-of-groups:{Team}");

        // The child refreshed: the new one is still bound to the root, the grandchild died with the old one.
        var renewed = await TokenResponseAsync(owner, $"grant_type=refresh_token&refresh_token={child.GetProperty("refresh_token").GetString()}&access_token={child.GetProperty("access_token").GetString()}");
        Assert.InRange(renewed.GetProperty("expires_in").GetInt32(), 1, 600);
        using var renewedBearer = server.Bearer(renewed.GetProperty("access_token").GetString()!);
        Assert.Equal(HttpStatusCode.OK, (await renewedBearer.GetAsync(Storage)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Bearer(grandchild).GetAsync(Storage)).StatusCode);

        // The root refreshed: everything it minted ends, and cannot be refreshed back to life.
        var newRoot = await TokenResponseAsync(owner, $"grant_type=refresh_token&refresh_token={root.GetProperty("refresh_token").GetString()}&access_token={rootToken}");
        Assert.Equal(HttpStatusCode.OK, (await server.Bearer(newRoot.GetProperty("access_token").GetString()!).GetAsync(Storage)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await renewedBearer.GetAsync(Storage)).StatusCode);
        using var again = await owner.PostAsync("/api/security/token", Form($"grant_type=refresh_token&refresh_token={renewed.GetProperty("refresh_token").GetString()}&access_token={renewed.GetProperty("access_token").GetString()}"));
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
    }

    [Fact]
    public async Task A_token_ends_when_the_token_that_minted_it_expires()
    {
        using var owner = await UserAsync("brief");
        using var parent = server.Bearer(await TokenAsync(owner, $"expires_in=3&scope=member-of-groups:{Team}"));
        var child = await TokenResponseAsync(parent, $"expires_in=600&scope=member-of-groups:{Team}");
        Assert.InRange(child.GetProperty("expires_in").GetInt32(), 0, 3);
        using var childBearer = server.Bearer(child.GetProperty("access_token").GetString()!);
        Assert.Equal(HttpStatusCode.OK, (await childBearer.GetAsync(Storage)).StatusCode);
        await Task.Delay(TimeSpan.FromSeconds(3.5));
        Assert.Equal(HttpStatusCode.Unauthorized, (await childBearer.GetAsync(Storage)).StatusCode);
    }

    [Fact]
    public async Task A_token_cannot_create_an_api_key()
    {
        using var owner = await UserAsync("keyless");
        var token = await TokenAsync(owner, "expires_in=60");
        using var bearer = server.Bearer(token);
        foreach (var method in new[] { HttpMethod.Post, HttpMethod.Put })
        {
            foreach (var client in new[] { bearer, server.Client("keyless", token) })
            {
                using var response = await client.SendAsync(new HttpRequestMessage(method, "/api/security/apiKey"));
                Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
                Assert.Contains("access token", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }
        }

        Assert.Equal("{}", await owner.GetStringAsync("/api/security/apiKey"));
    }

    private const string V2Ping = "/artifactory/api/docker/docker-v2-local/v2/";

    private static async Task<string> RegistryTokenAsync(HttpClient client) =>
        JsonDocument.Parse(await client.GetStringAsync(V2Ping + "token?scope=repository:chain/app:pull")).RootElement.GetProperty("token").GetString()!;

    private async Task<HttpClient> UserAsync(string name)
    {
        using var created = await server.Admin().PutAsync($"/api/security/users/{name}", Json($"{{\"email\":\"{name}@x\",\"password\":\"{name}-secret-1\",\"groups\":[\"{Team}\"]}}"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return server.Client(name, name + "-secret-1");
    }
}
