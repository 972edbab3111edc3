using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Wharf.Server.Tests.Support;
using Xunit.Abstractions;

namespace Wharf.Server.Tests;

/// <summary>
/// The generated reverse-proxy files tested for real: Debian's nginx and Apache httpd run the files
/// Wharf's endpoint hands out (port-per-repository and subdomain methods, TLS with a certificate from
/// <c>certificate create</c> whose CA the clients trust) in front of one Wharf that opens no
/// repository ports itself (<see cref="TlsProxyWharf"/>). Through each: docker 1.x traffic and
/// skopeo by a repository's port, both protocols by a repository's host name, 1 GiB bodies
/// streamed both ways, and every URL Wharf hands out naming the web server. Wharf's own
/// per-repository listeners (no web server) are <see cref="RepositoryPortTests"/>.
/// </summary>
[Collection(TlsProxySuites.Name)]
public abstract class TlsReverseProxyTests(TlsProxyWharf wharf, ITestOutputHelper output) : IAsyncLifetime
{
    private const long GiB = 1024L * 1024 * 1024;
    private TlsFrontEnd? _frontEnd;

    protected abstract WebServerKind Kind { get; }

    /// <summary>The size of each big body through this web server.</summary>
    protected virtual long BigBody => GiB;

    private string Name => Kind.ToString().ToLowerInvariant();

    private TlsFrontEnd FrontEnd => _frontEnd!;

    public async Task InitializeAsync() =>
        _frontEnd = await TlsFrontEnd.StartAsync(Kind, wharf.Sites(Kind).Select(s => wharf.OnLoopback(Kind, s)), wharf.Ports);

    /// <summary>Stops the web server, which must have logged nothing at error level or above.</summary>
    public async Task DisposeAsync()
    {
        if (_frontEnd is null)
        {
            return;
        }

        var log = File.Exists(_frontEnd.ErrorLog) ? await File.ReadAllTextAsync(_frontEnd.ErrorLog) : "";
        await _frontEnd.DisposeAsync();
        output.WriteLine($"{Kind} error log:\n{log}");
        Assert.DoesNotMatch(Kind == WebServerKind.Nginx ? @"\[(error|crit|alert|emerg)\]" : @":(error|crit|alert|emerg)\]", log);
    }

