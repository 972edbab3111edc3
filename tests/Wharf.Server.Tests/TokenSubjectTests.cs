using System.Net;
using System.Text;
using System.Text.Json;
using Wharf.Server.Tests.Support;
using static Wharf.Server.Tests.Support.CredentialHelpers;
using static Wharf.Server.Tests.V1ConformanceTests;

namespace Wharf.Server.Tests;

/// <summary>
/// An access token issued by an admin for a user that does not exist holds the scoped groups and
/// nothing else, before and after a user of that name is created; registry and V1 tokens minted
/// with it hold exactly what it holds.
/// </summary>
public sealed class TokenSubjectTests(WharfServer server) : IClassFixture<WharfServer>
{
    private const string V2 = "/artifactory/api/docker/docker-v2-local/v2";

    [Fact]
    public async Task A_token_for_a_user_that_did_not_exist_never_gains_the_rights_of_a_user_created_later()
    {
        using var admin = server.Admin();
        await admin.PutAsync("/api/security/groups/phantom-team", Json("{\"description\":\"scoped\"}"));
        await admin.PutAsync("/api/security/permissions/phantom-team", Json("{\"repositories\":[\"docker-v2-local\"],\"principals\":{\"groups\":{\"phantom-team\":[\"r\"]}}}"));
        var token = await TokenAsync(admin, "username=phantom&scope=member-of-groups:phantom-team&expires_in=600");
        using var bearer = server.Bearer(token);
        Assert.Equal(HttpStatusCode.OK, (await bearer.GetAsync("/api/storage/docker-v2-local/")).StatusCode);
        Assert.NotEqual(HttpStatusCode.OK, (await bearer.GetAsync("/api/storage/docker-local/")).StatusCode);
        var before = await RegistryTokenAsync(bearer, "phantom/app");
        Assert.Equal(["pull"], Actions(before));

        // A user of that name appears: not in the token's group, with direct grants of its own elsewhere.
        using var created = await admin.PutAsync("/api/security/users/phantom", Json("{\"email\":\"p@x\",\"password\":\"phantom-secret-1\",\"groups\":[]}"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await admin.PutAsync("/api/security/permissions/phantom-direct", Json("{\"repositories\":[\"docker-local\"],\"principals\":{\"users\":{\"phantom\":[\"r\",\"w\",\"d\"]}}}"));

        // The token itself: still its scoped group, none of the new user's grants.
        Assert.Equal(HttpStatusCode.OK, (await bearer.GetAsync("/api/storage/docker-v2-local/")).StatusCode);
        Assert.NotEqual(HttpStatusCode.OK, (await bearer.GetAsync("/api/storage/docker-local/")).StatusCode);
        using var v1Push = new HttpRequestMessage(HttpMethod.Put, "/v1/repositories/phantom/app/") { Content = Json("[]") };
        v1Push.Headers.Add("X-Docker-Token", "true");
        Assert.Equal(HttpStatusCode.Forbidden, (await bearer.SendAsync(v1Push)).StatusCode);

        // Registry tokens minted with it, before or after, hold the same.
        Assert.Equal(HttpStatusCode.OK, (await server.Bearer(before).GetAsync(V2 + "/")).StatusCode);
        var after = await RegistryTokenAsync(bearer, "phantom/app");
        Assert.Equal(["pull"], Actions(after));
        Assert.Equal(HttpStatusCode.OK, (await server.Bearer(after).GetAsync(V2 + "/")).StatusCode);

        // The user's own password works as usual, with the user's own rights.
        Assert.Equal(HttpStatusCode.OK, (await server.Client("phantom", "phantom-secret-1").GetAsync("/api/storage/docker-local/")).StatusCode);
    }

    [Fact]
    public async Task A_token_of_all_groups_for_a_user_that_did_not_exist_does_not_become_an_admin_created_later()
    {
        using var admin = server.Admin();
        var token = await TokenAsync(admin, "username=phantom-root&scope=member-of-groups:*&expires_in=600");
        using var bearer = server.Bearer(token);
        Assert.Equal(HttpStatusCode.Forbidden, (await bearer.GetAsync("/api/security/users")).StatusCode);

        using var created = await admin.PutAsync("/api/security/users/phantom-root", Json("{\"email\":\"r@x\",\"password\":\"phantom-secret-2\",\"admin\":true}"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client("phantom-root", "phantom-secret-2").GetAsync("/api/security/users")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await bearer.GetAsync("/api/security/users")).StatusCode);
        Assert.NotEqual(HttpStatusCode.OK, (await bearer.GetAsync("/api/storage/docker-local/")).StatusCode);
        using var ping = await bearer.GetAsync(V2 + "/token?scope=repository:any/app:pull,push,delete");
        Assert.Equal(HttpStatusCode.OK, ping.StatusCode);
        var registry = JsonDocument.Parse(await ping.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString()!;
        Assert.Empty(Actions(registry));

        // Nor may it mint a token for the new user, or beyond its own (empty) groups.
        Assert.Equal(HttpStatusCode.Forbidden, (await bearer.PostAsync("/api/security/token", Form("expires_in=60"))).StatusCode);
    }

    [Fact]
    public async Task A_token_for_an_existing_user_does_not_work_for_a_new_user_of_the_same_name()
    {
        using var admin = server.Admin();
        using var created = await admin.PutAsync("/api/security/users/bound", Json("{\"email\":\"b@x\",\"password\":\"bound-secret-1\"}"));
        var token = await TokenAsync(admin, "username=bound&expires_in=600");
        using var bearer = server.Bearer(token);
        Assert.Equal(HttpStatusCode.OK, (await bearer.GetAsync("/api/security/apiKey")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync("/api/security/users/bound")).StatusCode);
        using var again = await admin.PutAsync("/api/security/users/bound", Json("{\"email\":\"b@x\",\"password\":\"bound-secret-1\"}"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await bearer.GetAsync("/api/security/apiKey")).StatusCode);
    }

    /// <summary>The actions a registry token grants on its one scope; empty when none.</summary>
    private static List<string> Actions(string registryToken)
    {
        var text = registryToken.Split('.')[1].Replace('-', '+').Replace('_', '/');
        text = text.PadRight(text.Length + ((4 - (text.Length % 4)) % 4), '=');
        var access = JsonDocument.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(text))).RootElement.GetProperty("access");
        return [.. access.EnumerateArray().SelectMany(a => a.GetProperty("actions").EnumerateArray().Select(x => x.GetString()!))];
    }

    private static async Task<string> RegistryTokenAsync(HttpClient client, string repository) =>
        JsonDocument.Parse(await client.GetStringAsync(V2 + $"/token?scope=repository:{repository}:pull,push")).RootElement.GetProperty("token").GetString()!;
}
