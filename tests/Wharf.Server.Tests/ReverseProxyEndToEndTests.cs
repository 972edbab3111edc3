using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>
/// Debian's nginx, running the file Wharf generates (repository path method, plain HTTP) on a
/// loopback port in front of a test Wharf that trusts it: skopeo pushes and pulls through it, and
/// every URL Wharf hands out on the way (Bearer realm and service, upload and blob Locations, the
/// tags list's Link, REST uris) names nginx's port, and following each one through nginx works.
/// </summary>
public sealed class ReverseProxyEndToEndTests : IAsyncLifetime
{
    private readonly WharfServer _server = new()
    {
        ExtraSettings = new Dictionary<string, string?> { ["Wharf:Http:TrustedProxies"] = "127.0.0.1" },
    };

    private readonly string _directory = WebServers.NewDirectory();
    private Process? _nginx;
    private int _port;

    private Uri Proxy => new($"http://127.0.0.1:{_port}");

    public async Task InitializeAsync()
    {
        await _server.InitializeAsync();
        _port = WebServers.FreePort();
        using var admin = _server.Admin();
        using (var post = await admin.PostAsync("/api/system/configuration/webServer", new StringContent(
            $$"""{"serverName":"localhost","artifactoryServerName":"127.0.0.1","artifactoryPort":{{_server.BaseAddress.Port}},"httpPort":{{_port}},"dockerReverseProxyMethod":"REPOPATHPREFIX"}""",
            Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        }

        // The file as generated, but bound to loopback only: tests never listen on other addresses.
        var site = await admin.GetStringAsync("/api/system/configuration/reverseProxy/nginx");
        Assert.Contains($"    listen {_port};\n", site, StringComparison.Ordinal);
        var main = WebServers.NginxMain(_directory, site.Replace($"    listen {_port};\n", $"    listen 127.0.0.1:{_port};\n", StringComparison.Ordinal));
        var start = new ProcessStartInfo(WebServers.Nginx) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-p", _directory + "/", "-e", Path.Combine(_directory, "error.log"), "-c", main })
        {
            start.ArgumentList.Add(argument);
        }

        _nginx = Process.Start(start)!;
        _nginx.BeginOutputReadLine();
        _nginx.BeginErrorReadLine();
        Assert.True(await WebServers.WaitForPortAsync(_port, _nginx), "nginx does not listen");
    }

    public async Task DisposeAsync()
    {
        if (_nginx is { HasExited: false })
        {
            _nginx.Kill();
            await _nginx.WaitForExitAsync();
        }

        _nginx?.Dispose();
        await _server.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Skopeo_pushes_and_pulls_through_nginx()
    {
        var layout = Path.Combine(_directory, "layout");
        var (manifestDigest, layers) = OciLayout.Write(layout, "1.0", layerCount: 2);
        var registry = $"127.0.0.1:{_port}";
        var creds = $"admin:{WharfServer.AdminPassword}";

        await SkopeoTests.Skopeo("copy", "--dest-creds", creds, "--dest-tls-verify=false", $"oci:{layout}:1.0", $"docker://{registry}/docker-v2-local/proxied/app:1.0");
        var inspect = JsonDocument.Parse(await SkopeoTests.Skopeo("inspect", "--creds", creds, "--tls-verify=false", $"docker://{registry}/docker-v2-local/proxied/app:1.0")).RootElement;
        Assert.Equal(manifestDigest, inspect.GetProperty("Digest").GetString());
        Assert.Equal(layers, inspect.GetProperty("Layers").EnumerateArray().Select(l => l.GetString()!).ToList());

        var back = Path.Combine(_directory, "back");
        await SkopeoTests.Skopeo("copy", "--src-creds", creds, "--src-tls-verify=false", $"docker://{registry}/docker-v2-local/proxied/app:1.0", $"oci:{back}:1.0");
        foreach (var blob in Directory.EnumerateFiles(Path.Combine(layout, "blobs", "sha256")))
        {
            Assert.Equal(await File.ReadAllBytesAsync(blob), await File.ReadAllBytesAsync(Path.Combine(back, "blobs", "sha256", Path.GetFileName(blob))));
        }

        // Every request went through nginx: Wharf's own listener was never named.
        var access = await File.ReadAllTextAsync(Path.Combine(_directory, "access.log"));
        Assert.Contains("PATCH /artifactory/api/docker/docker-v2-local/v2/proxied/app/blobs/uploads/", access, StringComparison.Ordinal);
        Assert.Contains("PUT /v2/docker-v2-local/proxied/app/manifests/1.0", access, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_url_wharf_hands_out_through_nginx_names_nginx_and_leads_back_to_wharf()
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false, UseProxy = false }) { BaseAddress = Proxy };

        // The challenge names nginx; its realm, followed through nginx, hands out a token.
        using var ping = await client.GetAsync("/v2/");
        Assert.Equal(HttpStatusCode.Unauthorized, ping.StatusCode);
        Assert.Equal($"Bearer realm=\"{Proxy.OriginalString}/artifactory/api/docker/v2/token\",service=\"127.0.0.1:{_port}\"", ping.Headers.WwwAuthenticate.ToString());
        using var tokenRequest = new HttpRequestMessage(HttpMethod.Get, $"{Proxy.OriginalString}/artifactory/api/docker/v2/token?service=127.0.0.1:{_port}&scope=repository:docker-v2-local/e2e/app:pull,push");
        tokenRequest.Headers.Authorization = WharfServer.Basic("admin", WharfServer.AdminPassword);
        using var tokenResponse = await client.SendAsync(tokenRequest);
        Assert.Equal(HttpStatusCode.OK, tokenResponse.StatusCode);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
            JsonDocument.Parse(await tokenResponse.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString());

        // A chunked upload: each Location names nginx, and the next request follows it there.
        var layer = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 17);
        using var started = await client.PostAsync("/v2/docker-v2-local/e2e/app/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        using var patch = new HttpRequestMessage(HttpMethod.Patch, OnProxy(started.Headers.Location))
        {
            Content = new StreamContent(new MemoryStream(layer)) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream") } },
        };
        patch.Headers.TransferEncodingChunked = true;
        using var patched = await client.SendAsync(patch);
        Assert.Equal(HttpStatusCode.Accepted, patched.StatusCode);
        var layerDigest = V2Push.Digest(layer);
        using var completed = await client.PutAsync(OnProxy(patched.Headers.Location) + (patched.Headers.Location!.OriginalString.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "digest=" + layerDigest, null);
        Assert.Equal(HttpStatusCode.Created, completed.StatusCode);
        using (var blob = await client.GetAsync(OnProxy(completed.Headers.Location)))
        {
            Assert.Equal(HttpStatusCode.OK, blob.StatusCode);
            Assert.Equal(layer, await blob.Content.ReadAsByteArrayAsync());
        }

        // Two tags, then the tags list's Link to the second page.
        var config = Encoding.UTF8.GetBytes("""{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}""");
        using (var configPush = await client.PostAsync($"/v2/docker-v2-local/e2e/app/blobs/uploads/?digest={V2Push.Digest(config)}", new ByteArrayContent(config)))
        {
            Assert.Equal(HttpStatusCode.Created, configPush.StatusCode);
            OnProxy(configPush.Headers.Location);
        }

        foreach (var tag in new[] { "1.0", "2.0" })
        {
            var manifest = new ByteArrayContent(V2Push.ImageManifest(config, [layer]));
            manifest.Headers.ContentType = new MediaTypeHeaderValue(V2Push.OciManifest);
            using var put = await client.PutAsync($"/v2/docker-v2-local/e2e/app/manifests/{tag}", manifest);
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            OnProxy(put.Headers.Location);
        }

        using var firstPage = await client.GetAsync("/v2/docker-v2-local/e2e/app/tags/list?n=1");
        Assert.Equal(HttpStatusCode.OK, firstPage.StatusCode);
        var link = firstPage.Headers.GetValues("Link").Single();
        using var secondPage = await client.GetAsync(OnProxy(new Uri(link[1..link.IndexOf('>', StringComparison.Ordinal)], UriKind.RelativeOrAbsolute)));
        Assert.Equal("""{"name":"e2e/app","tags":["2.0"]}""", await secondPage.Content.ReadAsStringAsync());

        // The REST API's uri fields name nginx too.
        using var rest = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = Proxy };
        rest.DefaultRequestHeaders.Authorization = WharfServer.Basic("admin", WharfServer.AdminPassword);
        var item = JsonDocument.Parse(await rest.GetStringAsync("/artifactory/api/storage/docker-v2-local/e2e/app")).RootElement;
        Assert.Equal($"{Proxy.OriginalString}/artifactory/api/storage/docker-v2-local/e2e/app", item.GetProperty("uri").GetString());
    }

    /// <summary>The URL a client reaches by <paramref name="location"/> (relative ones resolve against nginx), which must be on nginx's port.</summary>
    private string OnProxy(Uri? location)
    {
        Assert.NotNull(location);
        var absolute = new Uri(Proxy, location);
        Assert.Equal(("127.0.0.1", _port), (absolute.Host, absolute.Port));
        return absolute.ToString();
    }
}
