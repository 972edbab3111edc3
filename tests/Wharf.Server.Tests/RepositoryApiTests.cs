using System.Net;
using System.Text;
using System.Text.Json;
using Wharf.Core.Metadata;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>
/// The repositories API (rest-api §2.1–§2.3) end to end: create, read, list, update and delete,
/// the error envelope of §1.2, and the settings that change what the registry routes allow
/// (blackedOut, includesPattern/excludesPattern). Every test uses its own repository keys
/// because the server is shared by the class.
/// </summary>
public sealed class RepositoryApiTests(WharfServer server) : IClassFixture<WharfServer>
{
    private const string ConfigMediaType = "application/vnd.org.jfrog.artifactory.repositories.LocalRepositoryConfiguration+json";

    /// <summary>Every field of the §2.2 table plus the echoed Maven fields, as an admin sees them.</summary>
    private static readonly string[] AdminFields =
    [
        "key", "rclass", "packageType", "description", "notes", "includesPattern", "excludesPattern", "repoLayoutRef",
        "dockerApiVersion", "forceDockerAuthentication", "maxUniqueTags", "dockerTagRetention", "blockPushingSchema1",
        "blackedOut", "propertySets", "registryPort", "created",
        "handleReleases", "handleSnapshots", "maxUniqueSnapshots", "snapshotVersionBehavior", "suppressPomConsistencyChecks", "checksumPolicyType",
    ];

