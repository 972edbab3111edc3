using System.Net;
using System.Text.Json;
using Wharf.Server.Tests.Support;
using static Wharf.Server.Tests.V1ConformanceTests;

namespace Wharf.Server.Tests;

/// <summary>Users, groups, permission targets and the anonymous switch (rest-api §6), end to end.</summary>
public sealed class SecurityApiTests(WharfServer server) : IClassFixture<WharfServer>
{
    [Fact]
    public async Task Users_are_created_read_updated_and_deleted_without_ever_showing_a_password()
    {
        using var admin = server.Admin();
        Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync("/api/security/users/carol", Json("{\"email\":\"carol@example.com\",\"password\":\"carol-secret-1\"}"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PutAsync("/api/security/users/carol", Json("{\"email\":\"c@x\",\"password\":\"p\"}"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PutAsync("/api/security/users/dave", Json("{\"email\":\"d@x\"}"))).StatusCode);

        var body = await admin.GetStringAsync("/api/security/users/carol");
        Assert.DoesNotContain("carol-secret-1", body, StringComparison.Ordinal);
        var user = JsonDocument.Parse(body).RootElement;
        Assert.False(user.TryGetProperty("password", out _));
        Assert.False(user.TryGetProperty("passwordHash", out _));
        Assert.Equal("carol@example.com", user.GetProperty("email").GetString());
        Assert.Equal(["readers"], user.GetProperty("groups").EnumerateArray().Select(g => g.GetString()));
        Assert.Equal("internal", user.GetProperty("realm").GetString());

        // The new user logs in; a password change takes effect at once.
        Assert.Equal(HttpStatusCode.OK, (await server.Client("carol", "carol-secret-1").GetAsync("/v1/users/")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/api/security/users/carol", Json("{\"password\":\"carol-secret-2\"}"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client("carol", "carol-secret-1").GetAsync("/v1/users/")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/api/security/users/carol", Json("{\"disabled\":true}"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await server.Client("carol", "carol-secret-2").GetAsync("/v1/users/")).StatusCode);

        var list = JsonDocument.Parse(await admin.GetStringAsync("/api/security/users")).RootElement;
        Assert.Contains(list.EnumerateArray(), u => u.GetProperty("name").GetString() == "carol" && u.GetProperty("uri").GetString()!.EndsWith("/api/security/users/carol", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync("/api/security/users/carol")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/security/users/carol")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync("/api/security/users/carol")).StatusCode);
    }

    [Fact]
    public async Task Built_in_users_and_the_last_admin_are_protected()
    {
        using var admin = server.Admin();
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.DeleteAsync("/api/security/users/anonymous")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.DeleteAsync("/api/security/users/admin")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsync("/api/security/users/admin", Json("{\"admin\":false}"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client("anonymous", "").GetAsync("/v1/users/")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/v1/users/")).StatusCode);
    }

    [Fact]
    public async Task Groups_carry_members_and_admin_privileges()
    {
        using var admin = server.Admin();
        await admin.PutAsync("/api/security/users/erin", Json("{\"email\":\"e@x\",\"password\":\"erin-secret-1\"}"));
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PutAsync("/api/security/groups/bad", Json("{\"autoJoin\":true,\"adminPrivileges\":true}"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PutAsync("/api/security/groups/ghosts", Json("{\"userNames\":[\"nobody-here\"]}"))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync("/api/security/groups/ops", Json("{\"description\":\"operators\",\"adminPrivileges\":true,\"userNames\":[\"erin\"]}"))).StatusCode);

        var group = JsonDocument.Parse(await admin.GetStringAsync("/api/security/groups/ops")).RootElement;
        Assert.Equal(["erin"], group.GetProperty("userNames").EnumerateArray().Select(u => u.GetString()));
        Assert.True(group.GetProperty("adminPrivileges").GetBoolean());

        // Members of an admin group are admins.
        using var erin = server.Client("erin", "erin-secret-1");
        Assert.Equal(HttpStatusCode.OK, (await erin.GetAsync("/api/security/users")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/api/security/groups/ops", Json("{\"userNames\":[]}"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await erin.GetAsync("/api/security/users")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync("/api/security/groups/ops")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/security/groups/ops")).StatusCode);
    }

    /// <summary>The README's worked example: team-a reads docker-local and deploys only below acme.</summary>
    [Fact]
    public async Task A_team_reads_everything_and_deploys_only_where_its_target_says()
    {
        using var admin = server.Admin();
        await admin.PutAsync("/api/security/users/tina", Json("{\"email\":\"t@x\",\"password\":\"tina-secret-1\",\"groups\":[]}"));
        await admin.PutAsync("/api/security/users/rita", Json("{\"email\":\"r@x\",\"password\":\"rita-secret-1\",\"groups\":[]}"));
        await admin.PutAsync("/api/security/groups/team-a", Json("{\"userNames\":[\"tina\",\"rita\"]}"));
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/security/permissions/team-a-read", Json(
            "{\"repositories\":[\"docker-local\"],\"includesPattern\":\"**\",\"principals\":{\"groups\":{\"team-a\":[\"r\"]}}}"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/security/permissions/team-a-deploy", Json(
            "{\"repositories\":[\"docker-local\"],\"includesPattern\":\"repositories/acme/**,.images/**\",\"principals\":{\"users\":{\"tina\":[\"w\"]}}}"))).StatusCode);

        var chain = TestImage.Chain(DockerVersion.V1_12, 2);
        using (var tina = new DockerV1Client(server.BaseAddress, "/v1/", DockerVersion.V1_12, AuthStyle.BasicOnIndexThenToken, "tina", "tina-secret-1"))
        {
            await tina.PushAsync("acme/app", "1", chain);
            Assert.Equal(chain[^1].Layer, (await tina.PullAsync("acme/app", "1"))[^1].Layer);
        }

        // Deploy outside acme is refused (403: authenticated, not permitted); rita may only read.
        using var tinaHttp = server.Client("tina", "tina-secret-1");
        await AssertErrorAsync(await tinaHttp.PutAsync("/v1/repositories/other/app/", Json("[]")), 403, "access denied");
        using var rita = server.Client("rita", "rita-secret-1");
        await AssertErrorAsync(await rita.PutAsync("/v1/repositories/acme/app/", Json("[]")), 403, "access denied");
        Assert.Equal(HttpStatusCode.OK, (await rita.GetAsync("/v1/repositories/acme/app/tags/1")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await rita.DeleteAsync("/v1/repositories/acme/app/tags/1")).StatusCode);

        // Effective permissions at the path, as the admin sees them.
        var permissions = JsonDocument.Parse(await admin.GetStringAsync("/api/storage/docker-local/repositories/acme/app?permissions")).RootElement.GetProperty("principals");
        Assert.Equal(["r", "w"], permissions.GetProperty("users").GetProperty("tina").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(["r"], permissions.GetProperty("groups").GetProperty("team-a").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(HttpStatusCode.Forbidden, (await rita.GetAsync("/api/storage/docker-local/repositories/acme/app?permissions")).StatusCode);

        var target = JsonDocument.Parse(await admin.GetStringAsync("/api/security/permissions/team-a-deploy")).RootElement;
        Assert.Equal("repositories/acme/**,.images/**", target.GetProperty("includesPattern").GetString());
        Assert.Equal(["w"], target.GetProperty("principals").GetProperty("users").GetProperty("tina").EnumerateArray().Select(a => a.GetString()));
    }

    [Fact]
    public async Task Search_lists_only_repositories_the_caller_may_read()
    {
        using var admin = server.Admin();
        await admin.PutAsync("/v1/repositories/hidden/app/", Json("[]"));
        await admin.PutAsync("/v1/repositories/shown/app/", Json("[]"));
        await admin.PutAsync("/api/security/users/sam", Json("{\"email\":\"s@x\",\"password\":\"sam-secret-1\",\"groups\":[]}"));
        await admin.PutAsync("/api/security/permissions/sam-shown", Json(
            "{\"repositories\":[\"docker-local\"],\"includesPattern\":\"repositories/shown/**\",\"principals\":{\"users\":{\"sam\":[\"r\"]}}}"));
        var names = JsonDocument.Parse(await server.Client("sam", "sam-secret-1").GetStringAsync("/v1/search?q=app")).RootElement
            .GetProperty("results").EnumerateArray().Select(r => r.GetProperty("name").GetString()).ToList();
        Assert.Contains("shown/app", names);
        Assert.DoesNotContain("hidden/app", names);
    }

    [Fact]
    public async Task A_manager_of_a_target_may_read_it_and_change_its_principals_only()
    {
        using var admin = server.Admin();
        await admin.PutAsync("/api/security/users/mia", Json("{\"email\":\"m@x\",\"password\":\"mia-secret-1\",\"groups\":[]}"));
        await admin.PutAsync("/api/security/users/ned", Json("{\"email\":\"n@x\",\"password\":\"ned-secret-1\",\"groups\":[]}"));
        await admin.PutAsync("/api/security/permissions/mia-team", Json(
            "{\"repositories\":[\"docker-local\"],\"includesPattern\":\"repositories/mia/**\",\"principals\":{\"users\":{\"mia\":[\"m\"]}}}"));
        using var mia = server.Client("mia", "mia-secret-1");
        Assert.Equal(HttpStatusCode.OK, (await mia.GetAsync("/api/security/permissions/mia-team")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await mia.GetAsync("/api/security/permissions/Anything")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await mia.PutAsync("/api/security/permissions/mia-team", Json(
            "{\"principals\":{\"users\":{\"mia\":[\"m\"],\"ned\":[\"r\",\"w\"]}}}"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await mia.PutAsync("/api/security/permissions/mia-team", Json(
            "{\"includesPattern\":\"**\",\"principals\":{\"users\":{\"mia\":[\"m\"]}}}"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await mia.DeleteAsync("/api/security/permissions/mia-team")).StatusCode);

        var target = JsonDocument.Parse(await admin.GetStringAsync("/api/security/permissions/mia-team")).RootElement;
        Assert.Equal("repositories/mia/**", target.GetProperty("includesPattern").GetString());
        Assert.Equal(["r", "w"], target.GetProperty("principals").GetProperty("users").GetProperty("ned").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(HttpStatusCode.Forbidden, (await server.Client("ned", "ned-secret-1").GetAsync("/api/security/permissions/mia-team")).StatusCode);
    }

    [Fact]
    public async Task Booleans_may_be_sent_as_strings()
    {
        using var admin = server.Admin();
        Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync("/api/security/users/stringy", Json("{\"email\":\"s@x\",\"password\":\"stringy-secret-1\",\"admin\":\"false\"}"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/api/security/users/stringy", Json("{\"disabled\":\"true\"}"))).StatusCode);
        Assert.True(JsonDocument.Parse(await admin.GetStringAsync("/api/security/users/stringy")).RootElement.GetProperty("disabled").GetBoolean());
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsync("/api/security/users/stringy", Json("{\"disabled\":\"maybe\"}"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/security/anonymousAccess", Json("{\"enabled\":\"true\"}"))).StatusCode);
    }

    [Fact]
    public async Task Deleted_users_and_groups_leave_every_permission_target()
    {
        using var admin = server.Admin();
        await admin.PutAsync("/api/security/users/ghost", Json("{\"email\":\"g@x\",\"password\":\"ghost-secret-1\"}"));
        await admin.PutAsync("/api/security/groups/ghosts", Json("{}"));
        await admin.PutAsync("/api/security/permissions/haunted", Json(
            "{\"repositories\":[\"docker-local\"],\"principals\":{\"users\":{\"ghost\":[\"w\"],\"alice\":[\"r\"]},\"groups\":{\"ghosts\":[\"r\"]}}}"));
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync("/api/security/users/ghost")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync("/api/security/groups/ghosts")).StatusCode);

        var principals = JsonDocument.Parse(await admin.GetStringAsync("/api/security/permissions/haunted")).RootElement.GetProperty("principals");
        Assert.Equal(["alice"], principals.GetProperty("users").EnumerateObject().Select(p => p.Name));
        Assert.Empty(principals.GetProperty("groups").EnumerateObject());

        // A new user of the same name starts with nothing.
        await admin.PutAsync("/api/security/users/ghost", Json("{\"email\":\"g@x\",\"password\":\"ghost-secret-2\",\"groups\":[]}"));
        await AssertErrorAsync(await server.Client("ghost", "ghost-secret-2").PutAsync("/v1/repositories/ghost/app/", Json("[]")), 403, "access denied");
    }

    [Fact]
    public async Task Permission_targets_are_validated()
    {
        using var admin = server.Admin();
        foreach (var body in new[]
        {
            "{\"repositories\":[]}",
            "{\"repositories\":[\"no-such-repo\"]}",
            "{\"repositories\":[\"ANY\"],\"principals\":{\"users\":{\"alice\":[\"x\"]}}}",
            "{\"repositories\":[\"ANY\"],\"principals\":{\"users\":{\"nobody-here\":[\"r\"]}}}",
            "{\"repositories\":[\"ANY\"],\"principals\":{\"groups\":{\"no-group\":[\"r\"]}}}",
            "{\"repositories\":[\"ANY\"],\"includesPattern\":\"" + new string('a', 1100) + "\"}",
            "{\"repositories\":\"ANY\"}",
            "not json",
        })
        {
            using var response = await admin.PutAsync("/api/security/permissions/bad-target", Json(body));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal(400, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("errors")[0].GetProperty("status").GetInt32());
        }

        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/security/permissions/bad-target")).StatusCode);
    }

    [Fact]
    public async Task Anonymous_access_is_switched_by_admins_only()
    {
        using var admin = server.Admin();
        Assert.True(JsonDocument.Parse(await admin.GetStringAsync("/api/security/anonymousAccess")).RootElement.GetProperty("enabled").GetBoolean());
        Assert.Equal(HttpStatusCode.Forbidden, (await server.Client("alice", WharfServer.AlicePassword).PutAsync("/api/security/anonymousAccess", Json("{\"enabled\":false}"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PutAsync("/api/security/anonymousAccess", Json("{}"))).StatusCode);
        try
        {
            Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/security/anonymousAccess", Json("{\"enabled\":false}"))).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client().GetAsync("/api/storage/docker-public/")).StatusCode);
        }
        finally
        {
            await admin.PutAsync("/api/security/anonymousAccess", Json("{\"enabled\":true}"));
        }

        Assert.Equal(HttpStatusCode.OK, (await server.Client().GetAsync("/api/storage/docker-public/")).StatusCode);
    }

    [Fact]
    public async Task Force_authentication_answers_401_to_anonymous_callers_even_where_they_may_read()
    {
        const string forced = "/artifactory/api/docker/docker-forced/v1";
        using (var docker = new DockerV1Client(server.BaseAddress, forced + "/", DockerVersion.V1_9, AuthStyle.BasicEverywhere, "alice", WharfServer.AlicePassword))
        {
            await docker.PushAsync("forced/app", "1", TestImage.Chain(DockerVersion.V1_9, 1));
        }

        using var anonymous = server.Client();
        await AssertErrorAsync(await anonymous.GetAsync(forced + "/repositories/forced/app/images"), 401, "Requires authorization");
        await AssertErrorAsync(await anonymous.GetAsync(forced + "/repositories/forced/app/tags"), 401, "Requires authorization");
        await AssertErrorAsync(await anonymous.GetAsync(forced + "/search?q=app"), 401, "Requires authorization");
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(forced + "/_ping")).StatusCode);

        // The same repository without the flag, docker-public, stays readable anonymously; and
        // the forced one still serves anonymous storage reads (the flag concerns the registry).
        Assert.Equal(HttpStatusCode.OK, (await server.Client("alice", WharfServer.AlicePassword).GetAsync(forced + "/repositories/forced/app/tags")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/api/storage/docker-forced/repositories/forced/app")).StatusCode);
    }

    [Theory]
    [InlineData("GET", "/api/security/users")]
    [InlineData("GET", "/api/security/groups")]
    [InlineData("GET", "/api/security/permissions")]
    [InlineData("PUT", "/api/security/users/x")]
    [InlineData("DELETE", "/api/security/permissions/Anything")]
    [InlineData("GET", "/artifactory/api/security/anonymousAccess")]
    public async Task Security_routes_need_an_admin(string method, string path)
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client().SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = Json("{}") })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client("admin", "wrong").SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = Json("{}") })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await server.Client("alice", WharfServer.AlicePassword).SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = Json("{}") })).StatusCode);
    }
}
