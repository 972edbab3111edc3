using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Wharf.Server.Tests.Support;

public enum DockerVersion
{
    V1_6,
    V1_9,
    V1_12,
}

/// <summary>How credentials travel (docker-v1-protocol §5.2).</summary>
public enum AuthStyle
{
    /// <summary>HTTPS with a standalone registry: Basic on every request.</summary>
    BasicEverywhere,

    /// <summary>Plain HTTP: Basic on index calls only; registry calls carry the index's token.</summary>
    BasicOnIndexThenToken,
}

/// <summary>One V1 image: its id, the exact JSON bytes the daemon sends and its layer.</summary>
public sealed record TestImage(string Id, byte[] Json, byte[] Layer)
{
    /// <summary>docker-v1-protocol §7.1: sha256(json ‖ '\n' ‖ layer).</summary>
    public string PayloadChecksum => "sha256:" + Convert.ToHexStringLower(SHA256.HashData([.. Json, (byte)'\n', .. Layer]));

    /// <summary>
    /// A chain of images, root first, shaped like the given docker version pushes them: 1.6 JSON
    /// with a trailing newline, 1.9 full JSON without, 1.10+ dependency layers with only id/parent.
    /// </summary>
    public static IReadOnlyList<TestImage> Chain(DockerVersion version, int count, int layerBytes = 4096, TestImage? parent = null)
    {
        var chain = new List<TestImage>();
        var parentId = parent?.Id;
        for (var i = 0; i < count; i++)
        {
            var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
            var top = i == count - 1;
            string json = version switch
            {
                DockerVersion.V1_12 when !top => parentId is null ? $"{{\"id\":\"{id}\"}}" : $"{{\"id\":\"{id}\",\"parent\":\"{parentId}\"}}",
                _ => JsonSerializer.Serialize(new Dictionary<string, object?>
                {
                    ["id"] = id,
                    ["parent"] = parentId,
                    ["created"] = "2015-05-12T21:04:41.012345678Z",
                    ["container_config"] = new { Cmd = new[] { "/bin/sh", "-c", $"#(nop) step {i}" } },
                    ["docker_version"] = version switch { DockerVersion.V1_6 => "1.6.2", DockerVersion.V1_9 => "1.9.1", _ => "1.12.6" },
                    ["architecture"] = "amd64",
                    ["os"] = "linux",
                    ["Size"] = layerBytes,
                }.Where(p => p.Value is not null).ToDictionary()) + (version == DockerVersion.V1_6 ? "\n" : ""),
            };
            chain.Add(new TestImage(id, Encoding.UTF8.GetBytes(json), RandomNumberGenerator.GetBytes(layerBytes)));
            parentId = id;
        }

        return chain;
    }
}

/// <summary>
/// Re-enacts the HTTP traffic of docker 1.6, 1.9 and 1.12 for push and pull (docker-v1-protocol
/// §10), request by request, with the headers, bodies and status checks the daemon applies.
/// <paramref name="handler"/> replaces the default connection handling, e.g. one that trusts a
/// private CA for https:// (<see cref="TlsFiles.Handler"/>), as a daemon with the CA in
/// /etc/docker/certs.d does; the client disposes it.
/// </summary>
public sealed class DockerV1Client(Uri server, string prefix, DockerVersion version, AuthStyle style, string? user, string? password, HttpMessageHandler? handler = null) : IDisposable
{
    private readonly HttpClient _http = new(handler ?? new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = server };
    private string? _token;

    public string? LastEndpoints { get; private set; }

    public void Dispose() => _http.Dispose();

