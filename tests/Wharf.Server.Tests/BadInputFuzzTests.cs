using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Wharf.Server.Tests.Support;
using static Wharf.Server.Tests.V1ConformanceTests;

namespace Wharf.Server.Tests;

/// <summary>
/// A randomized sweep (fixed seed, so every run sends the same requests) of malformed paths,
/// digests, ranges, headers and bodies at the V1, V2, REST and storage routes: whatever arrives,
/// the answer is never a 5xx and nothing unhandled reaches the log.
/// </summary>
public sealed class BadInputFuzzTests(WharfServer server) : IClassFixture<WharfServer>
{
    private const int Seed = 20261127;
    private const int Requests = 600;

    private static readonly string[] Methods = ["GET", "GET", "HEAD", "PUT", "PUT", "POST", "POST", "PATCH", "DELETE"];

    /// <summary>Path segments and query values that break one grammar or another.</summary>
    private static readonly string[] Pieces =
    [
        "", "x", "A", "..", "%2e%2e", "%2F", "%25", "%ff", "%ed%a0%80", "%c0%af", "a%20b", "%f0%9f%90%b3", "_uploads", "tags", "json", "images",
        "sha256:zz", "sha256:", "md5:abc", "sha512:00", ":", "~", "$", "*", "?", "%3F", "%23", "list.manifest.json", "manifest.json", "tag.json",
        "_index_images.json", ".images", "repositories", "v2", "v1", "library", "-", ".", "a..b", "a__b", "a--b", new string('a', 300), new string('b', 2100),
        "sha256__" + new string('0', 64), "%5C", "%00x", "latest", "1.0", "%3Cscript%3E", "%22%27", "%0d%0ax", "%7F",
    ];

    private static readonly string[] Ranges =
    [
        "bytes=0-0,1-1", "bytes=", "bytes=-", "bytes=5-1", "bytes=0-0,", "items=0-1", "bytes=99999999999999999999-", "bytes=-0", "bytes=0-",
        "bytes=-99999999999999999999", "bytes=1-1,-1,0-", "bytes=" + string.Join(',', Enumerable.Repeat("0-0", 300)), "bytes=a-b", "bytes 0-1/2", "bytes=0--1",
        "bytes=18446744073709551615-18446744073709551616", "bytes=,", "bytes=0-1,2-3;x", "\u00ff",
    ];

    private static readonly string[] ContentRanges =
    [
        "0-0", "bytes 0-9/10", "0-", "-", "9-0", "bytes */*", "99999999999999999999-99999999999999999999", "0-9999999999999", "a-b", "bytes=0-1", "0-1,2-3", "-1-5",
    ];

    private static readonly string[] ContentTypes =
    [
        "application/json", "application/octet-stream", "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json", "application/x-www-form-urlencoded", "multipart/form-data", "multipart/form-data; boundary=x",
        "text/plain; charset=utf-16", "application/json; charset=latin1", ";;;", "application/vnd.docker.distribution.manifest.v1+prettyjws",
    ];

    private string _imageId = "";
    private string _blobDigest = "";
    private string _manifestDigest = "";

