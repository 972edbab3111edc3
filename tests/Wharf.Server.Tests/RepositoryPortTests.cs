using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>
/// How docker users reach repositories (rest-api §3.1): the main listener's bare <c>/v2/</c> on a
/// fresh install, and a port per repository (<c>registryPort</c>), opened and closed as the
/// repository changes, refused when taken, speaking the repository's protocol at its root, with
/// every URL handed out naming that port.
/// </summary>
public sealed class RepositoryPortTests(WharfServer server) : IClassFixture<WharfServer>
{
    [Fact]
    public async Task The_main_listener_answers_the_bare_v2_ping_while_its_default_repository_is_v1()
    {
        using var anonymous = await server.Client().GetAsync("/v2/");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal($"Bearer realm=\"{server.BaseAddress.ToString().TrimEnd('/')}/artifactory/api/docker/v2/token\",service=\"127.0.0.1:{server.BaseAddress.Port}\"", anonymous.Headers.WwwAuthenticate.ToString());

        using var admin = await server.Admin().GetAsync("/v2/");
        Assert.Equal(HttpStatusCode.OK, admin.StatusCode);
        Assert.Equal("registry/2.0", admin.Headers.GetValues("Docker-Distribution-Api-Version").Single());

        // The repository-path method then reaches a V2 repository; an unknown key is NAME_UNKNOWN.
        Assert.Equal(HttpStatusCode.OK, (await server.Admin().GetAsync("/v2/docker-v2-local/_catalog")).StatusCode);
        using var unknown = await server.Admin().GetAsync("/v2/nosuch/app/manifests/1");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("NAME_UNKNOWN", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_v2_repository_port_serves_the_repository_at_its_root_with_urls_that_name_the_port()
    {
        var port = await CreateAsync("ported-v2", "V2");
        using var client = server.ClientOnPort(port);
        using var challenge = await client.GetAsync("/v2/");
        Assert.Equal(HttpStatusCode.Unauthorized, challenge.StatusCode);
        Assert.Contains($"realm=\"http://127.0.0.1:{port}/artifactory/api/docker/ported-v2/v2/token\"", challenge.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);

        using var admin = server.ClientOnPort(port, "admin", WharfServer.AdminPassword);
        using (var start = await admin.PostAsync("/v2/team/app/blobs/uploads/", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
            Assert.StartsWith("/v2/team/app/blobs/uploads/", start.Headers.Location!.OriginalString, StringComparison.Ordinal);
        }

        var pushed = await V2PushAtRootAsync(admin, "team/app", "1.0");
        using var pulled = await admin.GetAsync($"/v2/team/app/manifests/1.0");
        Assert.Equal(HttpStatusCode.OK, pulled.StatusCode);
        Assert.Equal(pushed, await pulled.Content.ReadAsByteArrayAsync());
        Assert.Equal("{\"name\":\"team/app\",\"tags\":[\"1.0\"]}", await admin.GetStringAsync("/v2/team/app/tags/list"));

        // The same image by path mode on the main listener.
        Assert.Equal(HttpStatusCode.OK, (await server.Admin().GetAsync("/artifactory/api/docker/ported-v2/v2/team/app/manifests/1.0")).StatusCode);

        // skopeo, a real V2 client, by the port alone.
        var back = Directory.CreateTempSubdirectory("wharf-port-skopeo-").FullName;
        try
        {
            await SkopeoTests.Skopeo("copy", "--src-creds", $"admin:{WharfServer.AdminPassword}", "--src-tls-verify=false",
                $"docker://127.0.0.1:{port}/team/app:1.0", $"oci:{back}:1.0");
            Assert.True(File.Exists(Path.Combine(back, "index.json")));
        }
        finally
        {
            Directory.Delete(back, recursive: true);
        }
    }

    [Fact]
    public async Task A_token_for_another_repository_or_image_name_opens_nothing_on_a_port()
    {
        var port = await CreateAsync("ported-guarded", "V2");
        using (var admin = server.ClientOnPort(port, "admin", WharfServer.AdminPassword))
        {
            await V2PushAtRootAsync(admin, "team/app", "1.0");
        }

        // Tokens minted for docker-v2-local's team/app (key-less and keyed) and for the port's own
        // repository but another image: none pulls team/app from ported-guarded's port.
        var tokens = new[]
        {
            await TokenAsync(server.Admin(), "/artifactory/api/docker/v2/token?service=x&scope=repository:docker-v2-local/team/app:pull"),
            await TokenAsync(server.Admin(), "/artifactory/api/docker/docker-v2-local/v2/token?service=x&scope=repository:team/app:pull"),
            await TokenAsync(server.ClientOnPort(port, "admin", WharfServer.AdminPassword), "/artifactory/api/docker/ported-guarded/v2/token?service=x&scope=repository:team/other:pull"),
        };
        foreach (var token in tokens)
        {
            using var client = server.ClientOnPort(port);
            client.DefaultRequestHeaders.Authorization = new("Bearer", token);
            using var pull = await client.GetAsync("/v2/team/app/manifests/1.0");
            Assert.True(pull.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.NotFound, pull.StatusCode.ToString());
            Assert.DoesNotContain("schemaVersion", await pull.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // The right token does.
        using var right = server.ClientOnPort(port);
        right.DefaultRequestHeaders.Authorization = new("Bearer", await TokenAsync(server.ClientOnPort(port, "admin", WharfServer.AdminPassword), "/artifactory/api/docker/ported-guarded/v2/token?service=x&scope=repository:team/app:pull"));
        Assert.Equal(HttpStatusCode.OK, (await right.GetAsync("/v2/team/app/manifests/1.0")).StatusCode);
    }

    private static async Task<string> TokenAsync(HttpClient client, string path)
    {
        using (client)
        {
            using var json = JsonDocument.Parse(await client.GetStringAsync(path));
            return json.RootElement.GetProperty("token").GetString()!;
        }
    }

    [Fact]
    public async Task A_v1_repository_port_is_where_docker_1x_pushes_and_pulls()
    {
        var port = await CreateAsync("ported-v1", "V1");
        using var ping = await server.ClientOnPort(port).GetAsync("/v2/");
        Assert.Equal(HttpStatusCode.NotFound, ping.StatusCode);
        Assert.False(ping.Headers.Contains("Docker-Distribution-Api-Version"));

        var chain = TestImage.Chain(DockerVersion.V1_12, 2);
        using (var docker = new DockerV1Client(new Uri($"http://127.0.0.1:{port}"), "/v1/", DockerVersion.V1_12, AuthStyle.BasicEverywhere, "admin", WharfServer.AdminPassword))
        {
            await docker.PushAsync("acme/web", "1.0", chain);
            Assert.Equal($"127.0.0.1:{port}", docker.LastEndpoints);
            Assert.Equal(chain.Select(i => i.Id), (await docker.PullAsync("acme/web", "1.0")).Select(i => i.Id));
        }

        // It landed in ported-v1, not in the main listener's default repository.
        Assert.Equal(HttpStatusCode.OK, (await server.Admin().GetAsync("/api/storage/ported-v1/repositories/acme/web/1.0")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Admin().GetAsync("/api/storage/docker-local/repositories/acme/web")).StatusCode);
    }

    [Fact]
    public async Task Ports_open_move_and_close_with_the_repository_and_no_restart()
    {
        var first = await CreateAsync("moving", "V2");
        Assert.True(await AcceptsAsync(first));

        var second = WharfServer.FreePort();
        Assert.Equal(HttpStatusCode.OK, (await UpdateAsync("moving", $"{{\"registryPort\":{second}}}")).StatusCode);
        Assert.True(await AcceptsAsync(second));
        Assert.False(await AcceptsAsync(first));

        Assert.Equal(HttpStatusCode.OK, (await UpdateAsync("moving", "{\"registryPort\":null}")).StatusCode);
        Assert.False(await AcceptsAsync(second));

        Assert.Equal(HttpStatusCode.OK, (await UpdateAsync("moving", $"{{\"registryPort\":{first}}}")).StatusCode);
        Assert.True(await AcceptsAsync(first));
        Assert.Equal(HttpStatusCode.OK, (await server.Admin().DeleteAsync("/api/repositories/moving")).StatusCode);
        Assert.False(await AcceptsAsync(first));
    }

    [Fact]
    public async Task A_taken_port_is_refused_and_nothing_changes()
    {
        var owned = await CreateAsync("port-owner", "V2");
        using var other = new TcpListener(IPAddress.Loopback, 0);
        other.Start();
        var busy = ((IPEndPoint)other.LocalEndpoint).Port;

        foreach (var (port, why) in new[] { (server.BaseAddress.Port, "main listener"), (owned, "port-owner"), (busy, "another program") })
        {
            using var create = await server.Admin().PutAsync("/api/repositories/port-taker", Json($"{{\"key\":\"port-taker\",\"rclass\":\"local\",\"packageType\":\"docker\",\"dockerApiVersion\":\"V2\",\"registryPort\":{port}}}"));
            Assert.Equal(HttpStatusCode.Conflict, create.StatusCode);
            Assert.Contains(why, await create.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.NotFound, (await server.Admin().GetAsync("/api/repositories/port-taker")).StatusCode);

            using var update = await UpdateAsync("docker-v2-local", $"{{\"registryPort\":{port},\"description\":\"changed\"}}");
            Assert.Equal(HttpStatusCode.Conflict, update.StatusCode);
            using var config = JsonDocument.Parse(await server.Admin().GetStringAsync("/api/repositories/docker-v2-local"));
            Assert.NotEqual("changed", config.RootElement.GetProperty("description").GetString());
            Assert.False(config.RootElement.TryGetProperty("registryPort", out var p) && p.ValueKind == JsonValueKind.Number);
        }

        // Wrong types and ranges are 400s, as before.
        Assert.Equal(HttpStatusCode.BadRequest, (await UpdateAsync("docker-v2-local", "{\"registryPort\":true}")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await UpdateAsync("docker-v2-local", "{\"registryPort\":70000}")).StatusCode);
    }

    [Fact]
    public async Task A_fresh_install_gives_docker_local_the_v1_port()
    {
        var port = WharfServer.FreePort();
        var fresh = new WharfServer { ExtraSettings = new Dictionary<string, string?> { ["Wharf:Docker:V1Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) } };
        await fresh.InitializeAsync();
        try
        {
            using var config = JsonDocument.Parse(await fresh.Admin().GetStringAsync("/api/repositories/docker-local"));
            Assert.Equal(port, config.RootElement.GetProperty("registryPort").GetInt32());
            Assert.Equal("true", await fresh.ClientOnPort(port).GetStringAsync("/v1/_ping"));
            Assert.Equal(HttpStatusCode.NotFound, (await fresh.ClientOnPort(port).GetAsync("/v2/")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await fresh.Client().GetAsync("/v2/")).StatusCode);
        }
        finally
        {
            await fresh.DisposeAsync();
        }
    }

    [Fact]
    public async Task Without_native_listeners_a_port_is_only_recorded()
    {
        var proxied = new WharfServer { ExtraSettings = new Dictionary<string, string?> { ["Wharf:Docker:RepositoryListeners"] = "false" } };
        await proxied.InitializeAsync();
        try
        {
            using var held = new TcpListener(IPAddress.Loopback, 0);
            held.Start();
            var port = ((IPEndPoint)held.LocalEndpoint).Port;

            // The web server in front owns the port: Wharf records it and binds nothing.
            using var update = await proxied.Admin().PostAsync("/api/repositories/docker-v2-local", Json($"{{\"registryPort\":{port}}}"));
            Assert.Equal(HttpStatusCode.OK, update.StatusCode);
            using var config = JsonDocument.Parse(await proxied.Admin().GetStringAsync("/api/repositories/docker-v2-local"));
            Assert.Equal(port, config.RootElement.GetProperty("registryPort").GetInt32());
        }
        finally
        {
            await proxied.DisposeAsync();
        }
    }

    private async Task<int> CreateAsync(string key, string version)
    {
        var port = WharfServer.FreePort();
        using var response = await server.Admin().PutAsync($"/api/repositories/{key}", Json($"{{\"key\":\"{key}\",\"rclass\":\"local\",\"packageType\":\"docker\",\"dockerApiVersion\":\"{version}\",\"registryPort\":{port}}}"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return port;
    }

    private Task<HttpResponseMessage> UpdateAsync(string key, string json) => server.Admin().PostAsync($"/api/repositories/{key}", Json(json));

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<bool> AcceptsAsync(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Pushes a one-layer OCI image by the root <c>/v2/</c> of a repository's port; returns the manifest bytes.</summary>
    private static async Task<byte[]> V2PushAtRootAsync(HttpClient client, string image, string tag)
    {
        var layer = Encoding.UTF8.GetBytes("layer of " + image + " " + Guid.NewGuid());
        var config = "{}"u8.ToArray();
        foreach (var blob in new[] { layer, config })
        {
            using var start = await client.PostAsync($"/v2/{image}/blobs/uploads/", null);
            var location = start.Headers.Location!.OriginalString;
            using var put = await client.PutAsync(location + (location.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "digest=" + V2Push.Digest(blob), new ByteArrayContent(blob));
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            Assert.StartsWith($"/v2/{image}/blobs/sha256:", put.Headers.Location!.OriginalString, StringComparison.Ordinal);
        }

        var manifest = V2Push.ImageManifest(config, [layer]);
        using var content = new ByteArrayContent(manifest);
        content.Headers.ContentType = new(V2Push.OciManifest);
        using var response = await client.PutAsync($"/v2/{image}/manifests/{tag}", content);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.StartsWith($"/v2/{image}/manifests/sha256:", response.Headers.Location!.OriginalString, StringComparison.Ordinal);
        return manifest;
    }
}