    /// <summary>docker push host/name:tag of a chain (root first) whose top image carries the tag.</summary>
    public async Task PushAsync(string name, string tag, IReadOnlyList<TestImage> chain)
    {
        _token = null;
        var announce = JsonSerializer.Serialize(chain.Select((image, i) => i == chain.Count - 1
            ? (object)new Dictionary<string, string> { ["id"] = image.Id, ["Tag"] = tag }
            : new Dictionary<string, string> { ["id"] = image.Id }));
        using (var start = await SendAsync(HttpMethod.Put, $"repositories/{name}/", Index(announce)))
        {
            Expect(start, HttpStatusCode.OK, "push start");
            _token = Single(start, "X-Docker-Token");
            LastEndpoints = Single(start, "X-Docker-Endpoints");
        }

        // Phase C: lookups in parallel (up to five), then uploads root first.
        var present = await Task.WhenAll(chain.Select(async image =>
        {
            using var lookup = await SendAsync(HttpMethod.Get, $"images/{image.Id}/json", Registry());
            return lookup.StatusCode == HttpStatusCode.OK;
        }));

        for (var i = 0; i < chain.Count; i++)
        {
            if (present[i])
            {
                continue;
            }

            var image = chain[i];
            using (var json = await SendAsync(HttpMethod.Put, $"images/{image.Id}/json", Registry(new ByteArrayContent(image.Json), "application/json")))
            {
                if ((await json.Content.ReadAsStringAsync()).Contains("Image already exists", StringComparison.Ordinal))
                {
                    continue;
                }

                Expect(json, HttpStatusCode.OK, "image json");
            }

            var layer = new StreamContent(new MemoryStream(image.Layer));
            layer.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            var layerRequest = Registry(layer);
            layerRequest.Headers.TransferEncodingChunked = true;
            using (var put = await SendAsync(HttpMethod.Put, $"images/{image.Id}/layer", layerRequest))
            {
                Expect(put, HttpStatusCode.OK, "layer");
            }

            var checksum = Registry();
            checksum.Headers.Add("X-Docker-Checksum", "tarsum+sha256:" + new string('0', 64));
            checksum.Headers.Add("X-Docker-Checksum-Payload", image.PayloadChecksum);
            using (var put = await SendAsync(HttpMethod.Put, $"images/{image.Id}/checksum", checksum))
            {
                Expect(put, HttpStatusCode.OK, "checksum");
            }
        }

        using (var tagPut = await SendAsync(HttpMethod.Put, $"repositories/{name}/tags/{tag}", Registry(new StringContent($"\"{chain[^1].Id}\""), "application/json")))
        {
            Expect(tagPut, HttpStatusCode.OK, "tag");
        }

        using var end = await SendAsync(HttpMethod.Put, $"repositories/{name}/images", Index("[]"));
        Expect(end, HttpStatusCode.NoContent, "push end");
    }

    /// <summary>docker pull host/name:tag; returns every image of the chain by id, root first.</summary>
    public async Task<IReadOnlyList<TestImage>> PullAsync(string name, string tag)
    {
        var id = await StartPullAsync(name, async tagName =>
        {
            if (version == DockerVersion.V1_6)
            {
                using var list = await SendAsync(HttpMethod.Get, $"repositories/{tagName}/tags", Registry());
                Expect(list, HttpStatusCode.OK, "tag list");
                return JsonSerializer.Deserialize<Dictionary<string, string>>(await list.Content.ReadAsStringAsync())![tag];
            }

            using var one = await SendAsync(HttpMethod.Get, $"repositories/{tagName}/tags/{tag}", Registry());
            Expect(one, HttpStatusCode.OK, "tag");
            return JsonSerializer.Deserialize<string>(await one.Content.ReadAsStringAsync())!;
        });
        return await DownloadAsync(id);
    }

    /// <summary>docker pull -a: every tag of the repository, by the tag-list call in every version.</summary>
    public async Task<IReadOnlyDictionary<string, IReadOnlyList<TestImage>>> PullAllAsync(string name)
    {
        Dictionary<string, string> tags = [];
        await StartPullAsync(name, async tagName =>
        {
            using var list = await SendAsync(HttpMethod.Get, $"repositories/{tagName}/tags", Registry());
            Expect(list, HttpStatusCode.OK, "tag list");
            tags = JsonSerializer.Deserialize<Dictionary<string, string>>(await list.Content.ReadAsStringAsync())!;
            return "";
        });
        var result = new Dictionary<string, IReadOnlyList<TestImage>>();
        foreach (var (tag, id) in tags)
        {
            result[tag] = await DownloadAsync(id);
        }

        return result;
    }

