using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Wharf.Server.Tests.Support;
using static Wharf.Server.Tests.Support.CredentialHelpers;
using static Wharf.Server.Tests.V1ConformanceTests;

namespace Wharf.Server.Tests;

/// <summary>Credentials never mint broader credentials, and revocation bites at once.</summary>
public sealed class ReviewRegressionTests(WharfServer server) : IClassFixture<WharfServer>
{
    [Fact]
    public async Task A_token_cannot_mint_an_api_key_or_a_broader_token()
    {
        using var admin = server.Admin();
        await admin.PutAsync("/api/security/users/lena", Json("{\"email\":\"l@x\",\"password\":\"lena-secret-1\",\"groups\":[\"readers\"]}"));
        await admin.PutAsync("/api/security/groups/lena-team", Json("{\"userNames\":[\"lena\"]}"));
        using var lena = server.Client("lena", "lena-secret-1");
        var limited = await TokenAsync(lena, "scope=member-of-groups:readers");
        using var bearer = server.Bearer(limited);
        Assert.Equal(HttpStatusCode.Forbidden, (await bearer.PostAsync("/api/security/apiKey", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await bearer.PostAsync("/api/security/token", Form("expires_in=60"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await bearer.PostAsync("/api/security/token", Form("scope=member-of-groups:lena-team"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await bearer.PostAsync("/api/security/token", Form("scope=member-of-groups:readers"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await server.Client("lena", limited).PostAsync("/api/security/apiKey", null)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await lena.PostAsync("/api/security/token", Form("expires_in=999999999"))).StatusCode);
    }

    [Fact]
    public async Task The_token_endpoint_does_not_accept_its_own_tokens()
    {
        using var alice = server.Client("alice", WharfServer.AlicePassword);
        var registry = JsonDocument.Parse(await alice.GetStringAsync("/artifactory/api/docker/docker-v2-local/v2/token")).RootElement.GetProperty("token").GetString()!;
        using var renew = server.Bearer(registry);
        Assert.Equal(HttpStatusCode.OK, (await renew.GetAsync("/artifactory/api/docker/docker-v2-local/v2/")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await renew.GetAsync("/artifactory/api/docker/docker-v2-local/v2/token")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await renew.GetAsync("/api/storage/docker-local/")).StatusCode);
    }

    [Fact]
    public async Task Deleting_a_user_revokes_its_tokens_and_leaving_a_group_narrows_them()
    {
        using var admin = server.Admin();
        await admin.PutAsync("/api/security/users/omar", Json("{\"email\":\"o@x\",\"password\":\"omar-secret-1\",\"groups\":[]}"));
        await admin.PutAsync("/api/security/groups/omar-team", Json("{\"userNames\":[\"omar\"]}"));
        await admin.PutAsync("/api/security/permissions/omar-team", Json("{\"repositories\":[\"docker-local\"],\"principals\":{\"groups\":{\"omar-team\":[\"r\"]}}}"));
        var scoped = await TokenAsync(server.Client("omar", "omar-secret-1"), "scope=member-of-groups:omar-team");
        using var bearer = server.Bearer(scoped);
        Assert.Equal(HttpStatusCode.OK, (await bearer.GetAsync("/api/storage/docker-local/")).StatusCode);

        await admin.PostAsync("/api/security/groups/omar-team", Json("{\"userNames\":[]}"));
        Assert.Equal(HttpStatusCode.NotFound, (await bearer.GetAsync("/api/storage/docker-local/")).StatusCode);

        var full = await TokenAsync(server.Client("omar", "omar-secret-1"), "expires_in=600");
        using var fullBearer = server.Bearer(full);
        Assert.Equal(HttpStatusCode.OK, (await fullBearer.GetAsync("/api/security/apiKey")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync("/api/security/users/omar")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await fullBearer.GetAsync("/api/security/apiKey")).StatusCode);
    }

    [Fact]
    public async Task Malformed_security_input_is_400_not_500()
    {
        using var admin = server.Admin();
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PutAsync("/api/security/permissions/nulls", Json("{\"repositories\":[\"ANY\"],\"principals\":{\"users\":{\"alice\":null}}}"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PutAsync("/api/security/permissions/nulls", Json("{\"repositories\":[\"ANY\"],\"principals\":{\"users\":{\"alice\":[\"r\",null]}}}"))).StatusCode);
        var multipart = new StringContent("garbage", Encoding.UTF8);
        multipart.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data");
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsync("/api/security/token", multipart)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsync("/api/security/token", Form(new string('k', 5000) + "=v"))).StatusCode);
    }

    [Fact]
    public async Task An_authenticated_ping_needs_read_on_the_repository()
    {
        using var admin = server.Admin();
        await admin.PutAsync("/api/security/users/pia", Json("{\"email\":\"p@x\",\"password\":\"pia-secret-1\",\"groups\":[]}"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client("pia", "pia-secret-1").GetAsync("/artifactory/api/docker/docker-v2-local/v2/")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/artifactory/api/docker/docker-v2-local/v2/")).StatusCode);
    }
}
