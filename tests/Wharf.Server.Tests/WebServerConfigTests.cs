using System.Net;
using System.Text;
using System.Text.Json;
using Wharf.Core.Metadata;
using Wharf.Core.WebServer;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>
/// The stored web-server configuration (rest-api §7.2): who may read and change it, its defaults,
/// partial updates, every kind of bad input (400 in the error envelope, nothing stored), and the
/// rule that ties the subdomain method to repository keys that are DNS labels (§2.3), both ways.
/// The server is shared by the class, so each test sets what it needs first.
/// </summary>
public sealed class WebServerConfigTests(WharfServer server) : IClassFixture<WharfServer>
{
    private const string Path = "/api/system/configuration/webServer";

    private const string Full = """
        {"key":"nginx","webServerType":"APACHE","artifactoryAppContext":"artifactory",
         "publicAppContext":"artifactory","serverName":"repo.example.com","serverNameExpression":"*.repo.example.com",
         "artifactoryServerName":"localhost","artifactoryPort":8081,
         "sslCertificate":"/etc/ssl/repo.crt","sslKey":"/etc/ssl/repo.key",
         "dockerReverseProxyMethod":"SUBDOMAIN","useHttps":true,"useHttp":true,"sslPort":443,"httpPort":80}
        """;

    private const string Baseline = """{"webServerType":"NGINX","serverName":"baseline.example.com","dockerReverseProxyMethod":"REPOPATHPREFIX","httpPort":8080,"useHttps":false,"sslCertificate":null,"sslKey":null}""";

    [Fact]
    public async Task Defaults_name_the_request_host_and_the_main_listener_until_an_admin_stores_one()
    {
        var fresh = new WharfServer { AddTestAccounts = false };
        await fresh.InitializeAsync();
        try
        {
            using var admin = fresh.Admin();
            foreach (var api in new[] { "/api", "/artifactory/api" })
            {
                var config = await GetAsync(admin, api + "/system/configuration/webServer");
                Assert.Equal(
                    $$"""{"key":"nginx","webServerType":"NGINX","artifactoryAppContext":"artifactory","publicAppContext":"artifactory","serverName":"127.0.0.1","serverNameExpression":"*.127.0.0.1","artifactoryServerName":"127.0.0.1","artifactoryPort":{{fresh.BaseAddress.Port}},"sslCertificate":null,"sslKey":null,"dockerReverseProxyMethod":"REPOPATHPREFIX","useHttps":false,"useHttp":true,"sslPort":443,"httpPort":80}""",
                    config.GetRawText());

                using var named = new HttpRequestMessage(HttpMethod.Get, api + "/system/configuration/webServer");
                named.Headers.Host = "Repo.Example.com";
                using var response = await admin.SendAsync(named);
                Assert.Equal("repo.example.com", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("serverName").GetString());
            }

            // Reading stores nothing, and the service's own defaults use localhost.
            await using (var session = await fresh.Store.OpenAsync(default))
            {
                Assert.Null(await session.Settings.GetAsync(WebServerSettings.Setting, default));
            }

            var defaults = await Settings(fresh).GetAsync(default);
            Assert.Equal(("localhost", DockerAccessMethod.RepoPathPrefix, fresh.BaseAddress.Port), (defaults.ServerName, defaults.DockerReverseProxyMethod, defaults.ArtifactoryPort));
            fresh.Logs.AssertNoServerErrors();
        }
        finally
        {
            await fresh.DisposeAsync();
        }
    }

