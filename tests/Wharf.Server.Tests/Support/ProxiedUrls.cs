using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Wharf.Server.Tests.Support;

/// <summary>
/// A V2 client's whole conversation with one repository at the root <c>/v2/</c> of a public base
/// (a web server's port, or a repository's host name), following every URL Wharf hands out and
/// asserting each names that base (scheme, host and port) and never Wharf's own listener: the
/// challenge's realm, upload, blob and manifest Locations, the tags list's Link, REST <c>uri</c>s.
/// </summary>
internal static class ProxiedUrls
{
    public static async Task CheckV2Async(HttpClient client, Uri proxy, string key, string image)
    {
        client.BaseAddress = proxy;
        using var challenge = await client.GetAsync("/v2/");
        Assert.Equal(HttpStatusCode.Unauthorized, challenge.StatusCode);
        var bearer = challenge.Headers.WwwAuthenticate.Single();
        Assert.Equal("Bearer", bearer.Scheme);
        var fields = bearer.Parameter!.Split(',').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1].Trim('"'));
        var realm = OnProxy(new Uri(fields["realm"]), proxy);
        using var tokenRequest = new HttpRequestMessage(HttpMethod.Get, $"{realm}?service={Uri.EscapeDataString(fields["service"])}&scope=repository:{image}:pull,push");
        tokenRequest.Headers.Authorization = WharfServer.Basic("admin", WharfServer.AdminPassword);
        using var tokenResponse = await client.SendAsync(tokenRequest);
        Assert.True(tokenResponse.StatusCode == HttpStatusCode.OK, await tokenResponse.Content.ReadAsStringAsync());
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
            JsonDocument.Parse(await tokenResponse.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString());

        // A chunked upload (POST, PATCH, PUT ?digest=), following each Location.
        var layer = RandomNumberGenerator.GetBytes(1024 * 1024 + 3);
        using var started = await client.PostAsync($"/v2/{image}/blobs/uploads/", null);
        Assert.True(started.StatusCode == HttpStatusCode.Accepted, await started.Content.ReadAsStringAsync());
        using var patch = new HttpRequestMessage(HttpMethod.Patch, OnProxy(started.Headers.Location, proxy))
        {
            Content = new StreamContent(new MemoryStream(layer)) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream") } },
        };
        patch.Headers.TransferEncodingChunked = true;
        using var patched = await client.SendAsync(patch);
        Assert.Equal(HttpStatusCode.Accepted, patched.StatusCode);
        using var completed = await client.PutAsync(WithDigest(OnProxy(patched.Headers.Location, proxy), V2Push.Digest(layer)), null);
        Assert.True(completed.StatusCode == HttpStatusCode.Created, await completed.Content.ReadAsStringAsync());
        using (var blob = await client.GetAsync(OnProxy(completed.Headers.Location, proxy)))
        {
            Assert.Equal(HttpStatusCode.OK, blob.StatusCode);
            Assert.Equal(layer, await blob.Content.ReadAsByteArrayAsync());
        }

        // A monolithic config blob, two tags, then the tags list's Link to the second page.
        var config = Encoding.UTF8.GetBytes("""{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}""");
        using (var configPush = await client.PostAsync($"/v2/{image}/blobs/uploads/?digest={V2Push.Digest(config)}", new ByteArrayContent(config)))
        {
            Assert.Equal(HttpStatusCode.Created, configPush.StatusCode);
            OnProxy(configPush.Headers.Location, proxy);
        }

        foreach (var tag in new[] { "1.0", "2.0" })
        {
            var manifest = new ByteArrayContent(V2Push.ImageManifest(config, [layer]));
            manifest.Headers.ContentType = new MediaTypeHeaderValue(V2Push.OciManifest);
            using var put = await client.PutAsync($"/v2/{image}/manifests/{tag}", manifest);
            Assert.True(put.StatusCode == HttpStatusCode.Created, await put.Content.ReadAsStringAsync());
            using var back = await client.GetAsync(OnProxy(put.Headers.Location, proxy));
            Assert.Equal(HttpStatusCode.OK, back.StatusCode);
        }

        using var firstPage = await client.GetAsync($"/v2/{image}/tags/list?n=1");
        Assert.Equal(HttpStatusCode.OK, firstPage.StatusCode);
        var link = firstPage.Headers.GetValues("Link").Single();
        using var secondPage = await client.GetAsync(OnProxy(new Uri(link[1..link.IndexOf('>', StringComparison.Ordinal)], UriKind.RelativeOrAbsolute), proxy));
        Assert.Equal($$"""{"name":"{{image}}","tags":["2.0"]}""", await secondPage.Content.ReadAsStringAsync());

        await CheckRestUriAsync(client, proxy, $"{key}/{image}");
    }

    /// <summary>The storage API's <c>uri</c> of <paramref name="path"/>, read through <paramref name="proxy"/>, names it.</summary>
    public static async Task CheckRestUriAsync(HttpClient client, Uri proxy, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(proxy, $"/artifactory/api/storage/{path}"));
        request.Headers.Authorization = WharfServer.Basic("admin", WharfServer.AdminPassword);
        using var response = await client.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var item = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal($"{Base(proxy)}/artifactory/api/storage/{path}", item.GetProperty("uri").GetString());
    }

    /// <summary>The URL a client reaches by <paramref name="location"/> (a relative one resolves against the proxy); it must be the proxy's, over https.</summary>
    public static string OnProxy(Uri? location, Uri proxy)
    {
        Assert.NotNull(location);
        var absolute = new Uri(proxy, location);
        Assert.Equal((Uri.UriSchemeHttps, proxy.Host, proxy.Port), (absolute.Scheme, absolute.Host, absolute.Port));
        return absolute.ToString();
    }

    /// <summary>scheme://host:port of <paramref name="proxy"/>, the port always written.</summary>
    public static string Base(Uri proxy) => $"{proxy.Scheme}://{proxy.Host}:{proxy.Port}";

    public static string WithDigest(string location, string digest) =>
        location + (location.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "digest=" + digest;
}