    private async Task<string> StartPullAsync(string name, Func<string, Task<string>> resolve)
    {
        _token = null;
        using (var images = await SendAsync(HttpMethod.Get, $"repositories/{name}/images", Index(null)))
        {
            Expect(images, HttpStatusCode.OK, "pull start");
            _token = Single(images, "X-Docker-Token");
            LastEndpoints = Single(images, "X-Docker-Endpoints");
            var list = JsonDocument.Parse(await images.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(JsonValueKind.Array, list.ValueKind);
        }

        // docker asks tag routes with library/ for single-component names.
        return await resolve(name.Contains('/', StringComparison.Ordinal) ? name : "library/" + name);
    }

    private async Task<IReadOnlyList<TestImage>> DownloadAsync(string id)
    {
        using var ancestryResponse = await SendAsync(HttpMethod.Get, $"images/{id}/ancestry", Registry());
        Expect(ancestryResponse, HttpStatusCode.OK, "ancestry");
        var ancestry = JsonSerializer.Deserialize<string[]>(await ancestryResponse.Content.ReadAsStringAsync())!;
        Assert.Equal(id, ancestry[0]);
        var images = new List<TestImage>();
        foreach (var imageId in ancestry.Reverse())
        {
            using var json = await SendAsync(HttpMethod.Get, $"images/{imageId}/json", Registry());
            Expect(json, HttpStatusCode.OK, "image json");
            var size = long.Parse(Single(json, "X-Docker-Size"), System.Globalization.CultureInfo.InvariantCulture);
            using var layer = await SendAsync(HttpMethod.Get, $"images/{imageId}/layer", Registry());
            Expect(layer, HttpStatusCode.OK, "layer");
            Assert.Equal("bytes", Single(layer, "Accept-Ranges"));
            var bytes = await layer.Content.ReadAsByteArrayAsync();
            Assert.Equal(size, bytes.Length);
            images.Add(new TestImage(imageId, await json.Content.ReadAsByteArrayAsync(), bytes));
        }

        return images;
    }

    private HttpRequestMessage Index(string? jsonBody)
    {
        var request = new HttpRequestMessage();
        request.Headers.Add("X-Docker-Token", "true");
        if (jsonBody is not null)
        {
            request.Content = new StringContent(jsonBody);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        // 1.6 always sends Basic on the index PUTs, possibly empty; every version sends it when logged in.
        if (user is not null)
        {
            request.Headers.Authorization = WharfServer.Basic(user, password ?? "");
        }
        else if (version == DockerVersion.V1_6 && jsonBody is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", "Og==");
        }

        return request;
    }

    private HttpRequestMessage Registry(HttpContent? content = null, string? contentType = null)
    {
        var request = new HttpRequestMessage { Content = content };
        if (contentType is not null)
        {
            request.Content!.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        }

        if (style == AuthStyle.BasicEverywhere)
        {
            request.Headers.Authorization = user is null
                ? new AuthenticationHeaderValue("Basic", "Og==")
                : WharfServer.Basic(user, password ?? "");
        }
        else
        {
            // 1.6 sends "Token " even without a token; later versions send the cached one if any.
            request.Headers.TryAddWithoutValidation("Authorization", "Token " + (_token ?? ""));
        }

        return request;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpRequestMessage request)
    {
        request.Method = method;
        request.RequestUri = new Uri(_http.BaseAddress!, prefix.TrimEnd('/') + "/" + path);
        return await _http.SendAsync(request);
    }

    private static string Single(HttpResponseMessage response, string header)
    {
        Assert.True(response.Headers.TryGetValues(header, out var values) || response.Content.Headers.TryGetValues(header, out values), $"missing {header}");
        return Assert.Single(values!);
    }

    private static void Expect(HttpResponseMessage response, HttpStatusCode status, string step) =>
        Assert.True(response.StatusCode == status, $"{step}: expected {(int)status}, got {(int)response.StatusCode} {response.Content.ReadAsStringAsync().Result}");
}