    [Theory]
    [InlineData("/api")]
    [InlineData("/artifactory/api")]
    public async Task Create_then_get_returns_every_field_with_the_values_sent(string api)
    {
        var key = "ra-full" + (api.Length > 4 ? "-art" : "");
        var port = api.Length > 4 ? 15111 : 15101;
        using var admin = server.Admin();
        using var created = await admin.PutAsync($"{api}/repositories/{key}", Json($$"""
            {"key":"{{key}}","rclass":"local","packageType":"docker","description":"internal images","notes":"owned by platform team",
             "includesPattern":"repositories/**,.images/**","excludesPattern":"repositories/secret/**","repoLayoutRef":"simple-default",
             "dockerApiVersion":"V1","forceDockerAuthentication":true,"maxUniqueTags":3,"dockerTagRetention":2,
             "blockPushingSchema1":true,"blackedOut":false,"propertySets":["artifactory","custom"],"registryPort":{{port}},
             "handleReleases":true,"handleSnapshots":true,"maxUniqueSnapshots":0,"snapshotVersionBehavior":"unique",
             "suppressPomConsistencyChecks":false,"checksumPolicyType":"client-checksums"}
            """));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        Assert.Equal("text/plain", created.Content.Headers.ContentType!.MediaType);
        Assert.Equal($"Successfully created repository '{key}'", await created.Content.ReadAsStringAsync());

        using var response = await admin.GetAsync($"{api}/repositories/{key}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(ConfigMediaType, response.Content.Headers.ContentType!.MediaType);
        var config = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        foreach (var field in AdminFields)
        {
            Assert.True(config.TryGetProperty(field, out _), $"missing field '{field}'");
        }

        Assert.Equal(key, config.GetProperty("key").GetString());
        Assert.Equal("local", config.GetProperty("rclass").GetString());
        Assert.Equal("docker", config.GetProperty("packageType").GetString());
        Assert.Equal("internal images", config.GetProperty("description").GetString());
        Assert.Equal("owned by platform team", config.GetProperty("notes").GetString());
        Assert.Equal("repositories/**,.images/**", config.GetProperty("includesPattern").GetString());
        Assert.Equal("repositories/secret/**", config.GetProperty("excludesPattern").GetString());
        Assert.Equal("simple-default", config.GetProperty("repoLayoutRef").GetString());
        Assert.Equal("V1", config.GetProperty("dockerApiVersion").GetString());
        Assert.True(config.GetProperty("forceDockerAuthentication").GetBoolean());
        Assert.Equal(3, config.GetProperty("maxUniqueTags").GetInt32());
        Assert.Equal(2, config.GetProperty("dockerTagRetention").GetInt32());
        Assert.True(config.GetProperty("blockPushingSchema1").GetBoolean());
        Assert.False(config.GetProperty("blackedOut").GetBoolean());
        Assert.Equal(["artifactory", "custom"], config.GetProperty("propertySets").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(port, config.GetProperty("registryPort").GetInt32());
        AssertMavenDefaults(config);
    }

    [Fact]
    public async Task Missing_fields_take_the_spec_defaults_and_created_is_utc_with_milliseconds()
    {
        using var admin = server.Admin();
        var before = DateTimeOffset.UtcNow.AddSeconds(-5);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/repositories/ra-defaults", Json("""{"key":"ra-defaults","packageType":"docker"}"""))).StatusCode);

        var config = await GetConfigAsync(admin, "ra-defaults");
        Assert.Equal("local", config.GetProperty("rclass").GetString());
        Assert.Equal("docker", config.GetProperty("packageType").GetString());
        Assert.Equal("", config.GetProperty("description").GetString());
        Assert.Equal("", config.GetProperty("notes").GetString());
        Assert.Equal("**/*", config.GetProperty("includesPattern").GetString());
        Assert.Equal("", config.GetProperty("excludesPattern").GetString());
        Assert.Equal("simple-default", config.GetProperty("repoLayoutRef").GetString());
        Assert.Equal("V2", config.GetProperty("dockerApiVersion").GetString());
        Assert.False(config.GetProperty("forceDockerAuthentication").GetBoolean());
        Assert.Equal(0, config.GetProperty("maxUniqueTags").GetInt32());
        Assert.Equal(1, config.GetProperty("dockerTagRetention").GetInt32());
        Assert.False(config.GetProperty("blockPushingSchema1").GetBoolean());
        Assert.False(config.GetProperty("blackedOut").GetBoolean());
        Assert.Empty(config.GetProperty("propertySets").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, config.GetProperty("registryPort").ValueKind);
        AssertMavenDefaults(config);

        var created = config.GetProperty("created").GetString()!;
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", created);
        var when = DateTimeOffset.Parse(created, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(when, before, DateTimeOffset.UtcNow.AddSeconds(5));
    }

    [Fact]
    public async Task Admin_sees_notes_and_registry_port_while_a_plain_reader_does_not()
    {
        using var admin = server.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/repositories/ra-private", Json(
            """{"key":"ra-private","packageType":"docker","description":"seen by all","notes":"admins only","registryPort":15102}"""))).StatusCode);

        var full = await GetConfigAsync(admin, "ra-private");
        Assert.Equal("admins only", full.GetProperty("notes").GetString());
        Assert.Equal(15102, full.GetProperty("registryPort").GetInt32());

        using var alice = Alice();
        var reader = await GetConfigAsync(alice, "ra-private");
        Assert.Equal("seen by all", reader.GetProperty("description").GetString());
        Assert.False(reader.TryGetProperty("notes", out _), "notes leaked to a reader");
        Assert.False(reader.TryGetProperty("registryPort", out _), "registryPort leaked to a reader");
        Assert.Equal("V2", reader.GetProperty("dockerApiVersion").GetString());
    }

    [Fact]
    public async Task Get_answers_401_to_anonymous_and_404_to_users_who_cannot_read_or_for_unknown_keys()
    {
        // Anonymous lacking read on an existing repository is asked to log in (§1.5).
        using var anonymous = server.Client();
        using (var response = await anonymous.GetAsync("/api/repositories/docker-local"))
        {
            await AssertErrorAsync(response, 401);
            Assert.Equal("Basic realm=\"Artifactory Realm\"", response.Headers.WwwAuthenticate.ToString());
        }

        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/api/repositories/docker-public")).StatusCode);
        await AssertErrorAsync(await anonymous.GetAsync("/api/repositories/ra-no-such"), 404);

        // Users see 404 both for unknown keys and for repositories they cannot read (§2.1).
        using var alice = Alice();
        await AssertErrorAsync(await alice.GetAsync("/api/repositories/ra-no-such"), 404);
        await AssertErrorAsync(await server.Admin().GetAsync("/artifactory/api/repositories/ra-no-such"), 404);

        using var admin = server.Admin();
        Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync("/api/security/users/ra-nobody", Json("""{"email":"n@x","password":"nobody-secret-1","groups":[]}"""))).StatusCode);
        await AssertErrorAsync(await server.Client("ra-nobody", "nobody-secret-1").GetAsync("/api/repositories/docker-local"), 404);
        await AssertErrorAsync(await server.Client("admin", "wrong").GetAsync("/api/repositories/docker-local"), 401);
    }

    [Theory]
    [InlineData("/api")]
    [InlineData("/artifactory/api")]
    public async Task List_filters_by_type_and_package_type_case_insensitively(string api)
    {
        using var admin = server.Admin();
        var all = await ListAsync(admin, $"{api}/repositories");
        var local = all.Single(r => r.GetProperty("key").GetString() == "docker-local");
        Assert.Equal("LOCAL", local.GetProperty("type").GetString());
        Assert.Equal("Docker", local.GetProperty("packageType").GetString());
        Assert.Equal(new Uri(server.BaseAddress, "/artifactory/docker-local").ToString(), local.GetProperty("url").GetString());
        Assert.True(local.TryGetProperty("description", out _));
        Assert.Equal("public", all.Single(r => r.GetProperty("key").GetString() == "docker-public").GetProperty("description").GetString());

        using (var response = await admin.GetAsync($"{api}/repositories"))
        {
            Assert.Equal("application/vnd.org.jfrog.artifactory.repositories.RepositoryDetailsList+json", response.Content.Headers.ContentType!.MediaType);
        }

        foreach (var query in new[] { "type=local", "type=LOCAL", "packageType=docker", "packageType=DOCKER", "type=Local&packageType=Docker" })
        {
            var keys = Keys(await ListAsync(admin, $"{api}/repositories?{query}"));
            Assert.Equal(Keys(all), keys);
        }

        foreach (var query in new[] { "type=remote", "type=VIRTUAL", "type=federated", "packageType=maven", "type=local&packageType=npm" })
        {
            Assert.Empty(await ListAsync(admin, $"{api}/repositories?{query}"));
        }

        await AssertErrorAsync(await admin.GetAsync($"{api}/repositories?type=bogus"), 400);
    }

    [Fact]
    public async Task List_shows_only_the_repositories_the_caller_can_read()
    {
        using var admin = server.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/repositories/ra-listed", Json("""{"key":"ra-listed","packageType":"docker"}"""))).StatusCode);
        var adminKeys = Keys(await ListAsync(admin, "/api/repositories"));
        Assert.Superset(new HashSet<string> { "docker-local", "docker-v2-local", "docker-public", "docker-forced", "repositories", "ra-listed" }, adminKeys);

        // Anonymous access is on, but only the anonymousRead repositories are readable anonymously.
        var anonymousKeys = Keys(await ListAsync(server.Client(), "/api/repositories"));
        Assert.Contains("docker-public", anonymousKeys);
        Assert.Contains("docker-forced", anonymousKeys);
        Assert.DoesNotContain("docker-local", anonymousKeys);
        Assert.DoesNotContain("docker-v2-local", anonymousKeys);
        Assert.DoesNotContain("ra-listed", anonymousKeys);

        // alice reads every local repository; a user without grants sees none.
        Assert.Superset(new HashSet<string> { "docker-local", "ra-listed" }, Keys(await ListAsync(Alice(), "/artifactory/api/repositories")));
        Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync("/api/security/users/ra-empty", Json("""{"email":"e@x","password":"empty-secret-1","groups":[]}"""))).StatusCode);
        Assert.Empty(await ListAsync(server.Client("ra-empty", "empty-secret-1"), "/api/repositories"));

        await AssertErrorAsync(await server.Client("admin", "wrong").GetAsync("/api/repositories"), 401);
    }

    [Fact]
    public async Task Post_changes_only_the_fields_it_carries()
    {
        using var admin = server.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/repositories/ra-partial", Json(
            """{"key":"ra-partial","packageType":"docker","description":"before","notes":"kept","maxUniqueTags":5,"propertySets":["a"]}"""))).StatusCode);
        var before = await GetConfigAsync(admin, "ra-partial");

        using (var updated = await admin.PostAsync("/api/repositories/ra-partial", Json("""{"description":"after","blockPushingSchema1":true}""")))
        {
            Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
            Assert.Equal("text/plain", updated.Content.Headers.ContentType!.MediaType);
            Assert.Equal("Repository ra-partial update successful.", await updated.Content.ReadAsStringAsync());
        }

        var after = await GetConfigAsync(admin, "ra-partial");
        Assert.Equal("after", after.GetProperty("description").GetString());
        Assert.True(after.GetProperty("blockPushingSchema1").GetBoolean());
        foreach (var field in AdminFields.Except(["description", "blockPushingSchema1"]))
        {
            Assert.Equal(before.GetProperty(field).GetRawText(), after.GetProperty(field).GetRawText());
        }

        // The vendor media type and string booleans are accepted too (§1.3, §2.1).
        using var vendor = new StringContent("""{"forceDockerAuthentication":"true","registryPort":15103}""", Encoding.UTF8, ConfigMediaType);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/artifactory/api/repositories/ra-partial", vendor)).StatusCode);
        after = await GetConfigAsync(admin, "ra-partial");
        Assert.True(after.GetProperty("forceDockerAuthentication").GetBoolean());
        Assert.Equal(15103, after.GetProperty("registryPort").GetInt32());
        Assert.Equal("kept", after.GetProperty("notes").GetString());

        // An explicit null clears the port.
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/api/repositories/ra-partial", Json("""{"registryPort":null}"""))).StatusCode);
        Assert.Equal(JsonValueKind.Null, (await GetConfigAsync(admin, "ra-partial")).GetProperty("registryPort").ValueKind);
    }

    [Theory]
    [InlineData("key", "\"ra-other\"")]
    [InlineData("rclass", "\"remote\"")]
    [InlineData("packageType", "\"generic\"")]
    [InlineData("dockerApiVersion", "\"V1\"")]
    [InlineData("dockerApiVersion", "null")]
    public async Task Post_refuses_a_different_value_for_an_immutable_field_and_changes_nothing(string field, string value)
    {
        var key = $"ra-immutable-{field.ToLowerInvariant()}-{(value == "null" ? "null" : "value")}";
        using var admin = server.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync($"/api/repositories/{key}", Json($$"""{"key":"{{key}}","packageType":"docker","description":"original"}"""))).StatusCode);
        var before = await GetConfigAsync(admin, key);

        var message = await AssertErrorAsync(await admin.PostAsync($"/api/repositories/{key}", Json($$"""{"description":"changed","{{field}}":{{value}}}""")), 400);
        Assert.Equal($"Field '{field}' cannot be changed.", message);
        Assert.Equal(before.GetRawText(), (await GetConfigAsync(admin, key)).GetRawText());
    }

    [Fact]
    public async Task Post_allows_immutable_fields_with_the_same_value()
    {
        using var admin = server.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/repositories/ra-same", Json("""{"key":"ra-same","packageType":"docker","dockerApiVersion":"V1"}"""))).StatusCode);

        // A client that GETs, edits and POSTs the whole document back must succeed.
        var document = (await GetConfigAsync(admin, "ra-same")).GetRawText().Replace("\"description\":\"\"", "\"description\":\"round trip\"", StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/api/repositories/ra-same", Json(document))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/api/repositories/ra-same", Json(
            """{"key":"ra-same","rclass":"local","packageType":"docker","dockerApiVersion":"V1","notes":"same"}"""))).StatusCode);

        // PUT reads key, rclass and packageType without regard to case, so the same value in another case is no change.
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/api/repositories/ra-same", Json(
            """{"key":"RA-SAME","rclass":"LOCAL","packageType":"Docker","dockerApiVersion":"V1"}"""))).StatusCode);
        Assert.Equal("ra-same", (await GetConfigAsync(admin, "ra-same")).GetProperty("key").GetString());

        var config = await GetConfigAsync(admin, "ra-same");
        Assert.Equal("round trip", config.GetProperty("description").GetString());
        Assert.Equal("same", config.GetProperty("notes").GetString());
        Assert.Equal("V1", config.GetProperty("dockerApiVersion").GetString());
    }

    [Fact]
    public async Task Post_answers_404_for_an_unknown_repository_and_409_for_a_port_in_use()
    {
        using var admin = server.Admin();
        await AssertErrorAsync(await admin.PostAsync("/api/repositories/ra-never-created", Json("""{"description":"x"}""")), 404);
        await AssertErrorAsync(await admin.GetAsync("/api/repositories/ra-never-created"), 404);

        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/repositories/ra-port-a", Json("""{"key":"ra-port-a","packageType":"docker","registryPort":15201}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/repositories/ra-port-b", Json("""{"key":"ra-port-b","packageType":"docker","registryPort":15202}"""))).StatusCode);

        // Taking another repository's port is a conflict, on update and on create; nothing changes.
        await AssertErrorAsync(await admin.PostAsync("/api/repositories/ra-port-b", Json("""{"registryPort":15201,"description":"moved"}""")), 409);
        var b = await GetConfigAsync(admin, "ra-port-b");
        Assert.Equal(15202, b.GetProperty("registryPort").GetInt32());
        Assert.Equal("", b.GetProperty("description").GetString());
        await AssertErrorAsync(await admin.PutAsync("/api/repositories/ra-port-c", Json("""{"key":"ra-port-c","packageType":"docker","registryPort":15201}""")), 409);
        await AssertErrorAsync(await admin.GetAsync("/api/repositories/ra-port-c"), 404);

        // Re-sending a repository's own port is no clash.
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/api/repositories/ra-port-a", Json("""{"registryPort":15201}"""))).StatusCode);
    }

    [Theory]
    [InlineData("""{"description":"x",""", "Malformed JSON")]
    [InlineData("""["description"]""", "JSON object")]
    [InlineData("""{"description":"x","maxUniqueTags":-1}""", "maxUniqueTags")]
    [InlineData("""{"description":"x","dockerTagRetention":"many"}""", "dockerTagRetention")]
    [InlineData("""{"description":"x","forceDockerAuthentication":5}""", "forceDockerAuthentication")]
    [InlineData("""{"description":"x","propertySets":{"a":1}}""", "propertySets")]
    [InlineData("""{"description":"x","registryPort":"port"}""", "registryPort")]
    public async Task Post_with_bad_input_is_400_and_changes_nothing(string body, string fragment)
    {
        using var admin = server.Admin();
        if ((await admin.GetAsync("/api/repositories/ra-post-bad")).StatusCode == HttpStatusCode.NotFound)
        {
            Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/repositories/ra-post-bad", Json("""{"key":"ra-post-bad","packageType":"docker","description":"original"}"""))).StatusCode);
        }

        var before = await GetConfigAsync(admin, "ra-post-bad");
        var message = await AssertErrorAsync(await admin.PostAsync("/api/repositories/ra-post-bad", Json(body)), 400);
        Assert.Contains(fragment, message, StringComparison.Ordinal);
        Assert.Equal(before.GetRawText(), (await GetConfigAsync(admin, "ra-post-bad")).GetRawText());
    }

    public static TheoryData<string, string, string> BadCreates() => new()
    {
        // urlKey, body, a fragment the message must contain
        { "ra-bad-json", """{"key":"ra-bad-json",""", "Malformed JSON" },
        { "ra-bad-array", """[{"key":"ra-bad-array"}]""", "JSON object" },
        { "ra-bad-string", "\"ra-bad-string\"", "JSON object" },
        { "ra-bad-empty", "", "" },
        { "ra-bad-nokey", """{"packageType":"docker"}""", "key" },
        { "ra-bad-numkey", """{"key":5,"packageType":"docker"}""", "key" },
        { "ra-bad-otherkey", """{"key":"ra-bad-different","packageType":"docker"}""", "key" },
        { "ra-bad-casekey", """{"key":"RA-BAD-CASEKEY","packageType":"docker"}""", "key" },
        { "Ra-Upper", """{"key":"Ra-Upper","packageType":"docker"}""", "lower-case" },
        { "ra_under", """{"key":"ra_under","packageType":"docker"}""", "" },
        { "ra-thing-cache", """{"key":"ra-thing-cache","packageType":"docker"}""", "-cache" },
        { "api", """{"key":"api","packageType":"docker"}""", "reserved" },
        { "v2", """{"key":"v2","packageType":"docker"}""", "reserved" },
        { "v1", """{"key":"v1","packageType":"docker"}""", "reserved" },
        { "metrics", """{"key":"metrics","packageType":"docker"}""", "reserved" },
        { "-ra-dash", """{"key":"-ra-dash","packageType":"docker"}""", "start" },
        { ".ra-dot", """{"key":".ra-dot","packageType":"docker"}""", "start" },
        { new string('r', 65), $$"""{"key":"{{new string('r', 65)}}","packageType":"docker"}""", "64" },
        { "docker-local", """{"key":"docker-local","packageType":"docker"}""", "already exists" },
        { "ra-bad-remote", """{"key":"ra-bad-remote","rclass":"remote","packageType":"docker"}""", "Repository class 'remote' is not supported for docker" },
        { "ra-bad-virtual", """{"key":"ra-bad-virtual","rclass":"virtual","packageType":"docker"}""", "Repository class 'virtual' is not supported for docker" },
        { "ra-bad-federated", """{"key":"ra-bad-federated","rclass":"federated","packageType":"docker"}""", "Repository class 'federated' is not supported for docker" },
        { "ra-bad-rclass", """{"key":"ra-bad-rclass","rclass":"galactic","packageType":"docker"}""", "galactic" },
        { "ra-bad-maven", """{"key":"ra-bad-maven","packageType":"maven"}""", "maven" },
        { "ra-bad-generic", """{"key":"ra-bad-generic"}""", "generic" },
        { "ra-bad-oldshape", """{"key":"ra-bad-oldshape","packageType":"generic","enableDockerSupport":false}""", "generic" },
        { "ra-bad-v3", """{"key":"ra-bad-v3","packageType":"docker","dockerApiVersion":"V3"}""", "dockerApiVersion" },
        { "ra-bad-lowerv", """{"key":"ra-bad-lowerv","packageType":"docker","dockerApiVersion":"v2"}""", "dockerApiVersion" },
        { "ra-bad-tags-text", """{"key":"ra-bad-tags-text","packageType":"docker","maxUniqueTags":"abc"}""", "maxUniqueTags" },
        { "ra-bad-tags-neg", """{"key":"ra-bad-tags-neg","packageType":"docker","maxUniqueTags":-1}""", "maxUniqueTags" },
        { "ra-bad-tags-frac", """{"key":"ra-bad-tags-frac","packageType":"docker","maxUniqueTags":1.5}""", "maxUniqueTags" },
        { "ra-bad-retention", """{"key":"ra-bad-retention","packageType":"docker","dockerTagRetention":0}""", "dockerTagRetention" },
        { "ra-bad-force", """{"key":"ra-bad-force","packageType":"docker","forceDockerAuthentication":5}""", "forceDockerAuthentication" },
        { "ra-bad-blackout", """{"key":"ra-bad-blackout","packageType":"docker","blackedOut":"maybe"}""", "blackedOut" },
        { "ra-bad-sets", """{"key":"ra-bad-sets","packageType":"docker","propertySets":"artifactory"}""", "propertySets" },
        { "ra-bad-sets-num", """{"key":"ra-bad-sets-num","packageType":"docker","propertySets":[1]}""", "propertySets" },
        { "ra-bad-desc", """{"key":"ra-bad-desc","packageType":"docker","description":42}""", "description" },
        { "ra-bad-ctrl", """{"key":"ra-bad-ctrl","packageType":"docker","description":"bell\u0007"}""", "description" },
        { "ra-bad-long-notes", $$"""{"key":"ra-bad-long-notes","packageType":"docker","notes":"{{new string('n', 4097)}}"}""", "notes" },
        { "ra-bad-port", """{"key":"ra-bad-port","packageType":"docker","registryPort":70000}""", "registryPort" },
        { "ra-bad-port-zero", """{"key":"ra-bad-port-zero","packageType":"docker","registryPort":0}""", "registryPort" },
    };

    [Theory]
    [MemberData(nameof(BadCreates))]
    public async Task Put_with_bad_input_is_400_in_the_error_envelope_and_creates_nothing(string urlKey, string body, string fragment)
    {
        using var admin = server.Admin();
        var before = Keys(await ListAsync(admin, "/api/repositories"));

        var message = await AssertErrorAsync(await admin.PutAsync($"/api/repositories/{urlKey}", Json(body)), 400);
        Assert.Contains(fragment, message, StringComparison.Ordinal);

        Assert.Equal(before, Keys(await ListAsync(admin, "/api/repositories")));
        if (urlKey != "docker-local")
        {
            await AssertErrorAsync(await admin.GetAsync($"/api/repositories/{urlKey.ToLowerInvariant()}"), 404);
        }
    }

    [Fact]
    public async Task Keys_are_unique_regardless_of_case()
    {
        // The API cannot create a mixed-case key, so plant one as an older install might have.
        await using (var tx = await server.Store.BeginAsync(default))
        {
            Assert.True(await tx.Repositories.TryCreateAsync(new RepositoryConfig("Ra-Legacy", DockerApiVersion.V1), default));
            await tx.CommitAsync(default);
        }

        using var admin = server.Admin();
        var message = await AssertErrorAsync(await admin.PutAsync("/api/repositories/ra-legacy", Json("""{"key":"ra-legacy","packageType":"docker"}""")), 400);
        Assert.Contains("already exists", message, StringComparison.Ordinal);
        Assert.Single(Keys(await ListAsync(admin, "/api/repositories")), k => k.Equals("ra-legacy", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Put_refuses_an_oversized_body_with_413()
    {
        using var admin = server.Admin();
        var padding = new string('x', 70 * 1024);
        var message = await AssertErrorAsync(await admin.PutAsync("/api/repositories/ra-huge", Json($$"""{"key":"ra-huge","packageType":"docker","padding":"{{padding}}"}""")), 413);
        Assert.False(string.IsNullOrEmpty(message));
        await AssertErrorAsync(await admin.GetAsync("/api/repositories/ra-huge"), 404);

        // Without a Content-Length the limit holds as well.
        using var chunked = new HttpRequestMessage(HttpMethod.Put, "/api/repositories/ra-huge") { Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes($$"""{"key":"ra-huge","packageType":"docker","padding":"{{padding}}"}"""))) };
        chunked.Headers.TransferEncodingChunked = true;
        await AssertErrorAsync(await admin.SendAsync(chunked), 413);
        await AssertErrorAsync(await admin.GetAsync("/api/repositories/ra-huge"), 404);
    }

    [Fact]
    public async Task Put_accepts_the_artifactory_4_shape_the_vendor_media_type_unknown_fields_and_maven_fields()
    {
        using var admin = server.Admin();

        // Artifactory 4.x: packageType absent or generic plus enableDockerSupport (§2.2).
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/repositories/ra-legacy-shape", Json(
            """{"key":"ra-legacy-shape","rclass":"local","enableDockerSupport":true,"enableNpmSupport":false}"""))).StatusCode);
        Assert.Equal("docker", (await GetConfigAsync(admin, "ra-legacy-shape")).GetProperty("packageType").GetString());
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/repositories/ra-legacy-generic", Json(
            """{"key":"ra-legacy-generic","packageType":"generic","enableDockerSupport":true}"""))).StatusCode);
        Assert.Equal("docker", (await GetConfigAsync(admin, "ra-legacy-generic")).GetProperty("packageType").GetString());

        // Unknown fields are ignored (§1.3); Maven-only fields are accepted and echoed.
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/repositories/ra-unknown-fields", Json(
            """{"key":"ra-unknown-fields","packageType":"docker","xrayIndex":true,"nested":{"a":[1,2]},"handleReleases":true,"checksumPolicyType":"client-checksums","description":"kept"}"""))).StatusCode);
        var config = await GetConfigAsync(admin, "ra-unknown-fields");
        Assert.Equal("kept", config.GetProperty("description").GetString());
        Assert.False(config.TryGetProperty("xrayIndex", out _));
        AssertMavenDefaults(config);

        // The vendor media type, a dotted key and a key of exactly 64 characters are fine.
        using var vendor = new StringContent("""{"key":"ra.dotted","packageType":"docker"}""", Encoding.UTF8, ConfigMediaType);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/artifactory/api/repositories/ra.dotted", vendor)).StatusCode);
        var longKey = "ra-" + new string('l', 61);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync($"/api/repositories/{longKey}", Json($$"""{"key":"{{longKey}}","packageType":"DOCKER"}"""))).StatusCode);
        Assert.Equal(longKey, (await GetConfigAsync(admin, longKey)).GetProperty("key").GetString());
    }

    [Fact]
    public async Task Only_admins_manage_repositories()
    {
        using var admin = server.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/repositories/ra-managed", Json("""{"key":"ra-managed","packageType":"docker","description":"original"}"""))).StatusCode);

        // alice may read, deploy and delete content, but not manage repositories: 403.
        using var alice = Alice();
        await AssertErrorAsync(await alice.PutAsync("/api/repositories/ra-by-alice", Json("""{"key":"ra-by-alice","packageType":"docker"}""")), 403);
        await AssertErrorAsync(await alice.PostAsync("/api/repositories/ra-managed", Json("""{"description":"alice was here"}""")), 403);
        await AssertErrorAsync(await alice.DeleteAsync("/artifactory/api/repositories/ra-managed"), 403);

        // Anonymous callers are asked to log in, with the REST challenge.
        using var anonymous = server.Client();
        foreach (var request in new Func<Task<HttpResponseMessage>>[]
        {
            () => anonymous.PutAsync("/api/repositories/ra-by-anonymous", Json("""{"key":"ra-by-anonymous","packageType":"docker"}""")),
            () => anonymous.PostAsync("/api/repositories/ra-managed", Json("""{"description":"anonymous was here"}""")),
            () => anonymous.DeleteAsync("/api/repositories/ra-managed"),
            () => anonymous.PutAsync("/api/repositories/docker-public", Json("""{"key":"docker-public","packageType":"docker"}""")),
        })
        {
            using var response = await request();
            Assert.Equal("Basic realm=\"Artifactory Realm\"", response.Headers.WwwAuthenticate.ToString());
            await AssertErrorAsync(response, 401);
        }

        await AssertErrorAsync(await server.Client("admin", "wrong").DeleteAsync("/api/repositories/ra-managed"), 401);

        await AssertErrorAsync(await admin.GetAsync("/api/repositories/ra-by-alice"), 404);
        await AssertErrorAsync(await admin.GetAsync("/api/repositories/ra-by-anonymous"), 404);
        Assert.Equal("original", (await GetConfigAsync(admin, "ra-managed")).GetProperty("description").GetString());
    }

    [Fact]
    public async Task Delete_removes_the_repository_its_content_and_its_key_from_permission_targets()
    {
        const string key = "ra-doomed";
        using var admin = server.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync($"/api/repositories/{key}", Json($$"""{"key":"{{key}}","packageType":"docker","dockerApiVersion":"V1"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/security/permissions/ra-doomed-target", Json(
            $$"""{"repositories":["{{key}}","docker-local"],"includesPattern":"**","principals":{"users":{"alice":["r"]} } }"""))).StatusCode);

        var chain = TestImage.Chain(DockerVersion.V1_12, 2, layerBytes: 3000);
        using (var docker = PathModeClient(key))
        {
            await docker.PushAsync("doomed/app", "1", chain);
        }

        Assert.Contains("/repositories/doomed/app/1/tag.json", await FileUrisAsync(admin, key));

        using (var deleted = await admin.DeleteAsync($"/api/repositories/{key}"))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
            Assert.Equal($"Repository '{key}' and all its content have been removed successfully.", await deleted.Content.ReadAsStringAsync());
        }

        await AssertErrorAsync(await admin.GetAsync($"/api/repositories/{key}"), 404);
        await AssertErrorAsync(await admin.GetAsync($"/api/storage/{key}/"), 404);
        await AssertErrorAsync(await admin.GetAsync($"/api/storage/{key}/.images/{chain[^1].Id}/layer.tar"), 404);
        Assert.DoesNotContain(key, Keys(await ListAsync(admin, "/api/repositories")));
        var target = JsonDocument.Parse(await admin.GetStringAsync("/api/security/permissions/ra-doomed-target")).RootElement;
        Assert.Equal(["docker-local"], target.GetProperty("repositories").EnumerateArray().Select(r => r.GetString()));
        await AssertErrorAsync(await admin.DeleteAsync($"/api/repositories/{key}"), 404);

        // The same key starts over empty: no tree, no tags to pull.
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync($"/api/repositories/{key}", Json($$"""{"key":"{{key}}","packageType":"docker","dockerApiVersion":"V1"}"""))).StatusCode);
        Assert.Empty(await FileUrisAsync(admin, key));
        Assert.Equal(HttpStatusCode.NotFound, (await Alice().GetAsync($"/artifactory/api/docker/{key}/v1/repositories/doomed/app/tags/1")).StatusCode);
        await AssertErrorAsync(await admin.GetAsync($"/api/storage/{key}/.images/{chain[^1].Id}/layer.tar"), 404);
    }

    [Fact]
    public async Task A_blacked_out_repository_refuses_reads_until_it_is_restored()
    {
        const string key = "ra-blackout";
        using var admin = server.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync($"/api/repositories/{key}", Json($$"""{"key":"{{key}}","packageType":"docker","dockerApiVersion":"V1","anonymousRead":true}"""))).StatusCode);
        var chain = TestImage.Chain(DockerVersion.V1_12, 1);
        using (var docker = PathModeClient(key))
        {
            await docker.PushAsync("dark/app", "1", chain);
        }

        var layerPath = $"/api/storage/{key}/.images/{chain[^1].Id}/layer.tar";
        var pullPath = $"/artifactory/api/docker/{key}/v1/repositories/dark/app/tags/1";
        using var alice = Alice();
        using var anonymous = server.Client();
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync(layerPath)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(layerPath)).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/repositories/{key}", Json("""{"blackedOut":true}"""))).StatusCode);

        // Readers are refused: 403 when authenticated, 401 when anonymous (§1.5, §2.2).
        await AssertErrorAsync(await alice.GetAsync(layerPath), 403);
        await AssertErrorAsync(await alice.GetAsync($"/artifactory/{key}/.images/{chain[^1].Id}/layer.tar"), 403);
        await AssertErrorAsync(await anonymous.GetAsync(layerPath), 401);
        Assert.Equal(HttpStatusCode.Forbidden, (await alice.GetAsync(pullPath)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(pullPath)).StatusCode);
        using (var docker = PathModeClient(key))
        {
            await Assert.ThrowsAnyAsync<Xunit.Sdk.XunitException>(() => docker.PullAsync("dark/app", "1"));
            await Assert.ThrowsAnyAsync<Xunit.Sdk.XunitException>(() => docker.PushAsync("dark/other", "1", TestImage.Chain(DockerVersion.V1_12, 1)));
        }

        // The admin is refused content as well, but still manages the repository: its configuration
        // stays readable and listed, and shows the flag.
        await AssertErrorAsync(await admin.GetAsync(layerPath), 403);
        Assert.True((await GetConfigAsync(admin, key)).GetProperty("blackedOut").GetBoolean());
        Assert.Contains(key, Keys(await ListAsync(admin, "/api/repositories")));
        await AssertErrorAsync(await alice.GetAsync($"/api/repositories/{key}"), 404);
        Assert.DoesNotContain(key, Keys(await ListAsync(alice, "/api/repositories")));

        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/repositories/{key}", Json("""{"blackedOut":"false"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync(layerPath)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(layerPath)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync(pullPath)).StatusCode);
        using (var docker = PathModeClient(key))
        {
            Assert.Equal(chain[^1].Layer, (await docker.PullAsync("dark/app", "1"))[^1].Layer);
        }
    }

    [Fact]
    public async Task Repository_patterns_refuse_pushes_outside_them()
    {
        using var admin = server.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/repositories/ra-excludes", Json(
            """{"key":"ra-excludes","packageType":"docker","dockerApiVersion":"V1","excludesPattern":"repositories/blocked/**"}"""))).StatusCode);

        using var alice = Alice();
        using (var start = await alice.PutAsync("/artifactory/api/docker/ra-excludes/v1/repositories/blocked/app/", Json("[]")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, start.StatusCode);
        }

        var chain = TestImage.Chain(DockerVersion.V1_12, 2);
        using (var docker = PathModeClient("ra-excludes"))
        {
            await docker.PushAsync("ok/app", "1", chain);
            Assert.Equal(chain[^1].Layer, (await docker.PullAsync("ok/app", "1"))[^1].Layer);
        }

        Assert.DoesNotContain(await FileUrisAsync(admin, "ra-excludes"), uri => uri.StartsWith("/repositories/blocked", StringComparison.Ordinal));

        // An include pattern admits only what it names; the images area must be included too.
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/repositories/ra-includes", Json(
            """{"key":"ra-includes","packageType":"docker","dockerApiVersion":"V1","includesPattern":"repositories/team/**,.images/**"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await alice.PutAsync("/artifactory/api/docker/ra-includes/v1/repositories/other/app/", Json("[]"))).StatusCode);
        using (var docker = PathModeClient("ra-includes"))
        {
            await docker.PushAsync("team/app", "1", TestImage.Chain(DockerVersion.V1_12, 1));
        }

        // Changing the pattern takes effect at once: the excluded name becomes pushable.
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/api/repositories/ra-excludes", Json("""{"excludesPattern":""}"""))).StatusCode);
        using (var docker = PathModeClient("ra-excludes"))
        {
            await docker.PushAsync("blocked/app", "1", TestImage.Chain(DockerVersion.V1_12, 1));
        }
    }

    private HttpClient Alice() => server.Client("alice", WharfServer.AlicePassword);

    /// <summary>A docker 1.12 client that addresses the repository by path (§3.1), logged in as alice.</summary>
    private DockerV1Client PathModeClient(string key) =>
        new(server.BaseAddress, $"/artifactory/api/docker/{key}/v1/", DockerVersion.V1_12, AuthStyle.BasicEverywhere, "alice", WharfServer.AlicePassword);

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> GetConfigAsync(HttpClient client, string key)
    {
        using var response = await client.GetAsync($"/api/repositories/{key}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {key}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static async Task<List<JsonElement>> ListAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode} {body}");
        return [.. JsonDocument.Parse(body).RootElement.EnumerateArray().Select(e => e.Clone())];
    }

    private static HashSet<string> Keys(IEnumerable<JsonElement> list) => [.. list.Select(r => r.GetProperty("key").GetString()!)];

    private static async Task<List<string>> FileUrisAsync(HttpClient admin, string key)
    {
        var list = JsonDocument.Parse(await admin.GetStringAsync($"/api/storage/{key}/?list&deep=1")).RootElement;
        return [.. list.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("uri").GetString()!)];
    }

    private static void AssertMavenDefaults(JsonElement config)
    {
        Assert.True(config.GetProperty("handleReleases").GetBoolean());
        Assert.True(config.GetProperty("handleSnapshots").GetBoolean());
        Assert.Equal(0, config.GetProperty("maxUniqueSnapshots").GetInt32());
        Assert.Equal("unique", config.GetProperty("snapshotVersionBehavior").GetString());
        Assert.False(config.GetProperty("suppressPomConsistencyChecks").GetBoolean());
        Assert.Equal("client-checksums", config.GetProperty("checksumPolicyType").GetString());
    }

    /// <summary>Checks the §1.2 envelope: JSON, one or more errors, the first repeating the status; returns its message.</summary>
    private static async Task<string> AssertErrorAsync(HttpResponseMessage response, int status)
    {
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode} {body}");
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            var error = JsonDocument.Parse(body).RootElement.GetProperty("errors")[0];
            Assert.Equal(status, error.GetProperty("status").GetInt32());
            var message = error.GetProperty("message").GetString();
            Assert.False(string.IsNullOrEmpty(message));
            return message!;
        }
    }
}
