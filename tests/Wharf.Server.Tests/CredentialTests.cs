using System.Net;
using System.Text;
using System.Text.Json;
using Wharf.Server.Tests.Support;
using static Wharf.Server.Tests.Support.CredentialHelpers;
using static Wharf.Server.Tests.V1ConformanceTests;

namespace Wharf.Server.Tests;

/// <summary>API keys (rest-api §6.6) and access tokens (§6.7), issued, used, revoked and expired.</summary>
public sealed class CredentialTests(WharfServer server) : IClassFixture<WharfServer>
{
    [Fact]
    public async Task An_api_key_is_shown_once_stored_hashed_and_works_as_header_or_password()
    {
        using var admin = server.Admin();
        await admin.PutAsync("/api/security/users/kim", Json("{\"email\":\"k@x\",\"password\":\"kim-secret-1\"}"));
        using var kim = server.Client("kim", "kim-secret-1");
        using var created = await kim.PostAsync("/api/security/apiKey", null);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var key = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("apiKey").GetString()!;
        Assert.StartsWith("AKCp", key, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Conflict, (await kim.PostAsync("/api/security/apiKey", null)).StatusCode);
        Assert.Equal(key[..6], JsonDocument.Parse(await kim.GetStringAsync("/api/security/apiKey")).RootElement.GetProperty("apiKey").GetString());

        using var byHeader = server.Client();
        byHeader.DefaultRequestHeaders.Add("X-JFrog-Art-Api", key);
        Assert.Equal(HttpStatusCode.OK, (await byHeader.GetAsync("/api/storage/docker-local/")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client("kim", key).GetAsync("/v1/users/")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client("kim", key).GetAsync("/api/storage/docker-local/")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client("admin", key).GetAsync("/v1/users/")).StatusCode);
        Assert.DoesNotContain(key, await DatabaseTextAsync(), StringComparison.Ordinal);

        // Regenerating revokes the old key; deleting revokes the new one.
        using var regenerated = await kim.PutAsync("/api/security/apiKey", null);
        var newKey = JsonDocument.Parse(await regenerated.Content.ReadAsStringAsync()).RootElement.GetProperty("apiKey").GetString()!;
        Assert.Equal(HttpStatusCode.Unauthorized, (await byHeader.GetAsync("/api/storage/docker-local/")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client("kim", newKey).GetAsync("/v1/users/")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync("/api/security/apiKey/kim")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client("kim", newKey).GetAsync("/v1/users/")).StatusCode);
        Assert.Equal("{}", await kim.GetStringAsync("/api/security/apiKey"));
        Assert.Equal(HttpStatusCode.Forbidden, (await kim.DeleteAsync("/api/security/apiKey/admin")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client().PostAsync("/api/security/apiKey", null)).StatusCode);
    }

    [Fact]
    public async Task An_access_token_works_as_bearer_until_revoked_and_can_be_refreshed()
    {
        using var alice = server.Client("alice", WharfServer.AlicePassword);
        var issued = await TokenResponseAsync(alice, "username=alice&expires_in=600&refreshable=true");
        var token = issued.GetProperty("access_token").GetString()!;
        Assert.Equal("Bearer", issued.GetProperty("token_type").GetString());
        Assert.Equal(600, issued.GetProperty("expires_in").GetInt32());
        Assert.Contains("api:*", issued.GetProperty("scope").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(token, await DatabaseTextAsync(), StringComparison.Ordinal);

        using var bearer = server.Bearer(token);
        Assert.Equal(HttpStatusCode.OK, (await bearer.GetAsync("/api/storage/docker-local/")).StatusCode);

        // Docker V1 routes accept it too: alice's rights, through the token.
        var image = TestImage.Chain(DockerVersion.V1_12, 1)[0];
        await PushImageAsync(bearer, image);
        Assert.Equal(HttpStatusCode.OK, (await server.Client("alice", token).GetAsync("/v1/users/")).StatusCode);

        var refreshed = await TokenResponseAsync(alice, $"grant_type=refresh_token&refresh_token={issued.GetProperty("refresh_token").GetString()}&access_token={token}");
        var next = refreshed.GetProperty("access_token").GetString()!;
        Assert.Equal(HttpStatusCode.Unauthorized, (await bearer.GetAsync("/api/storage/docker-local/")).StatusCode);
        using var nextBearer = server.Bearer(next);
        Assert.Equal(HttpStatusCode.OK, (await nextBearer.GetAsync("/api/storage/docker-local/")).StatusCode);

        using var revoke = await alice.PostAsync("/api/security/token/revoke", Form($"token={next}"));
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await nextBearer.GetAsync("/api/storage/docker-local/")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.PostAsync("/api/security/token/revoke", Form($"token={next}"))).StatusCode);
    }

    [Fact]
    public async Task Tokens_expire()
    {
        var token = (await TokenResponseAsync(server.Client("alice", WharfServer.AlicePassword), "expires_in=1")).GetProperty("access_token").GetString()!;
        using var bearer = server.Bearer(token);
        Assert.Equal(HttpStatusCode.OK, (await bearer.GetAsync("/api/storage/docker-local/")).StatusCode);
        await Task.Delay(TimeSpan.FromSeconds(2.2));
        Assert.Equal(HttpStatusCode.Unauthorized, (await bearer.GetAsync("/api/storage/docker-local/")).StatusCode);
    }

    [Fact]
    public async Task Token_scopes_follow_who_asks()
    {
        using var alice = server.Client("alice", WharfServer.AlicePassword);
        Assert.Equal(HttpStatusCode.Forbidden, (await alice.PostAsync("/api/security/token", Form("username=admin"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await alice.PostAsync("/api/security/token", Form("expires_in=0"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await alice.PostAsync("/api/security/token", Form("scope=member-of-groups:readers"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await alice.PostAsync("/api/security/token", Form("scope=root:*"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await alice.PostAsync("/api/security/token", Form("expires_in=-5"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await alice.PostAsync("/api/security/token", Json("{}"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await alice.GetAsync("/api/security/token")).StatusCode);

        // An admin may issue a token for a transient user whose rights come only from its groups.
        using var admin = server.Admin();
        var ci = (await TokenResponseAsync(admin, "username=ci-bot&scope=member-of-groups:readers&expires_in=0")).GetProperty("access_token").GetString()!;
        using var bot = server.Bearer(ci);
        Assert.Equal(HttpStatusCode.OK, (await bot.GetAsync("/api/storage/docker-local/")).StatusCode);
        await AssertErrorAsync(await bot.PutAsync("/v1/repositories/bot/app/", Json("[]")), 403, "access denied");
        var listed = JsonDocument.Parse(await admin.GetStringAsync("/api/security/token")).RootElement.GetProperty("tokens");
        Assert.Contains(listed.EnumerateArray(), t => t.GetProperty("subject").GetString() == "ci-bot" && t.GetProperty("expiry").ValueKind == JsonValueKind.Null);
    }

    /// <summary>The database and its write-ahead log, where fresh writes live until a checkpoint.</summary>
    private async Task<string> DatabaseTextAsync()
    {
        var text = new StringBuilder();
        foreach (var file in Directory.EnumerateFiles(server.DataDir, "wharf.db*"))
        {
            await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream, Encoding.Latin1);
            text.Append(await reader.ReadToEndAsync());
        }

        return text.ToString();
    }
}