    [Fact]
    public async Task Anonymous_callers_are_refused_and_users_see_only_the_method_the_host_and_the_ports()
    {
        await PostOkAsync(Full);
        using var anonymous = server.Client();
        using var alice = server.Client("alice", WharfServer.AlicePassword);
        using var wrong = server.Client("admin", "wrong-password");

        foreach (var client in new[] { anonymous, wrong })
        {
            using var get = await client.GetAsync(Path);
            await AssertErrorAsync(get, HttpStatusCode.Unauthorized, "Authentication is required.");
            Assert.Equal("Basic realm=\"Artifactory Realm\"", get.Headers.WwwAuthenticate.ToString());
            using var post = await client.PostAsync(Path, Json("""{"httpPort":81}"""));
            await AssertErrorAsync(post, HttpStatusCode.Unauthorized, "Authentication is required.");
        }

        Assert.Equal(
            """{"serverName":"repo.example.com","dockerReverseProxyMethod":"SUBDOMAIN","sslPort":443,"httpPort":80}""",
            (await GetAsync(alice, "/artifactory" + Path)).GetRawText());
        using (var post = await alice.PostAsync(Path, Json("""{"httpPort":81}""")))
        {
            await AssertErrorAsync(post, HttpStatusCode.Forbidden, "Only administrators may do this.");
        }

        foreach (var kind in new[] { "nginx", "apache" })
        {
            using var snippet = await alice.GetAsync($"/api/system/configuration/reverseProxy/{kind}");
            await AssertErrorAsync(snippet, HttpStatusCode.Forbidden, "Only administrators may do this.");
            using var anonymousSnippet = await anonymous.GetAsync($"/api/system/configuration/reverseProxy/{kind}");
            await AssertErrorAsync(anonymousSnippet, HttpStatusCode.Unauthorized, "Authentication is required.");
        }

        Assert.Equal(80, (await GetAsync(server.Admin(), Path)).GetProperty("httpPort").GetInt32());
    }

