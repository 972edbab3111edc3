using System.Net;
using System.Text;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>
/// The subdomain method natively (rest-api §3.1): with <c>dockerReverseProxyMethod: SUBDOMAIN</c>
/// and a <c>serverName</c>, <c>Host: &lt;key&gt;.&lt;serverName&gt;</c> routes <c>/v1/…</c> and
/// <c>/v2/…</c> to that repository on the main listener, with URLs that keep the host name.
/// </summary>
public sealed class RepositoryHostNameTests : IAsyncLifetime
{
    private readonly WharfServer _server = new();

    private string Port => _server.BaseAddress.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public async Task InitializeAsync()
    {
        await _server.InitializeAsync();
        using var configure = await _server.Admin().PostAsync("/api/system/configuration/webServer",
            new StringContent("{\"serverName\":\"wharf.test\",\"dockerReverseProxyMethod\":\"SUBDOMAIN\"}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, configure.StatusCode);
    }

    public Task DisposeAsync() => _server.DisposeAsync();

    [Fact]
    public async Task A_v2_repository_answers_at_its_host_name_with_urls_that_keep_it()
    {
        using var challenge = await SendAsync(HttpMethod.Get, "docker-v2-local", "/v2/", admin: false);
        Assert.Equal(HttpStatusCode.Unauthorized, challenge.StatusCode);
        Assert.Contains($"realm=\"http://docker-v2-local.wharf.test:{Port}/artifactory/api/docker/docker-v2-local/v2/token\"", challenge.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);

        using var ping = await SendAsync(HttpMethod.Get, "docker-v2-local", "/v2/");
        Assert.Equal(HttpStatusCode.OK, ping.StatusCode);

        var layer = Encoding.UTF8.GetBytes("layer by host name");
        using var start = await SendAsync(HttpMethod.Post, "docker-v2-local", "/v2/team/app/blobs/uploads/");
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var location = start.Headers.Location!.OriginalString;
        Assert.StartsWith("/v2/team/app/blobs/uploads/", location, StringComparison.Ordinal);
        using var put = await SendAsync(HttpMethod.Put, "docker-v2-local", location + "?digest=" + V2Push.Digest(layer), new ByteArrayContent(layer));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);

        // The blob is in docker-v2-local, by path mode on the main listener too.
        Assert.Equal(HttpStatusCode.OK, (await _server.Admin().GetAsync($"/artifactory/api/docker/docker-v2-local/v2/team/app/blobs/{V2Push.Digest(layer)}")).StatusCode);
    }

    [Fact]
    public async Task A_v1_repository_answers_at_its_host_name_and_its_v2_is_a_plain_404()
    {
        using var v2 = await SendAsync(HttpMethod.Get, "docker-local", "/v2/");
        Assert.Equal(HttpStatusCode.NotFound, v2.StatusCode);
        Assert.False(v2.Headers.Contains("Docker-Distribution-Api-Version"));

        using var ping = await SendAsync(HttpMethod.Get, "docker-local", "/v1/_ping");
        Assert.Equal("true", await ping.Content.ReadAsStringAsync());

        using var push = await SendAsync(HttpMethod.Put, "docker-local", "/v1/repositories/acme/web/", new StringContent("[]", Encoding.UTF8, "application/json"), headers: ("X-Docker-Token", "true"));
        Assert.Equal(HttpStatusCode.OK, push.StatusCode);
        Assert.Equal($"docker-local.wharf.test:{Port}", push.Headers.GetValues("X-Docker-Endpoints").Single());
    }

    [Fact]
    public async Task Unknown_host_names_are_unknown_repositories_and_the_server_name_is_the_main_listener()
    {
        using var v2 = await SendAsync(HttpMethod.Get, "nosuch", "/v2/app/manifests/1");
        Assert.Equal(HttpStatusCode.NotFound, v2.StatusCode);
        Assert.Contains("NAME_UNKNOWN", await v2.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Get, "nosuch", "/v1/repositories/acme/web/images")).StatusCode);

        // The server name itself, and names deeper than one label, are the main listener.
        using var main = await SendAsync(HttpMethod.Get, null, "/v2/");
        Assert.Equal(HttpStatusCode.OK, main.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "a.docker-v2-local", "/v2/docker-v2-local/_catalog")).StatusCode);
    }

    [Fact]
    public async Task Without_the_subdomain_method_host_names_name_nothing()
    {
        using var back = await _server.Admin().PostAsync("/api/system/configuration/webServer",
            new StringContent("{\"dockerReverseProxyMethod\":\"REPOPATHPREFIX\"}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, back.StatusCode);
        using var ping = await SendAsync(HttpMethod.Get, "docker-local", "/v2/");
        Assert.Equal(HttpStatusCode.OK, ping.StatusCode);
    }

    /// <summary>A request to the main listener with <c>Host: &lt;label&gt;.wharf.test:&lt;port&gt;</c> (<c>wharf.test</c> itself when null).</summary>
    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string? label, string path, HttpContent? content = null, bool admin = true, (string Name, string Value)? headers = null)
    {
        using var client = admin ? _server.Admin() : _server.Client();
        using var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Host = (label is null ? "" : label + ".") + "wharf.test:" + Port;
        if (headers is { } header)
        {
            request.Headers.Add(header.Name, header.Value);
        }

        return await client.SendAsync(request);
    }
}
