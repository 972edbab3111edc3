using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Wharf.Server.Tests.Support;
using static Wharf.Server.Tests.Support.CredentialHelpers;
using static Wharf.Server.Tests.V1ConformanceTests;

namespace Wharf.Server.Tests;

/// <summary>
/// Registry tokens (V2 login) and V1 tokens (X-Docker-Token) die with the credential they were
/// minted with, at once, and never outlive it (issue #10).
/// </summary>
public sealed class DerivedTokenTests(WharfServer server) : IClassFixture<WharfServer>, IAsyncLifetime
{
    private const string V2 = "/artifactory/api/docker/docker-v2-local/v2";
    private const string Team = "derived-team";

    public async Task InitializeAsync()
    {
        using var admin = server.Admin();
        await admin.PutAsync($"/api/security/groups/{Team}", Json("{\"description\":\"derived tokens\"}"));
        await admin.PutAsync("/api/security/permissions/derived", Json(
            $"{{\"repositories\":[\"ANY LOCAL\"],\"principals\":{{\"groups\":{{\"{Team}\":[\"r\",\"w\"]}}}}}}"));
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Tokens_minted_with_a_password_die_when_it_changes()
    {
        await CreateUserAsync("pat", "pat-secret-1");
        using var pat = server.Client("pat", "pat-secret-1");
        var tokens = await MintAsync(pat, "pat/app");
        await AssertTokensAsync(tokens, HttpStatusCode.OK);

        Assert.Equal(HttpStatusCode.OK, (await server.Admin().PostAsync("/api/security/users/pat", Json("{\"password\":\"pat-secret-2\"}"))).StatusCode);
        await AssertTokensAsync(tokens, HttpStatusCode.Unauthorized);
        await AssertTokensAsync(await MintAsync(server.Client("pat", "pat-secret-2"), "pat/app"), HttpStatusCode.OK);
    }

    [Fact]
    public async Task Tokens_of_a_disabled_user_stay_dead_when_it_is_enabled_again()
    {
        await CreateUserAsync("dora", "dora-secret-1");
        var tokens = await MintAsync(server.Client("dora", "dora-secret-1"), "dora/app");
        await AssertTokensAsync(tokens, HttpStatusCode.OK);

        using var admin = server.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/api/security/users/dora", Json("{\"disabled\":true}"))).StatusCode);
        await AssertTokensAsync(tokens, HttpStatusCode.Unauthorized);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/api/security/users/dora", Json("{\"disabled\":false}"))).StatusCode);
        await AssertTokensAsync(tokens, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Tokens_of_a_deleted_user_do_not_work_for_a_new_user_of_the_same_name()
    {
        await CreateUserAsync("reborn", "reborn-secret-1");
        var tokens = await MintAsync(server.Client("reborn", "reborn-secret-1"), "reborn/app");
        await AssertTokensAsync(tokens, HttpStatusCode.OK);

        Assert.Equal(HttpStatusCode.OK, (await server.Admin().DeleteAsync("/api/security/users/reborn")).StatusCode);
        await CreateUserAsync("reborn", "reborn-secret-1");
        await AssertTokensAsync(tokens, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Tokens_minted_with_an_api_key_die_when_it_is_regenerated_or_revoked()
    {
        await CreateUserAsync("kai", "kai-secret-1");
        using var kai = server.Client("kai", "kai-secret-1");
        using var admin = server.Admin();

        var key = await ApiKeyAsync(kai, HttpMethod.Post);
        var byHeader = await MintAsync(WithApiKey(key), "kai/app");
        var byBasic = await MintAsync(server.Client("kai", key), "kai/app");
        await AssertTokensAsync(byHeader, HttpStatusCode.OK);
        await AssertTokensAsync(byBasic, HttpStatusCode.OK);
        var next = await ApiKeyAsync(kai, HttpMethod.Put);
        await AssertTokensAsync(byHeader, HttpStatusCode.Unauthorized);
        await AssertTokensAsync(byBasic, HttpStatusCode.Unauthorized);

        var tokens = await MintAsync(WithApiKey(next), "kai/app");
        await AssertTokensAsync(tokens, HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.OK, (await kai.DeleteAsync("/api/security/apiKey")).StatusCode);
        await AssertTokensAsync(tokens, HttpStatusCode.Unauthorized);

        tokens = await MintAsync(WithApiKey(await ApiKeyAsync(kai, HttpMethod.Post)), "kai/app");
        await AssertTokensAsync(tokens, HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync("/api/security/apiKey/kai")).StatusCode);
        await AssertTokensAsync(tokens, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Tokens_minted_with_an_access_token_die_when_it_is_revoked_or_refreshed()
    {
        await CreateUserAsync("tia", "tia-secret-1");
        using var tia = server.Client("tia", "tia-secret-1");
        using var admin = server.Admin();

        var access = await TokenAsync(tia, "expires_in=600");
        var tokens = await MintAsync(server.Bearer(access), "tia/app");
        var viaBasic = await MintAsync(server.Client("tia", access), "tia/app");
        await AssertTokensAsync(tokens, HttpStatusCode.OK);
        await AssertTokensAsync(viaBasic, HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.OK, (await tia.PostAsync("/api/security/token/revoke", Form($"token={access}"))).StatusCode);
        await AssertTokensAsync(tokens, HttpStatusCode.Unauthorized);
        await AssertTokensAsync(viaBasic, HttpStatusCode.Unauthorized);

        // An admin revokes by id.
        access = await TokenAsync(tia, "expires_in=600");
        tokens = await MintAsync(server.Bearer(access), "tia/app");
        await AssertTokensAsync(tokens, HttpStatusCode.OK);
        var listed = JsonDocument.Parse(await admin.GetStringAsync("/api/security/token")).RootElement.GetProperty("tokens");
        var id = listed.EnumerateArray().Last(t => t.GetProperty("subject").GetString() == "tia").GetProperty("token_id").GetString();
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/api/security/token/revoke", Form($"token_id={id}"))).StatusCode);
        await AssertTokensAsync(tokens, HttpStatusCode.Unauthorized);

        // Refreshing replaces the access token: what the old one minted dies with it.
        var issued = await TokenResponseAsync(tia, "expires_in=600&refreshable=true");
        access = issued.GetProperty("access_token").GetString()!;
        tokens = await MintAsync(server.Bearer(access), "tia/app");
        await AssertTokensAsync(tokens, HttpStatusCode.OK);
        await TokenResponseAsync(tia, $"grant_type=refresh_token&refresh_token={issued.GetProperty("refresh_token").GetString()}&access_token={access}");
        await AssertTokensAsync(tokens, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_revocation_written_by_another_node_sharing_the_database_bites_within_seconds()
    {
        await CreateUserAsync("nod", "nod-secret-1");
        var access = await TokenAsync(server.Client("nod", "nod-secret-1"), "expires_in=600");
        var tokens = await MintAsync(server.Bearer(access), "nod/app");
        await AssertTokensAsync(tokens, HttpStatusCode.OK);

        // Another node: its own store on the same database file, unseen by this node's write generation.
        using (var other = new Wharf.Data.Sqlite.SqliteMetadataStore(Path.Combine(server.DataDir, "wharf.db")))
        {
            await using var tx = await other.BeginAsync(default);
            Assert.True(await tx.Credentials.RevokeTokenAsync(null, Wharf.Server.Auth.Secrets.Sha256(access), default));
            await tx.CommitAsync(default);
        }

        await Task.Delay(TimeSpan.FromSeconds(2.5));
        await AssertTokensAsync(tokens, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Tokens_never_outlive_the_access_token_they_were_minted_with()
    {
        await CreateUserAsync("eve", "eve-secret-1");
        var access = await TokenAsync(server.Client("eve", "eve-secret-1"), "expires_in=3");
        var deadline = DateTimeOffset.UtcNow.AddSeconds(4).ToUnixTimeSeconds();
        using var bearer = server.Bearer(access);
        var response = JsonDocument.Parse(await bearer.GetStringAsync(V2 + "/token?scope=repository:eve/app:pull")).RootElement;
        Assert.InRange(response.GetProperty("expires_in").GetInt32(), 0, 3);
        var registry = response.GetProperty("token").GetString()!;
        Assert.InRange(Payload(registry.Split('.')[1]).GetProperty("exp").GetInt64(), 0, deadline);
        var tokens = (registry, await V1TokenAsync(bearer, "eve/app"));
        Assert.InRange(Payload(tokens.Item2.Split("signature=")[1].Split('.')[0]).GetProperty("ExpiresUnix").GetInt64(), 0, deadline);
        await AssertTokensAsync(tokens, HttpStatusCode.OK);

        await Task.Delay(TimeSpan.FromSeconds(3.5));
        await AssertTokensAsync(tokens, HttpStatusCode.Unauthorized);
    }

    private async Task CreateUserAsync(string name, string password)
    {
        using var created = await server.Admin().PutAsync($"/api/security/users/{name}", Json($"{{\"email\":\"{name}@x\",\"password\":\"{password}\",\"groups\":[\"{Team}\"]}}"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
    }

    /// <summary>A registry token for the V2 repository and a V1 push token for <paramref name="repository"/>.</summary>
    private static async Task<(string Registry, string V1)> MintAsync(HttpClient client, string repository)
    {
        using var response = await client.GetAsync(V2 + $"/token?scope=repository:{repository}:pull,push");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return (JsonDocument.Parse(body).RootElement.GetProperty("token").GetString()!, await V1TokenAsync(client, repository));
    }

    private static async Task<string> V1TokenAsync(HttpClient client, string repository)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/repositories/{repository}/") { Content = Json("[]") };
        request.Headers.Add("X-Docker-Token", "true");
        using var response = await client.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return response.Headers.GetValues("X-Docker-Token").Single();
    }

    /// <summary>Uses both tokens: the registry token on the V2 ping, the V1 token on its push end.</summary>
    private async Task AssertTokensAsync((string Registry, string V1) tokens, HttpStatusCode expected)
    {
        using var registry = server.Client();
        registry.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.Registry);
        Assert.Equal(expected, (await registry.GetAsync(V2 + "/")).StatusCode);

        using var v1 = server.Client();
        v1.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Token " + tokens.V1);
        var repository = tokens.V1.Split("repository=\"")[1].Split('"')[0];
        using var pushEnd = await v1.PutAsync($"/v1/repositories/{repository}/images", Json("[]"));
        Assert.Equal(expected == HttpStatusCode.OK ? HttpStatusCode.NoContent : expected, pushEnd.StatusCode);
    }

    private static async Task<string> ApiKeyAsync(HttpClient owner, HttpMethod method)
    {
        using var response = await owner.SendAsync(new HttpRequestMessage(method, "/api/security/apiKey"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("apiKey").GetString()!;
    }

    private HttpClient WithApiKey(string key)
    {
        var client = server.Client();
        client.DefaultRequestHeaders.Add("X-JFrog-Art-Api", key);
        return client;
    }

    private static JsonElement Payload(string base64Url)
    {
        var text = base64Url.Replace('-', '+').Replace('_', '/');
        text = text.PadRight(text.Length + ((4 - (text.Length % 4)) % 4), '=');
        return JsonDocument.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(text))).RootElement;
    }
}