    [Fact]
    public async Task A_post_stores_every_field_and_later_posts_change_only_what_they_carry()
    {
        using var admin = server.Admin();
        using (var post = await admin.PostAsync("/artifactory" + Path, Json(Full)))
        {
            Assert.Equal(HttpStatusCode.OK, post.StatusCode);
            Assert.Equal("", await post.Content.ReadAsStringAsync());
        }

        Assert.Equal(JsonDocument.Parse(Full).RootElement.EnumerateObject().Select(p => (p.Name, p.Value.GetRawText())),
            (await GetAsync(admin, Path)).EnumerateObject().Select(p => (p.Name, p.Value.GetRawText())));

        // Strings for numbers and booleans (rest-api §1.3), slashes around a context, unknown fields ignored.
        await PostOkAsync("""{"httpPort":"8080","useHttps":"false","sslCertificate":null,"publicAppContext":"/repo/","serverName":"Other.Example.COM","color":"blue"}""");
        var changed = await GetAsync(admin, Path);
        Assert.Equal(8080, changed.GetProperty("httpPort").GetInt32());
        Assert.False(changed.GetProperty("useHttps").GetBoolean());
        Assert.Equal(JsonValueKind.Null, changed.GetProperty("sslCertificate").ValueKind);
        Assert.Equal("/etc/ssl/repo.key", changed.GetProperty("sslKey").GetString());
        Assert.Equal("repo", changed.GetProperty("publicAppContext").GetString());
        Assert.Equal(("other.example.com", "*.other.example.com"), (changed.GetProperty("serverName").GetString(), changed.GetProperty("serverNameExpression").GetString()));
        Assert.Equal(("APACHE", "SUBDOMAIN", 443), (changed.GetProperty("webServerType").GetString(), changed.GetProperty("dockerReverseProxyMethod").GetString(), changed.GetProperty("sslPort").GetInt32()));
        Assert.False(changed.TryGetProperty("color", out _));

        // The read service follows the write at once (its cache ends with the store's next write).
        var read = await Settings(server).GetAsync(default);
        Assert.Equal(("other.example.com", DockerAccessMethod.Subdomain, 8080), (read.ServerName, read.DockerReverseProxyMethod, read.HttpPort));
        Assert.Contains(server.Logs.Lines, l => l.Contains("audit system.webServer SUBDOMAIN other.example.com", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("not json", "Malformed JSON")]
    [InlineData("[]", "A JSON object is required.")]
    [InlineData("\"text\"", "A JSON object is required.")]
    [InlineData("{\"serverName\":\"\\ud800\"}", "lone surrogate")]
    [InlineData("""{"webServerType":"IIS"}""", "Field 'webServerType' must be one of NGINX, APACHE, not 'IIS'.")]
    [InlineData("""{"webServerType":"nginx"}""", "Field 'webServerType' must be one of NGINX, APACHE")]
    [InlineData("""{"webServerType":1}""", "Field 'webServerType' must be a string.")]
    [InlineData("""{"dockerReverseProxyMethod":"PATH"}""", "Field 'dockerReverseProxyMethod' must be one of REPOPATHPREFIX, SUBDOMAIN, PORTPERREPO, not 'PATH'.")]
    [InlineData("""{"dockerReverseProxyMethod":["SUBDOMAIN"]}""", "Field 'dockerReverseProxyMethod' must be a string.")]
    [InlineData("""{"httpPort":0}""", "Field 'httpPort' must be an integer from 1 to 65535.")]
    [InlineData("""{"sslPort":65536}""", "Field 'sslPort' must be an integer from 1 to 65535.")]
    [InlineData("""{"artifactoryPort":-1}""", "Field 'artifactoryPort' must be an integer from 1 to 65535.")]
    [InlineData("""{"httpPort":80.5}""", "Field 'httpPort' must be an integer from 1 to 65535.")]
    [InlineData("""{"httpPort":"eighty"}""", "Field 'httpPort' must be an integer from 1 to 65535.")]
    [InlineData("""{"httpPort":true}""", "Field 'httpPort' must be an integer from 1 to 65535.")]
    [InlineData("""{"useHttps":"yes"}""", "Field 'useHttps' must be a boolean.")]
    [InlineData("""{"useHttp":1}""", "Field 'useHttp' must be a boolean.")]
    [InlineData("""{"serverName":"bad_name"}""", "Field 'serverName' ('bad_name') must be a DNS name")]
    [InlineData("""{"serverName":"-x.example.com"}""", "Field 'serverName'")]
    [InlineData("""{"serverName":"a..example.com"}""", "Field 'serverName'")]
    [InlineData("""{"serverName":"repo.example.com; include /etc/passwd"}""", "Field 'serverName'")]
    [InlineData("""{"serverName":""}""", "Field 'serverName'")]
    [InlineData("""{"serverName":12}""", "Field 'serverName' must be a string.")]
    [InlineData("""{"serverNameExpression":"*.other.example.com"}""", "Field 'serverNameExpression' must be '*.baseline.example.com'")]
    [InlineData("""{"useHttps":true}""", "Fields 'sslCertificate' and 'sslKey' are required when 'useHttps' is true.")]
    [InlineData("""{"useHttps":true,"sslCertificate":"/etc/ssl/a.crt"}""", "Fields 'sslCertificate' and 'sslKey' are required")]
    [InlineData("""{"useHttp":false}""", "At least one of 'useHttp' and 'useHttps' must be true.")]
    [InlineData("""{"useHttps":true,"sslCertificate":"/a.crt","sslKey":"/a.key","sslPort":8080}""", "Fields 'httpPort' and 'sslPort' must differ")]
    [InlineData("""{"sslCertificate":"relative.crt"}""", "Field 'sslCertificate' must be an absolute path")]
    [InlineData("""{"sslKey":"/etc/ssl/a.key; include /etc/passwd"}""", "Field 'sslKey' must be an absolute path")]
    [InlineData("""{"sslKey":"/etc/ssl/$key"}""", "Field 'sslKey' must be an absolute path")]
    [InlineData("""{"sslKey":"/etc/ssl/\"a\""}""", "Field 'sslKey' must be an absolute path")]
    [InlineData("""{"artifactoryServerName":"wharf host"}""", "Field 'artifactoryServerName' ('wharf host') must be a DNS name or an IP address.")]
    [InlineData("""{"artifactoryServerName":"[127.0.0.1]"}""", "Field 'artifactoryServerName'")]
    [InlineData("""{"artifactoryServerName":"fe80::1%eth0"}""", "Field 'artifactoryServerName'")]
    [InlineData("""{"artifactoryAppContext":"repo"}""", "Field 'artifactoryAppContext' must be 'artifactory'")]
    [InlineData("""{"publicAppContext":"a/b"}""", "Field 'publicAppContext' must be one path segment")]
    [InlineData("""{"publicAppContext":"v2"}""", "Field 'publicAppContext' must be one path segment")]
    [InlineData("""{"publicAppContext":""}""", "Field 'publicAppContext' must be one path segment")]
    [InlineData("""{"key":"a b"}""", "Field 'key' must be 1 to 64 letters")]
    public async Task Bad_input_is_a_400_and_nothing_changes(string body, string message)
    {
        await PostOkAsync(Baseline);
        using var admin = server.Admin();
        var before = (await GetAsync(admin, Path)).GetRawText();

        using var response = await admin.PostAsync(Path, new StringContent(body, Encoding.UTF8, "application/json"));
        var error = await AssertErrorAsync(response, HttpStatusCode.BadRequest, null);
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.Equal(before, (await GetAsync(admin, Path)).GetRawText());
    }

    [Fact]
    public async Task A_body_over_16_KiB_is_refused()
    {
        await PostOkAsync(Baseline);
        using var admin = server.Admin();
        using var response = await admin.PostAsync(Path, Json($$"""{"key":"nginx","padding":"{{new string('x', 17 * 1024)}}"}"""));
        await AssertErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "Request body too large.");
    }

    [Fact]
    public async Task Subdomain_is_refused_while_a_key_is_no_dns_label_and_such_keys_are_refused_while_it_is_on()
    {
        await PostOkAsync(Baseline);
        using var admin = server.Admin();
        foreach (var key in new[] { "ws-dotted.key", "ws-trailing-" })
        {
            using var created = await admin.PutAsync($"/api/repositories/{key}", Json($$"""{"key":"{{key}}","rclass":"local","packageType":"docker"}"""));
            Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        }

        var before = (await GetAsync(admin, Path)).GetRawText();
        using (var refused = await admin.PostAsync(Path, Json("""{"dockerReverseProxyMethod":"SUBDOMAIN"}""")))
        {
            var message = await AssertErrorAsync(refused, HttpStatusCode.BadRequest, null);
            Assert.Contains("SUBDOMAIN needs every Docker repository key to be a DNS label", message, StringComparison.Ordinal);
            Assert.Contains("'ws-dotted.key', 'ws-trailing-'", message, StringComparison.Ordinal);
        }

        Assert.Equal(before, (await GetAsync(admin, Path)).GetRawText());
        foreach (var key in new[] { "ws-dotted.key", "ws-trailing-" })
        {
            Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync($"/api/repositories/{key}")).StatusCode);
        }