    [Fact]
    public async Task Malformed_requests_on_every_route_family_never_answer_5xx()
    {
        using var admin = server.Admin();
        var mark = server.Logs.Mark;
        await SeedAsync(admin);

        var random = new Random(Seed);
        using var anonymous = server.Client();
        using var alice = server.Client("alice", WharfServer.AlicePassword);
        HttpClient[] clients = [admin, admin, admin, alice, anonymous];
        var failures = new List<string>();
        for (var i = 0; i < Requests; i++)
        {
            var request = Build(random);
            var description = $"#{i} {request.Method} {request.RequestUri}";
            try
            {
                using var response = await clients[random.Next(clients.Length)].SendAsync(request);
                await response.Content.ReadAsByteArrayAsync();
                if ((int)response.StatusCode >= 500)
                {
                    failures.Add($"{description} -> {(int)response.StatusCode}");
                }
            }
            catch (HttpRequestException)
            {
                // Not sent (the client refuses some header values) or refused by Kestrel before
                // Wharf saw it (a closed connection): not a 5xx. A failure after the response
                // started would still log an error, which the assertion below catches.
            }
            finally
            {
                request.Dispose();
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        server.Logs.AssertNoServerErrors(mark);
    }

    /// <summary>Something real to aim at: a V1 image and tag, and a V2 blob and tagged manifest.</summary>
    private async Task SeedAsync(HttpClient admin)
    {
        var image = TestImage.Chain(DockerVersion.V1_12, 1, layerBytes: 3000)[0];
        await PushImageAsync(admin, image);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/v1/repositories/fuzz/app/tags/1", Json($"\"{image.Id}\""))).StatusCode);
        _imageId = image.Id;

        var blob = RandomNumberGenerator.GetBytes(3000);
        _blobDigest = V2ApiTests.Digest(blob);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsync($"/v2/docker-v2-local/fuzz/app/blobs/uploads/?digest={_blobDigest}", new ByteArrayContent(blob))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsync($"/artifactory/api/docker/docker-v2-local/v2/fuzz/app/blobs/uploads/?digest={V2ApiTests.Digest("{}"u8.ToArray())}", new ByteArrayContent("{}"u8.ToArray()))).StatusCode);
        var manifest = Manifest(V2ApiTests.Digest("{}"u8.ToArray()), 2, _blobDigest, blob.Length);
        var content = new ByteArrayContent(manifest);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/vnd.oci.image.manifest.v1+json");
        Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync("/artifactory/api/docker/docker-v2-local/v2/fuzz/app/manifests/1", content)).StatusCode);
        _manifestDigest = V2ApiTests.Digest(manifest);
    }

    private HttpRequestMessage Build(Random random)
    {
        // Each route comes with the methods it answers ("GET,HEAD /path"); mostly one of those is
        // used, so that the request gets past routing to the code that reads its input.
        var route = random.Next(6) switch
        {
            0 => V1Route(random),
            1 or 2 => V2Route(random),
            3 => RestRoute(random),
            4 => StorageRoute(random),
            _ => $"GET,PUT /{Piece(random)}/{Piece(random)}/{Piece(random)}",
        };
        var space = route.IndexOf(' ', StringComparison.Ordinal);
        var path = route[(space + 1)..];
        var method = random.Next(8) == 0 ? Pick(random, Methods) : Pick(random, route[..space].Split(','));
        // A leading "//" would name a host, not a path.
        var request = new HttpRequestMessage(new HttpMethod(method), new Uri("/" + path.TrimStart('/'), UriKind.Relative));
        if (random.Next(3) == 0)
        {
            request.Headers.TryAddWithoutValidation("Range", Pick(random, Ranges));
        }

        if (random.Next(8) == 0)
        {
            request.Headers.TryAddWithoutValidation("X-Docker-Token", Pick(random, ["true", "garbage", "Token signature=x,repository=\"a/b\",access=write", ""]));
        }

        if (random.Next(10) == 0)
        {
            request.Headers.TryAddWithoutValidation("X-Docker-Checksum-Payload", Pick(random, ["sha256:" + new string('0', 64), "", "md5:1", "sha256:"]));
        }

        if (method is "PUT" or "POST" or "PATCH" || random.Next(6) == 0)
        {
            var content = new ByteArrayContent(random.Next(2) == 0 && Targeted(path, random) is { } targeted ? targeted : Body(random));
            content.Headers.TryAddWithoutValidation("Content-Type", Pick(random, ContentTypes));
            if (random.Next(3) == 0)
            {
                content.Headers.TryAddWithoutValidation("Content-Range", Pick(random, ContentRanges));
            }

            request.Content = content;
        }

        return request;
    }

    private string V1Route(Random random)
    {
        var prefix = Pick(random, ["/v1", "/artifactory/api/docker/docker-local/v1", "/api/docker/docker-local/v1", "/api/docker/docker-v2-local/v1", $"/api/docker/{Piece(random)}/v1"]);
        var id = Pick(random, [_imageId, Piece(random), new string('f', 64), _imageId.ToUpperInvariant()]);
        var name = Pick(random, ["fuzz/app", "library/x", Piece(random), $"{Piece(random)}/{Piece(random)}", "fuzz/app/extra"]);
        return WithPrefix(prefix, Pick(random,
        [
            $"GET,PUT /images/{id}/json", $"GET,PUT /images/{id}/layer", $"GET /images/{id}/ancestry", $"PUT /images/{id}/checksum", $"GET,PUT /images/{id}/{Piece(random)}",
            $"PUT,DELETE /repositories/{name}/", $"GET,PUT /repositories/{name}/images", $"GET,DELETE /repositories/{name}/tags", $"GET,PUT,DELETE /repositories/{name}/tags/{Piece(random)}",
            $"GET /repositories/{name}/tags/1/json", $"GET /repositories/{name}/json", $"GET /search?q={Piece(random)}&n={Piece(random)}&page={Piece(random)}", "GET /_ping", "GET,POST /users/",
        ]));
    }

    private string V2Route(Random random)
    {
        var prefix = Pick(random, ["/v2/docker-v2-local", "/artifactory/api/docker/docker-v2-local/v2", "/api/docker/docker-v2-local/v2", "/v2/docker-local", $"/v2/{Piece(random)}"]);
        var name = Pick(random, ["fuzz/app", Piece(random), $"fuzz/{Piece(random)}", "fuzz/app/manifests/x"]);
        var digest = Pick(random, [_blobDigest, _manifestDigest, Piece(random), "sha256:" + new string('0', 64), "sha512:" + new string('0', 128), _blobDigest.ToUpperInvariant()]);
        var reference = Pick(random, ["1", digest, Piece(random)]);
        var upload = Pick(random, [new string('0', 32), Piece(random), Guid.NewGuid().ToString("N")]);
        return WithPrefix(prefix, Pick(random,
        [
            $"GET,HEAD,PUT,PUT,DELETE /{name}/manifests/{reference}", $"GET,GET,HEAD,DELETE /{name}/blobs/{digest}", $"POST /{name}/blobs/uploads/", $"POST /{name}/blobs/uploads/?digest={digest}",
            $"POST /{name}/blobs/uploads/?mount={digest}&from={Piece(random)}", $"GET,PATCH,DELETE /{name}/blobs/uploads/{upload}", $"PUT /{name}/blobs/uploads/{upload}?digest={digest}",
            $"GET /{name}/tags/list?n={Piece(random)}&last={Piece(random)}", $"GET /{name}/referrers/{digest}?artifactType={Piece(random)}", "GET /_catalog?n=" + Piece(random), "GET /",
            $"GET /token?scope=repository:{Piece(random)}:pull,{Piece(random)}&service={Piece(random)}",
        ]));
    }

    private static string RestRoute(Random random)
    {
        var prefix = Pick(random, ["/api", "/artifactory/api"]);
        var key = Pick(random, ["docker-local", "docker-v2-local", Piece(random)]);
        return WithPrefix(prefix, Pick(random,
        [
            $"GET,PUT,POST /repositories/{key}", $"GET /repositories?type={Piece(random)}&packageType={Piece(random)}", $"GET,PUT,POST /security/users/{Piece(random)}", $"GET,PUT,POST /security/groups/{Piece(random)}",
            $"GET,PUT /security/permissions/{Piece(random)}", "GET,PUT /security/anonymousAccess", "GET /security/apiKey", $"GET /security/apiKey/{Piece(random)}", "GET,POST /security/token",
            "POST /security/token/revoke", $"POST /docker/{key}/v1/promote", $"POST /docker/{key}/v2/promote", $"POST /docker/{key}/v1/migrate", "GET /system/storage", "GET /system/ping", "GET /system/version",
            $"GET /search/prop?{Piece(random)}={Piece(random)}&repos={Piece(random)}", $"GET /search/artifact?name={Piece(random)}&repos={Piece(random)}",
            $"GET /docker/{key}/v2/token?scope={Piece(random)}",
        ]));
    }

    private static string StorageRoute(Random random)
    {
        var key = Pick(random, ["docker-local", "docker-v2-local", Piece(random)]);
        var path = string.Join('/', Enumerable.Range(0, random.Next(1, 4)).Select(_ => Pick(random, ["fuzz", "app", "1", "repositories", ".images", Piece(random)])));
        return Pick(random,
        [
            $"GET /api/storage/{key}/{path}", $"GET /api/storage/{key}/{path}?list&deep={Piece(random)}&depth={Piece(random)}&listFolders=1",
            $"GET,PUT,DELETE /api/storage/{key}/{path}?properties={Piece(random)}={Piece(random)};{Piece(random)}&recursive={Piece(random)}",
            $"GET /api/storage/{key}/{path}?permissions", $"GET,GET,HEAD,PUT /artifactory/{key}/{path}", $"POST /api/copy/{key}/{path}?to=/{Piece(random)}/{Piece(random)}&dry={Piece(random)}",
            $"POST /api/move/{key}/{path}?to=/{key}/{Piece(random)}/{Piece(random)}&dry=1", $"POST /api/copy/{key}/{path}?to={Piece(random)}",
        ]);
    }

    /// <summary>"METHODS /path" with <paramref name="prefix"/> put before the path.</summary>
    private static string WithPrefix(string prefix, string route)
    {
        var space = route.IndexOf(' ', StringComparison.Ordinal);
        return $"{route[..space]} {prefix}{route[(space + 1)..]}";
    }

    private static byte[] Body(Random random)
    {
        var bad = Pick(random, ["\"\\ud800\"", "\"\\udfff\\ud800\"", "\"\\u12\"", "\"a\"", "1e999999", "-0", "null", "[]", "{}", "\"" + new string('x', 5000) + "\""]);
        return random.Next(10) switch
        {
            0 => [],
            1 => RandomBytes(random, random.Next(1, 300)),
            2 => Encoding.UTF8.GetBytes(new string('[', random.Next(60, 2000))),
            3 => [(byte)'{', (byte)'"', (byte)'a', 0xFF, (byte)'"', (byte)':', (byte)'1', (byte)'}'],
            4 => Encoding.UTF8.GetBytes($"{{\"key\":{bad},\"email\":{bad},\"enabled\":{bad},\"targetRepo\":{bad},\"repositories\":[{bad}],\"id\":{bad}}}"),
            5 => Encoding.UTF8.GetBytes($"{{\"schemaVersion\":2,\"mediaType\":{bad},\"config\":{{\"mediaType\":{bad},\"digest\":{bad},\"size\":{bad}}},\"layers\":[{bad}],\"manifests\":{bad},\"subject\":{bad}}}"),
            6 => Encoding.UTF8.GetBytes($"[{{\"id\":{bad}}}]"),
            7 => Encoding.UTF8.GetBytes($"username={Piece(random)}&scope={Piece(random)}&expires_in={Piece(random)}&grant_type={Piece(random)}&token={Piece(random)}&refreshable={Piece(random)}"),
            8 => Encoding.UTF8.GetBytes(bad),
            _ => Encoding.UTF8.GetBytes("{\"a\":" + bad),
        };
    }

    /// <summary>Values for a body's fields: strings no reader can decode, wrong types, and ordinary ones.</summary>
    private static readonly byte[][] Values =
    [
        "\"\\ud800\""u8.ToArray(), "\"a\\udc00\""u8.ToArray(), "\"\\ud800\\u0041\""u8.ToArray(), [(byte)'"', 0xFF, (byte)'"'], [(byte)'"', 0xED, 0xA0, 0x80, (byte)'"'],
        [(byte)'"', 0xC0, 0xAF, (byte)'"'], "5"u8.ToArray(), "[]"u8.ToArray(), "{}"u8.ToArray(), "null"u8.ToArray(), "true"u8.ToArray(), "\"ok\""u8.ToArray(),
        "\"fuzz/app\""u8.ToArray(), "\"1\""u8.ToArray(), "-1"u8.ToArray(), "1e400"u8.ToArray(), "\"\\u0000\""u8.ToArray(),
    ];

    /// <summary>A near-valid body for the route <paramref name="path"/> reads, with random field values; null for routes without one.</summary>
    private byte[]? Targeted(string path, Random random)
    {
        var route = path.Split('?')[0];
        string? template = route switch
        {
            _ when route.Contains("/api/repositories/", StringComparison.Ordinal) => $"{{\"key\":\"{route[(route.LastIndexOf('/') + 1)..]}\",\"rclass\":\"local\",\"packageType\":\"docker\",\"description\":$BAD,\"notes\":$BAD,\"maxUniqueTags\":$BAD,\"propertySets\":[$BAD]}}",
            _ when route.Contains("/security/users/", StringComparison.Ordinal) => "{\"email\":$BAD,\"password\":\"fuzz-password-1\",\"groups\":[$BAD],\"admin\":$BAD}",
            _ when route.Contains("/security/groups/", StringComparison.Ordinal) => "{\"description\":$BAD,\"userNames\":[$BAD],\"autoJoin\":$BAD}",
            _ when route.Contains("/security/permissions/", StringComparison.Ordinal) => "{\"repositories\":[$BAD],\"includesPattern\":$BAD,\"principals\":{\"users\":{$BAD:[$BAD]},\"groups\":{\"readers\":$BAD}}}",
            _ when route.EndsWith("/anonymousAccess", StringComparison.Ordinal) => "{\"enabled\":$BAD}",
            _ when route.EndsWith("/promote", StringComparison.Ordinal) || route.EndsWith("/migrate", StringComparison.Ordinal) =>
                "{\"targetRepo\":$BAD,\"dockerRepository\":$BAD,\"targetDockerRepository\":$BAD,\"tag\":$BAD,\"targetTag\":$BAD,\"copy\":$BAD,\"overwrite\":$BAD}",
            _ when route.Contains("/manifests/", StringComparison.Ordinal) =>
                "{\"schemaVersion\":2,\"mediaType\":$BAD,\"artifactType\":$BAD,\"config\":{\"mediaType\":$BAD,\"digest\":\"" + V2ApiTests.Digest("{}"u8.ToArray()) + "\",\"size\":$BAD},"
                + "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"" + _blobDigest + "\",\"size\":$BAD,\"annotations\":{\"a\":$BAD}}],"
                + "\"subject\":{\"mediaType\":$BAD,\"digest\":\"" + _manifestDigest + "\",\"size\":1},\"annotations\":{$BAD:$BAD}}",
            _ when route.EndsWith("/json", StringComparison.Ordinal) && route.Contains("/images/", StringComparison.Ordinal) => $"{{\"id\":\"{_imageId}\",\"parent\":$BAD,\"comment\":$BAD}}",
            _ when route.Contains("/tags/", StringComparison.Ordinal) && route.Contains("/v1/", StringComparison.Ordinal) => "$BAD",
            _ when route.Contains("/v1/repositories/", StringComparison.Ordinal) => $"[{{\"id\":\"{_imageId}\",\"Tag\":$BAD}},{{\"id\":$BAD}}]",
            _ => null,
        };
        if (template is null)
        {
            return null;
        }

        var parts = template.Split("$BAD");
        var body = new List<byte>(Encoding.UTF8.GetBytes(parts[0]));
        foreach (var part in parts.Skip(1))
        {
            body.AddRange(Pick(random, Values));
            body.AddRange(Encoding.UTF8.GetBytes(part));
        }

        return [.. body];
    }

    private static byte[] Manifest(string config, long configSize, string layer, long layerSize) =>
        Encoding.UTF8.GetBytes($"{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"{config}\",\"size\":{configSize}}},\"layers\":[{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"{layer}\",\"size\":{layerSize}}}]}}");

    private static byte[] RandomBytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }

    private static string Piece(Random random) => Pick(random, Pieces);

    private static T Pick<T>(Random random, T[] items) => items[random.Next(items.Length)];
}