    [Fact]
    public async Task By_a_repository_port_docker_1x_and_skopeo_push_and_pull_over_tls()
    {
        var v1 = new Uri($"https://127.0.0.1:{wharf.V1Port}");
        var chain = TestImage.Chain(DockerVersion.V1_12, 2);
        using (var docker = new DockerV1Client(v1, "/v1/", DockerVersion.V1_12, AuthStyle.BasicEverywhere, "admin", WharfServer.AdminPassword, wharf.Tls.Handler()))
        {
            await docker.PushAsync($"{Name}/web", "1.0", chain);
            Assert.Equal($"127.0.0.1:{wharf.V1Port}", docker.LastEndpoints);
            var pulled = await docker.PullAsync($"{Name}/web", "1.0");
            Assert.Equal(chain.Select(i => (i.Id, Convert.ToHexString(i.Layer))), pulled.Select(i => (i.Id, Convert.ToHexString(i.Layer))));
            Assert.Equal($"127.0.0.1:{wharf.V1Port}", docker.LastEndpoints);
        }

        var layout = Path.Combine(FrontEnd.Directory, "layout");
        var (manifestDigest, layers) = OciLayout.Write(layout, "1.0", layerCount: 2);
        var registry = $"127.0.0.1:{wharf.V2Port}";
        var creds = $"admin:{WharfServer.AdminPassword}";
        await Cli.SkopeoAsync("copy", "--dest-creds", creds, "--dest-cert-dir", wharf.Tls.CertDir, $"oci:{layout}:1.0", $"docker://{registry}/{Name}/app:1.0");
        var inspect = JsonDocument.Parse(await Cli.SkopeoAsync("inspect", "--creds", creds, "--cert-dir", wharf.Tls.CertDir, $"docker://{registry}/{Name}/app:1.0")).RootElement;
        Assert.Equal(manifestDigest, inspect.GetProperty("Digest").GetString());
        Assert.Equal(layers, inspect.GetProperty("Layers").EnumerateArray().Select(l => l.GetString()!).ToList());
        var back = Path.Combine(FrontEnd.Directory, "back");
        await Cli.SkopeoAsync("copy", "--src-creds", creds, "--src-cert-dir", wharf.Tls.CertDir, $"docker://{registry}/{Name}/app:1.0", $"oci:{back}:1.0");
        foreach (var blob in Directory.EnumerateFiles(Path.Combine(layout, "blobs", "sha256")))
        {
            Assert.Equal(await File.ReadAllBytesAsync(blob), await File.ReadAllBytesAsync(Path.Combine(back, "blobs", "sha256", Path.GetFileName(blob))));
        }

        // Each landed in its port's repository, as Wharf itself (not listening on those ports) says.
        using var admin = wharf.Server.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/storage/{TlsProxyWharf.V1Key}/repositories/{Name}/web/1.0")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/storage/{TlsProxyWharf.V2Key}/{Name}/app/1.0/manifest.json")).StatusCode);

        // Every URL handed out on the V2 port names it; REST uris through the V1 port too.
        using var client = new HttpClient(wharf.Tls.Handler());
        await ProxiedUrls.CheckV2Async(client, new Uri($"https://{registry}"), TlsProxyWharf.V2Key, $"{Name}/urls");
        await ProxiedUrls.CheckRestUriAsync(client, v1, $"{TlsProxyWharf.V1Key}/repositories/{Name}/web");
    }

    [Fact]
    public async Task By_a_repository_host_name_both_protocols_reach_their_repository()
    {
        var v1 = new Uri($"https://{TlsProxyWharf.V1Key}.{TlsProxyWharf.ServerName}:{wharf.SubdomainPort}");
        var chain = TestImage.Chain(DockerVersion.V1_9, 2);
        using (var docker = new DockerV1Client(v1, "/v1/", DockerVersion.V1_9, AuthStyle.BasicEverywhere, "admin", WharfServer.AdminPassword, wharf.Tls.Handler(allToLoopback: true)))
        {
            await docker.PushAsync($"{Name}/sub", "1.0", chain);
            Assert.Equal(v1.Authority, docker.LastEndpoints);
            var pulled = await docker.PullAsync($"{Name}/sub", "1.0");
            Assert.Equal(chain.Select(i => (i.Id, Convert.ToHexString(i.Layer))), pulled.Select(i => (i.Id, Convert.ToHexString(i.Layer))));
            Assert.Equal(v1.Authority, docker.LastEndpoints);
        }

        using var admin = wharf.Server.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/storage/{TlsProxyWharf.V1Key}/repositories/{Name}/sub/1.0")).StatusCode);

        // skopeo resolves names itself (no resolver to point at 127.0.0.1 here), so the V2 client is HttpClient.
        var v2 = new Uri($"https://{TlsProxyWharf.V2Key}.{TlsProxyWharf.ServerName}:{wharf.SubdomainPort}");
        using var client = new HttpClient(wharf.Tls.Handler(allToLoopback: true));
        await ProxiedUrls.CheckV2Async(client, v2, TlsProxyWharf.V2Key, $"{Name}/sub");
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/storage/{TlsProxyWharf.V2Key}/{Name}/sub/2.0/manifest.json")).StatusCode);
        await ProxiedUrls.CheckRestUriAsync(client, v1, $"{TlsProxyWharf.V1Key}/repositories/{Name}/sub");
    }

    [Fact]
    public async Task Big_bodies_stream_through_with_tls_unbuffered_and_unlimited()
    {
        var seen = new List<string>();
        async Task MidTransfer()
        {
            // Half-way through the client's body: the web server spooled nothing and Wharf already holds bytes.
            Assert.Empty(FrontEnd.SpooledFiles());
            var received = Directory.EnumerateFiles(Path.Combine(wharf.Server.DataDir, "storage", "uploads"), "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
            Assert.True(received > 0, "Wharf received nothing while the client was half-way: the web server buffers the body");
            seen.Add($"{received / (1024 * 1024)} MiB at Wharf");
        }

        using var client = new HttpClient(wharf.Tls.Handler()) { Timeout = TimeSpan.FromMinutes(5) };
        client.DefaultRequestHeaders.Authorization = WharfServer.Basic("admin", WharfServer.AdminPassword);

        // V1: PUT /v1/images/<id>/layer, chunked, then the checksum Wharf verifies.
        var v1 = new Uri($"https://127.0.0.1:{wharf.V1Port}");
        var id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var json = Encoding.UTF8.GetBytes($$"""{"id":"{{id}}","Size":{{BigBody}}}""");
        await Expect(client.SendAsync(V1Index(HttpMethod.Put, new Uri(v1, $"/v1/repositories/{Name}/big/"), $$"""[{"id":"{{id}}","Tag":"1.0"}]""")), HttpStatusCode.OK);
        await Expect(client.PutAsync(new Uri(v1, $"/v1/images/{id}/json"), new ByteArrayContent(json)), HttpStatusCode.OK);
        using var layer = new GeneratedBody(BigBody, BigBody / 2, MidTransfer, [.. json, (byte)'\n']);
        var timer = Stopwatch.StartNew();
        using (var put = new HttpRequestMessage(HttpMethod.Put, new Uri(v1, $"/v1/images/{id}/layer")) { Content = layer })
        {
            put.Headers.TransferEncodingChunked = true;
            await Expect(client.SendAsync(put), HttpStatusCode.OK);
        }

        Report("V1 layer PUT", timer);
        using (var checksum = new HttpRequestMessage(HttpMethod.Put, new Uri(v1, $"/v1/images/{id}/checksum")))
        {
            checksum.Headers.Add("X-Docker-Checksum-Payload", layer.PayloadDigest);
            await Expect(client.SendAsync(checksum), HttpStatusCode.OK);
        }

        await Expect(client.PutAsync(new Uri(v1, $"/v1/repositories/{Name}/big/tags/1.0"), new StringContent($"\"{id}\"")), HttpStatusCode.OK);
        await Expect(client.SendAsync(V1Index(HttpMethod.Put, new Uri(v1, $"/v1/repositories/{Name}/big/images"), "[]")), HttpStatusCode.NoContent);
        timer.Restart();
        using (var get = await client.GetAsync(new Uri(v1, $"/v1/images/{id}/layer"), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            Assert.Equal((BigBody, layer.Digest), await GeneratedBody.DrainAsync(get.Content));
        }

        Report("V1 layer GET", timer);

        // V2: POST, one chunked PATCH of the whole blob, PUT ?digest= (Wharf verifies it), GET back.
        var v2 = new Uri($"https://127.0.0.1:{wharf.V2Port}");
        using var started = await client.PostAsync(new Uri(v2, $"/v2/{Name}/big/blobs/uploads/"), null);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        using var blob = new GeneratedBody(BigBody, BigBody / 2, MidTransfer);
        timer.Restart();
        using var patch = new HttpRequestMessage(HttpMethod.Patch, ProxiedUrls.OnProxy(started.Headers.Location, v2)) { Content = blob };
        patch.Headers.TransferEncodingChunked = true;
        using var patched = await client.SendAsync(patch);
        Assert.True(patched.StatusCode == HttpStatusCode.Accepted, await patched.Content.ReadAsStringAsync());
        Report("V2 blob PATCH", timer);
        Assert.Equal($"0-{BigBody - 1}", patched.Headers.GetValues("Range").Single());
        using var completed = await client.PutAsync(ProxiedUrls.WithDigest(ProxiedUrls.OnProxy(patched.Headers.Location, v2), blob.Digest), null);
        Assert.True(completed.StatusCode == HttpStatusCode.Created, await completed.Content.ReadAsStringAsync());
        timer.Restart();
        using (var get = await client.GetAsync(ProxiedUrls.OnProxy(completed.Headers.Location, v2), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            Assert.Equal((BigBody, blob.Digest), await GeneratedBody.DrainAsync(get.Content));
        }

        Report("V2 blob GET", timer);
        Assert.Equal(2, seen.Count);
        output.WriteLine(string.Join(", ", seen));
        Assert.Empty(FrontEnd.SpooledFiles());
        if (Kind == WebServerKind.Nginx)
        {
            Assert.DoesNotContain("buffered to a temporary file", await File.ReadAllTextAsync(FrontEnd.ErrorLog), StringComparison.Ordinal);
        }

    }

    private void Report(string what, Stopwatch timer) =>
        output.WriteLine($"{Kind} {what}: {BigBody / (1024 * 1024)} MiB in {timer.Elapsed.TotalSeconds:F1} s ({BigBody / (1024 * 1024) / timer.Elapsed.TotalSeconds:F0} MiB/s)");

    private static HttpRequestMessage V1Index(HttpMethod method, Uri uri, string body)
    {
        var request = new HttpRequestMessage(method, uri) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Docker-Token", "true");
        return request;
    }

    private static async Task Expect(Task<HttpResponseMessage> send, HttpStatusCode status)
    {
        using var response = await send;
        Assert.True(response.StatusCode == status, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}

/// <summary>Debian's nginx running Wharf's generated files.</summary>
public sealed class NginxTlsProxyTests(TlsProxyWharf wharf, ITestOutputHelper output) : TlsReverseProxyTests(wharf, output)
{
    protected override WebServerKind Kind => WebServerKind.Nginx;
}

/// <summary>Debian's Apache httpd (apache2-bin, mpm_event) running Wharf's generated files.</summary>
public sealed class ApacheTlsProxyTests(TlsProxyWharf wharf, ITestOutputHelper output) : TlsReverseProxyTests(wharf, output)
{
    protected override WebServerKind Kind => WebServerKind.Apache;
}