        try
        {
            await PostOkAsync("""{"dockerReverseProxyMethod":"SUBDOMAIN"}""");

            // Creating such a key is refused now, with nothing created; a DNS label is fine.
            using (var created = await admin.PutAsync("/api/repositories/ws-new.dotted", Json("""{"key":"ws-new.dotted","rclass":"local","packageType":"docker"}""")))
            {
                var message = await AssertErrorAsync(created, HttpStatusCode.BadRequest, null);
                Assert.Contains("Repository key 'ws-new.dotted' cannot be used while the Docker access method is SUBDOMAIN", message, StringComparison.Ordinal);
                Assert.Contains("'ws-new.dotted.baseline.example.com'", message, StringComparison.Ordinal);
            }

            Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/repositories/ws-new.dotted")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/repositories/ws-label", Json("""{"key":"ws-label","rclass":"local","packageType":"docker"}"""))).StatusCode);

            // A key from before (written past the API, as an older release could have) cannot be updated either.
            await using (var tx = await server.Store.BeginAsync(default))
            {
                await tx.Repositories.TryCreateAsync(new RepositoryConfig("ws-legacy.key", DockerApiVersion.V2), default);
                await tx.CommitAsync(default);
            }

            using (var updated = await admin.PostAsync("/api/repositories/ws-legacy.key", Json("""{"description":"changed"}""")))
            {
                var message = await AssertErrorAsync(updated, HttpStatusCode.BadRequest, null);
                Assert.Contains("Repository key 'ws-legacy.key' cannot be used while the Docker access method is SUBDOMAIN", message, StringComparison.Ordinal);
            }

            Assert.Equal("", JsonDocument.Parse(await admin.GetStringAsync("/api/repositories/ws-legacy.key")).RootElement.GetProperty("description").GetString());
            Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync("/api/repositories/ws-legacy.key")).StatusCode);
        }
        finally
        {
            await PostOkAsync(Baseline);
        }

        // Back on the repository path method, any valid key goes again.
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/repositories/ws-after.dotted", Json("""{"key":"ws-after.dotted","rclass":"local","packageType":"docker"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync("/api/repositories/ws-after.dotted")).StatusCode);
    }

    [Fact]
    public async Task The_port_method_refuses_a_repository_port_that_a_main_listener_takes()
    {
        await PostOkAsync("""{"dockerReverseProxyMethod":"PORTPERREPO","httpPort":15480,"useHttps":false,"sslCertificate":null,"sslKey":null}""");
        using var admin = server.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/repositories/ws-ported", Json("""{"key":"ws-ported","rclass":"local","packageType":"docker","registryPort":15480}"""))).StatusCode);
        try
        {
            foreach (var kind in new[] { "nginx", "apache" })
            {
                using var snippet = await admin.GetAsync($"/api/system/configuration/reverseProxy/{kind}");
                await AssertErrorAsync(snippet, HttpStatusCode.BadRequest, "Repository 'ws-ported' has registryPort 15480, which the web server's main listener takes.");
            }

            var before = (await GetAsync(admin, Path)).GetRawText();
            using (var refused = await admin.PostAsync(Path, Json("""{"serverName":"elsewhere.example.com"}""")))
            {
                await AssertErrorAsync(refused, HttpStatusCode.BadRequest, "Repository 'ws-ported' has registryPort 15480, which the web server's main listener takes.");
            }

            Assert.Equal(before, (await GetAsync(admin, Path)).GetRawText());
            await PostOkAsync("""{"httpPort":15481}""");
            using var fixedSnippet = await admin.GetAsync("/api/system/configuration/reverseProxy/nginx");
            Assert.Equal(HttpStatusCode.OK, fixedSnippet.StatusCode);
            Assert.Equal("text/plain", fixedSnippet.Content.Headers.ContentType!.MediaType);
            Assert.Contains("    listen 15480;\n", await fixedSnippet.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        finally
        {
            await admin.DeleteAsync("/api/repositories/ws-ported");
            await PostOkAsync(Baseline);
        }
    }

    [Fact]
    public async Task A_stored_configuration_with_https_but_no_certificate_makes_no_file()
    {
        // Only a store written past the API (an older release, a hand edit) can hold one.
        await using (var tx = await server.Store.BeginAsync(default))
        {
            await tx.Settings.SetAsync(WebServerSettings.Setting, """{"serverName":"tls.example.com","useHttps":true,"sslCertificate":null,"sslKey":null}""", default);
            await tx.CommitAsync(default);
        }

        try
        {
            using var admin = server.Admin();
            foreach (var kind in new[] { "nginx", "apache" })
            {
                using var snippet = await admin.GetAsync($"/artifactory/api/system/configuration/reverseProxy/{kind}");
                await AssertErrorAsync(snippet, HttpStatusCode.BadRequest, "Fields 'sslCertificate' and 'sslKey' are required when 'useHttps' is true.");
            }

            // The API still shows it, and a POST that completes it repairs it.
            Assert.True((await GetAsync(admin, Path)).GetProperty("useHttps").GetBoolean());
            await PostOkAsync("""{"sslCertificate":"/etc/ssl/tls.crt","sslKey":"/etc/ssl/tls.key"}""");
            Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/system/configuration/reverseProxy/nginx")).StatusCode);
        }
        finally
        {
            await PostOkAsync(Baseline);
        }
    }

    private static WebServerSettings Settings(WharfServer wharf) =>
        (WebServerSettings)wharf.Services.GetService(typeof(WebServerSettings))!;

    private async Task PostOkAsync(string body)
    {
        using var admin = server.Admin();
        using var response = await admin.PostAsync(Path, Json(body));
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"POST {body}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private static async Task<JsonElement> GetAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {response.StatusCode} {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>Checks the REST error envelope (rest-api §1.2) and returns its message; equal to <paramref name="message"/> unless that is null.</summary>
    private static async Task<string> AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string? message)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {status}, got {response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        var error = JsonDocument.Parse(body).RootElement.GetProperty("errors")[0];
        Assert.Equal((int)status, error.GetProperty("status").GetInt32());
        var text = error.GetProperty("message").GetString()!;
        if (message is not null)
        {
            Assert.Equal(message, text);
        }

        return text;
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
