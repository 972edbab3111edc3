using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>
/// The OCI distribution API on a V2 repository (rest-api §3.8), written from the OCI spec's
/// conformance areas: pull, push, content discovery and content management, plus bad input.
/// </summary>
public sealed class V2ApiTests(WharfServer server) : IClassFixture<WharfServer>
{
    private const string Repo = "docker-v2-local";
    private const string Base = "/artifactory/api/docker/" + Repo + "/v2/";
    private const string OciManifest = "application/vnd.oci.image.manifest.v1+json";

    [Fact]
    public async Task Chunked_push_then_pull_by_tag_and_digest()
    {
        using var admin = server.Admin();
        var layer = RandomNumberGenerator.GetBytes(300_000);
        var location = await StartUploadAsync(admin, "v2/chunked");
        using (var first = await PatchAsync(admin, location, layer[..100_000], 0))
        {
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
            Assert.Equal("0-99999", first.Headers.GetValues("Range").Single());
            location = first.Headers.Location!.ToString();
        }

        using (var status = await admin.GetAsync(location))
        {
            Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
            Assert.Equal("0-99999", status.Headers.GetValues("Range").Single());
        }

        using (var outOfOrder = await PatchAsync(admin, location, layer[200_000..], 200_000))
        {
            Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, outOfOrder.StatusCode);
            Assert.Equal("0-99999", outOfOrder.Headers.GetValues("Range").Single());
        }

        using (var second = await PatchAsync(admin, location, layer[100_000..], 100_000))
        {
            Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        }

        // A wrong digest is refused and the upload kept, so the right one still completes it.
        using (var wrong = await admin.PutAsync($"{location}?digest={Digest(RandomNumberGenerator.GetBytes(10))}", null))
        {
            await AssertErrorAsync(wrong, HttpStatusCode.BadRequest, "DIGEST_INVALID");
        }

        using (var done = await admin.PutAsync($"{location}?digest={Digest(layer)}", null))
        {
            Assert.Equal(HttpStatusCode.Created, done.StatusCode);
            Assert.Equal(Digest(layer), done.Headers.GetValues("Docker-Content-Digest").Single());
        }

        var configBytes = Encoding.UTF8.GetBytes("""{"architecture":"amd64","os":"linux","config":{"Labels":{"team":"platform"}},"rootfs":{"type":"layers","diff_ids":[]}}""");
        var config = await PushBlobAsync(admin, "v2/chunked", configBytes);
        var manifest = ImageManifest(config, [layer], configBytes.Length);
        var digest = await PutManifestAsync(admin, "v2/chunked", "1.0", manifest);

        foreach (var reference in new[] { "1.0", digest })
        {
            using var get = await admin.GetAsync($"{Base}v2/chunked/manifests/{reference}");
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            Assert.Equal(OciManifest, get.Content.Headers.ContentType!.MediaType);
            Assert.Equal(digest, get.Headers.GetValues("Docker-Content-Digest").Single());
            Assert.Equal(manifest, await get.Content.ReadAsByteArrayAsync());
            using var head = await admin.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"{Base}v2/chunked/manifests/{reference}"));
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(manifest.Length, head.Content.Headers.ContentLength);
        }

        using (var blob = await admin.GetAsync($"{Base}v2/chunked/blobs/{Digest(layer)}"))
        {
            Assert.Equal(layer, await blob.Content.ReadAsByteArrayAsync());
        }

        using var ranged = new HttpRequestMessage(HttpMethod.Get, $"{Base}v2/chunked/blobs/{Digest(layer)}");
        ranged.Headers.Range = new RangeHeaderValue(10, 19);
        using (var part = await admin.SendAsync(ranged))
        {
            Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
            Assert.Equal(layer[10..20], await part.Content.ReadAsByteArrayAsync());
        }

        // The Artifactory V2 tree and its properties (rest-api §8.2, §8.3).
        var properties = JsonDocument.Parse(await admin.GetStringAsync($"/api/storage/{Repo}/v2/chunked/1.0/manifest.json?properties")).RootElement.GetProperty("properties");
        Assert.Equal("1.0", properties.GetProperty("docker.manifest")[0].GetString());
        Assert.Equal(digest, properties.GetProperty("docker.manifest.digest")[0].GetString());
        Assert.Equal("v2/chunked", properties.GetProperty("docker.repoName")[0].GetString());
        Assert.Equal("platform", properties.GetProperty("docker.label.team")[0].GetString());
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/storage/{Repo}/v2/chunked/1.0/sha256__{Digest(layer)[7..]}")).StatusCode);
    }

    [Fact]
    public async Task Large_blobs_go_out_with_sendfile_and_the_connection_closes_after_them()
    {
        using var admin = server.Admin();
        var layer = RandomNumberGenerator.GetBytes(3 << 20);
        var digest = await PushBlobAsync(admin, "v2/zero-copy", layer);
        for (var i = 0; i < 3; i++)
        {
            // The same client each time: a closed connection must not cost the next request.
            using var get = await admin.GetAsync($"{Base}v2/zero-copy/blobs/{digest}");
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            Assert.True(get.Headers.ConnectionClose);
            Assert.Equal(digest, get.Headers.GetValues("Docker-Content-Digest").Single());
            Assert.Equal("registry/2.0", get.Headers.GetValues("Docker-Distribution-Api-Version").Single());
            Assert.Equal(layer.Length, get.Content.Headers.ContentLength);
            Assert.Equal(layer, await get.Content.ReadAsByteArrayAsync());
        }

        // Ranges and small blobs stay on the kept-alive connection.
        using var range = new HttpRequestMessage(HttpMethod.Get, $"{Base}v2/zero-copy/blobs/{digest}");
        range.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(1 << 20, (2 << 20) - 1);
        using (var partial = await admin.SendAsync(range))
        {
            Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
            Assert.NotEqual(true, partial.Headers.ConnectionClose);
            Assert.Equal(layer[(1 << 20)..(2 << 20)], await partial.Content.ReadAsByteArrayAsync());
        }

        using var head = await admin.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"{Base}v2/zero-copy/blobs/{digest}"));
        Assert.Equal(layer.Length, head.Content.Headers.ContentLength);
        Assert.NotEqual(true, head.Headers.ConnectionClose);
    }

    [Fact]
    public async Task Replacing_a_tag_with_other_content_needs_delete_permission()
    {
        using (var admin = server.Admin())
        {
            await admin.PutAsync("/api/security/users/v2pusher", new StringContent("""{"email":"x@x","password":"v2pusher-secret-1"}""", Encoding.UTF8, "application/json"));
            using var granted = await admin.PutAsync("/api/security/permissions/v2pusher-push", new StringContent(
                "{\"repositories\":[\"" + Repo + "\"],\"principals\":{\"users\":{\"v2pusher\":[\"r\",\"w\"]}}}", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, granted.StatusCode);
        }

        using var pusher = server.Client("v2pusher", "v2pusher-secret-1");
        var config = await PushBlobAsync(pusher, "v2/keep", Encoding.UTF8.GetBytes("{}"));
        await PushBlobAsync(pusher, "v2/keep", [1, 2, 3]);
        await PushBlobAsync(pusher, "v2/keep", [4, 5, 6]);
        var first = ImageManifest(config, [[1, 2, 3]]);
        var digest = await PutManifestAsync(pusher, "v2/keep", "t", first);
        Assert.Equal(digest, await PutManifestAsync(pusher, "v2/keep", "t", first));

        var other = ImageManifest(config, [[4, 5, 6]]);
        await AssertErrorAsync(await PutRawManifestAsync(pusher, "v2/keep", "t", other, OciManifest), HttpStatusCode.Forbidden, "DENIED");
        using (var kept = await pusher.GetAsync($"{Base}v2/keep/manifests/t"))
        {
            Assert.Equal(digest, kept.Headers.GetValues("Docker-Content-Digest").Single());
        }

        using var elsewhere = await PutRawManifestAsync(pusher, "v2/keep", "u", other, OciManifest);
        Assert.Equal(HttpStatusCode.Created, elsewhere.StatusCode);
    }

    [Fact]
    public async Task Sha512_content_is_pushed_pulled_mounted_and_named_by_its_digest()
    {
        using var admin = server.Admin();
        var layer = RandomNumberGenerator.GetBytes(70_000);
        var layerDigest = Sha512(layer);
        using (var wrong = await admin.PostAsync($"{Base}v2/s512/blobs/uploads/?digest={Sha512([1, 2, 3])}", new ByteArrayContent(layer)))
        {
            await AssertErrorAsync(wrong, HttpStatusCode.BadRequest, "DIGEST_INVALID");
        }

        using (var put = await admin.PostAsync($"{Base}v2/s512/blobs/uploads/?digest={layerDigest}", new ByteArrayContent(layer)))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            Assert.Equal(layerDigest, put.Headers.GetValues("Docker-Content-Digest").Single());
        }

        using (var get = await admin.GetAsync($"{Base}v2/s512/blobs/{layerDigest}"))
        {
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            Assert.Equal(layerDigest, get.Headers.GetValues("Docker-Content-Digest").Single());
            Assert.Equal(layer, await get.Content.ReadAsByteArrayAsync());
        }

        // The same bytes under their sha256 name are not in the image: names are per digest.
        await AssertErrorAsync(await admin.GetAsync($"{Base}v2/s512/blobs/{Digest(layer)}"), HttpStatusCode.NotFound, "BLOB_UNKNOWN");

        // A name is not a proof: content copied to a sha512 name it does not hash to is not served by it.
        var other = RandomNumberGenerator.GetBytes(100);
        await PushBlobAsync(admin, "v2/s512", other);
        var forged = Sha512([42]);
        using (var copy = await admin.PostAsync($"/api/copy/{Repo}/v2/s512/_uploads/{Digest(other).Replace(":", "__", StringComparison.Ordinal)}?to=/{Repo}/v2/s512/_uploads/{forged.Replace(":", "__", StringComparison.Ordinal)}", null))
        {
            Assert.Equal(HttpStatusCode.OK, copy.StatusCode);
        }

        await AssertErrorAsync(await admin.GetAsync($"{Base}v2/s512/blobs/{forged}"), HttpStatusCode.NotFound, "BLOB_UNKNOWN");

        // Chunked, with a wrong digest first (the session survives), then the right one.
        var config = Encoding.UTF8.GetBytes("""{"architecture":"amd64","os":"linux"}""");
        var location = await StartUploadAsync(admin, "v2/s512");
        using (var patch = await PatchAsync(admin, location, config, 0))
        {
            location = patch.Headers.Location!.ToString();
        }

        var separator = location.Contains('?', StringComparison.Ordinal) ? "&" : "?";
        await AssertErrorAsync(await admin.PutAsync($"{location}{separator}digest={Sha512([9])}", null), HttpStatusCode.BadRequest, "DIGEST_INVALID");
        using (var done = await admin.PutAsync($"{location}{separator}digest={Sha512(config)}", null))
        {
            Assert.Equal(HttpStatusCode.Created, done.StatusCode);
        }

        // POST, then PUT with the whole body: a wrong digest keeps the bytes for a PUT without a body.
        var single = RandomNumberGenerator.GetBytes(5000);
        var upload = await StartUploadAsync(admin, "v2/s512");
        var join = upload.Contains('?', StringComparison.Ordinal) ? "&" : "?";
        await AssertErrorAsync(await admin.PutAsync($"{upload}{join}digest={Sha512([7])}", new ByteArrayContent(single)), HttpStatusCode.BadRequest, "DIGEST_INVALID");
        using (var retried = await admin.PutAsync($"{upload}{join}digest={Sha512(single)}", null))
        {
            Assert.Equal(HttpStatusCode.Created, retried.StatusCode);
        }

        var another = RandomNumberGenerator.GetBytes(6000);
        upload = await StartUploadAsync(admin, "v2/s512");
        using (var whole = await admin.PutAsync($"{upload}{join}digest={Sha512(another)}", new ByteArrayContent(another)))
        {
            Assert.Equal(HttpStatusCode.Created, whole.StatusCode);
        }

        foreach (var content in new[] { single, another })
        {
            Assert.Equal(content, await admin.GetByteArrayAsync($"{Base}v2/s512/blobs/{Sha512(content)}"));
        }

        using (var mount = await admin.PostAsync($"{Base}v2/s512-copy/blobs/uploads/?mount={layerDigest}&from=v2/s512", null))
        {
            Assert.Equal(HttpStatusCode.Created, mount.StatusCode);
        }

        var manifest = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciManifest,
            ["config"] = new { mediaType = "application/vnd.oci.image.config.v1+json", digest = Sha512(config), size = config.Length },
            ["layers"] = new[] { new { mediaType = "application/vnd.oci.image.layer.v1.tar", digest = layerDigest, size = layer.Length } },
        });
        var byTag = await PutManifestAsync(admin, "v2/s512", "1", manifest);
        await AssertErrorAsync(await admin.DeleteAsync($"{Base}v2/s512/blobs/{layerDigest}"), HttpStatusCode.MethodNotAllowed, "UNSUPPORTED");

        // Pushed by its sha512 digest, the manifest is known by it.
        var manifestDigest = Sha512(manifest);
        using (var put = await PutRawManifestAsync(admin, "v2/s512", manifestDigest, manifest, OciManifest))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            Assert.Equal(manifestDigest, put.Headers.GetValues("Docker-Content-Digest").Single());
        }

        await AssertErrorAsync(await PutRawManifestAsync(admin, "v2/s512", Sha512([1]), manifest, OciManifest), HttpStatusCode.BadRequest, "DIGEST_INVALID");
        using (var get = await admin.GetAsync($"{Base}v2/s512/manifests/{manifestDigest}"))
        {
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            Assert.Equal(manifestDigest, get.Headers.GetValues("Docker-Content-Digest").Single());
            Assert.Equal(manifest, await get.Content.ReadAsByteArrayAsync());
        }

        Assert.Equal(["1"], JsonDocument.Parse(await admin.GetStringAsync($"{Base}v2/s512/tags/list")).RootElement.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(HttpStatusCode.Accepted, (await admin.DeleteAsync($"{Base}v2/s512/manifests/{manifestDigest}")).StatusCode);
        await AssertErrorAsync(await admin.GetAsync($"{Base}v2/s512/manifests/{manifestDigest}"), HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"{Base}v2/s512/manifests/{byTag}")).StatusCode);
    }

    private static string Sha512(byte[] content) => "sha512:" + Convert.ToHexStringLower(SHA512.HashData(content));

    [Fact]
    public async Task Max_unique_tags_drops_the_oldest_and_tag_retention_keeps_replaced_revisions()
    {
        using var admin = server.Admin();
        using (var created = await admin.PutAsync("/api/repositories/v2-limits", new StringContent(
            """{"key":"v2-limits","rclass":"local","packageType":"docker","dockerApiVersion":"V2","maxUniqueTags":2,"dockerTagRetention":2}""", Encoding.UTF8, "application/json")))
        {
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        }

        const string limits = "/artifactory/api/docker/v2-limits/v2/app/";
        async Task PushAsync(byte[] content)
        {
            using var put = await admin.PostAsync($"{limits}blobs/uploads/?digest={Digest(content)}", new ByteArrayContent(content));
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        async Task TagAsync(string tag, byte[] manifest)
        {
            using var body = new ByteArrayContent(manifest);
            body.Headers.ContentType = new MediaTypeHeaderValue(OciManifest);
            using var put = await admin.PutAsync($"{limits}manifests/{tag}", body);
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            await Task.Delay(20); // creation times are in milliseconds
        }

        async Task<string[]> TagsAsync() =>
            [.. JsonDocument.Parse(await admin.GetStringAsync($"{limits}tags/list")).RootElement.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!)];

        var config = Encoding.UTF8.GetBytes("{}");
        byte[][] layers = [[1], [2], [3], [4]];
        await PushAsync(config);
        foreach (var layer in layers)
        {
            await PushAsync(layer);
        }

        var manifests = layers.Select(l => ImageManifest(Digest(config), [l])).ToArray();
        await TagAsync("latest", manifests[0]);
        await TagAsync("1", manifests[1]);
        await TagAsync("1", manifests[1]);
        Assert.Equal(["1", "latest"], await TagsAsync());

        // A third tag: the oldest goes, latest not exempt.
        await TagAsync("2", manifests[2]);
        Assert.Equal(["1", "2"], await TagsAsync());

        // Overwrites keep the replaced manifest as a revision, the newest N-1 (here one) of them.
        await TagAsync("1", manifests[3]);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"{limits}manifests/{Digest(manifests[1])}")).StatusCode);
        await TagAsync("1", manifests[0]);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"{limits}manifests/{Digest(manifests[3])}")).StatusCode);
        await AssertErrorAsync(await admin.GetAsync($"{limits}manifests/{Digest(manifests[1])}"), HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        Assert.Equal(["1", "2"], await TagsAsync());

        var revision = JsonDocument.Parse(await admin.GetStringAsync($"/api/storage/v2-limits/app/{Digest(manifests[3])}/manifest.json?properties")).RootElement;
        Assert.Equal("1", revision.GetProperty("properties").GetProperty("docker.manifest")[0].GetString());
    }

    /// <summary>
    /// Automatic content discovery: a mount without <c>from</c> names a blob any image of the
    /// repository holds where the caller may read it (201); for a caller who may read it nowhere
    /// else an upload starts (202), and nothing tells that the blob exists.
    /// </summary>
    [Fact]
    public async Task A_mount_without_from_finds_a_blob_the_caller_may_read_in_the_repository()
    {
        using var admin = server.Admin();
        var layer = RandomNumberGenerator.GetBytes(3000);
        await PushBlobAsync(admin, "auto/source", layer);
        using (var mount = await admin.PostAsync($"{Base}auto/target/blobs/uploads/?mount={Digest(layer)}", null))
        {
            Assert.Equal(HttpStatusCode.Created, mount.StatusCode);
            Assert.Equal($"{Base}auto/target/blobs/{Digest(layer)}", mount.Headers.Location?.OriginalString);
        }

        Assert.Equal(layer, await admin.GetByteArrayAsync($"{Base}auto/target/blobs/{Digest(layer)}"));

        using (var unknown = await admin.PostAsync($"{Base}auto/target/blobs/uploads/?mount={Digest(RandomNumberGenerator.GetBytes(8))}", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, unknown.StatusCode);
        }

        // Through the token flow, as clients do: the challenge of a mount without "from" asks to
        // pull and push the target, and that token mounts a blob the target already holds.
        using var anonymous = server.Client();
        string challenge;
        using (var unauthorized = await anonymous.PostAsync($"{Base}auto/target/blobs/uploads/?mount={Digest(layer)}", null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);
            challenge = unauthorized.Headers.WwwAuthenticate.ToString();
            Assert.Contains("scope=\"repository:auto/target:pull,push\"", challenge, StringComparison.Ordinal);
        }

        var token = JsonDocument.Parse(await admin.GetStringAsync($"/api/docker/{Repo}/v2/token?service=x&scope=repository:auto/target:pull,push")).RootElement.GetProperty("token").GetString();
        using var bearer = server.Client();
        bearer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using (var mounted = await bearer.PostAsync($"{Base}auto/target/blobs/uploads/?mount={Digest(layer)}", null))
        {
            Assert.Equal(HttpStatusCode.Created, mounted.StatusCode);
        }

        // The token may pull auto/target only: the blob auto/source alone holds is not found through it.
        var other = RandomNumberGenerator.GetBytes(100);
        await PushBlobAsync(admin, "auto/source", other);
        using (var notMounted = await bearer.PostAsync($"{Base}auto/target/blobs/uploads/?mount={Digest(other)}", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, notMounted.StatusCode);
        }

        // A user who may read and write only below auto/own: the blob of auto/source stays out of reach.
        var user = RegistryHttp.Json("{\"email\":\"auto-own@example.com\",\"password\":\"auto-own-secret-1\",\"groups\":[]}");
        Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync("/api/security/users/auto-own", user)).StatusCode);
        var permission = RegistryHttp.Json("{\"repositories\":[\"" + Repo + "\"],\"includesPattern\":\"auto/own/**\",\"principals\":{\"users\":{\"auto-own\":[\"r\",\"w\"]}}}");
        using (var target = await admin.PutAsync("/api/security/permissions/auto-own", permission))
        {
            Assert.Equal(HttpStatusCode.OK, target.StatusCode);
        }

        using var own = server.Client("auto-own", "auto-own-secret-1");
        using (var refused = await own.PostAsync($"{Base}auto/own/blobs/uploads/?mount={Digest(layer)}", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, refused.StatusCode);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await own.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"{Base}auto/own/blobs/{Digest(layer)}"))).StatusCode);
    }

    [Fact]
    public async Task Monolithic_push_mount_tags_catalog_and_the_repository_path_method()
    {
        using var admin = server.Admin();
        var layer = RandomNumberGenerator.GetBytes(5000);
        var config = await PushBlobAsync(admin, "v2/mono", Encoding.UTF8.GetBytes("{}"));
        await PushBlobAsync(admin, "v2/mono", layer);
        var manifest = ImageManifest(config, [layer]);
        foreach (var tag in new[] { "b", "a", "c" })
        {
            await PutManifestAsync(admin, "v2/mono", tag, manifest);
        }

        using (var mount = await admin.PostAsync($"{Base}v2/mounted/blobs/uploads/?mount={Digest(layer)}&from=v2/mono", null))
        {
            Assert.Equal(HttpStatusCode.Created, mount.StatusCode);
        }

        using (var missing = await admin.PostAsync($"{Base}v2/mounted/blobs/uploads/?mount={Digest(RandomNumberGenerator.GetBytes(8))}&from=v2/mono", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, missing.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await admin.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"{Base}v2/mounted/blobs/{Digest(layer)}"))).StatusCode);

        var all = JsonDocument.Parse(await admin.GetStringAsync($"{Base}v2/mono/tags/list")).RootElement;
        Assert.Equal(["a", "b", "c"], all.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        using (var page = await admin.GetAsync($"{Base}v2/mono/tags/list?n=2"))
        {
            Assert.Equal(["a", "b"], JsonDocument.Parse(await page.Content.ReadAsStringAsync()).RootElement.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
            Assert.Equal($"<{Base}v2/mono/tags/list?last=b&n=2>; rel=\"next\"", page.Headers.GetValues("Link").Single());
        }

        Assert.Equal(["c"], JsonDocument.Parse(await admin.GetStringAsync($"{Base}v2/mono/tags/list?n=2&last=b")).RootElement.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Empty(JsonDocument.Parse(await admin.GetStringAsync($"{Base}v2/mono/tags/list?n=0")).RootElement.GetProperty("tags").EnumerateArray());
        await AssertErrorAsync(await admin.GetAsync($"{Base}v2/mono/tags/list?n=-1"), HttpStatusCode.BadRequest, "PAGINATION_NUMBER_INVALID");
        await AssertErrorAsync(await admin.GetAsync($"{Base}v2/nosuch/tags/list"), HttpStatusCode.NotFound, "NAME_UNKNOWN");

        // A folder that is only the path above images is no image.
        await AssertErrorAsync(await admin.GetAsync($"{Base}v2/tags/list"), HttpStatusCode.NotFound, "NAME_UNKNOWN");

        var catalog = JsonDocument.Parse(await admin.GetStringAsync($"{Base}_catalog")).RootElement.GetProperty("repositories").EnumerateArray().Select(r => r.GetString()).ToList();
        Assert.Contains("v2/mono", catalog);

        // Repository-path method: /v2/<key>/<image>/…, names carry the key.
        using var viaPath = await admin.GetAsync($"/v2/{Repo}/v2/mono/manifests/a");
        Assert.Equal(HttpStatusCode.OK, viaPath.StatusCode);
        Assert.Equal(manifest, await viaPath.Content.ReadAsByteArrayAsync());
        Assert.Equal($"{Repo}/v2/mono", JsonDocument.Parse(await admin.GetStringAsync($"/v2/{Repo}/v2/mono/tags/list")).RootElement.GetProperty("name").GetString());
    }

    [Fact]
    public async Task Referrers_list_manifests_whose_subject_is_the_digest()
    {
        using var admin = server.Admin();
        var config = await PushBlobAsync(admin, "v2/ref", Encoding.UTF8.GetBytes("{}"));
        var subject = await PutManifestAsync(admin, "v2/ref", "1", ImageManifest(config, []));
        var empty = await PushBlobAsync(admin, "v2/ref", Encoding.UTF8.GetBytes("{}"));
        var signature = Encoding.UTF8.GetBytes($$"""
            {"schemaVersion":2,"mediaType":"{{OciManifest}}","artifactType":"application/vnd.example.sig",
             "config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"{{empty}}","size":2},"layers":[],
             "subject":{"mediaType":"{{OciManifest}}","digest":"{{subject}}","size":1},"annotations":{"by":"ci"} }
            """);
        using (var put = await PutRawManifestAsync(admin, "v2/ref", Digest(signature), signature, OciManifest))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            Assert.Equal(subject, put.Headers.GetValues("OCI-Subject").Single());
        }

        var index = JsonDocument.Parse(await admin.GetStringAsync($"{Base}v2/ref/referrers/{subject}")).RootElement;
        var referrer = index.GetProperty("manifests").EnumerateArray().Single();
        Assert.Equal(Digest(signature), referrer.GetProperty("digest").GetString());
        Assert.Equal("application/vnd.example.sig", referrer.GetProperty("artifactType").GetString());
        Assert.Equal("ci", referrer.GetProperty("annotations").GetProperty("by").GetString());
        using var filtered = await admin.GetAsync($"{Base}v2/ref/referrers/{subject}?artifactType=application/vnd.other");
        Assert.Empty(JsonDocument.Parse(await filtered.Content.ReadAsStringAsync()).RootElement.GetProperty("manifests").EnumerateArray());
        Assert.Equal("artifactType", filtered.Headers.GetValues("OCI-Filters-Applied").Single());
    }

    [Fact]
    public async Task Deletes_remove_tags_and_refuse_blobs_still_used()
    {
        using var admin = server.Admin();
        var layer = RandomNumberGenerator.GetBytes(3000);
        var config = await PushBlobAsync(admin, "v2/del", Encoding.UTF8.GetBytes("{}"));
        await PushBlobAsync(admin, "v2/del", layer);
        var digest = await PutManifestAsync(admin, "v2/del", "1", ImageManifest(config, [layer]));
        await PutManifestAsync(admin, "v2/del", "2", ImageManifest(config, [layer]));

        await AssertErrorAsync(await admin.DeleteAsync($"{Base}v2/del/blobs/{Digest(layer)}"), HttpStatusCode.MethodNotAllowed, "UNSUPPORTED");
        Assert.Equal(HttpStatusCode.Accepted, (await admin.DeleteAsync($"{Base}v2/del/manifests/1")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"{Base}v2/del/manifests/2")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await admin.DeleteAsync($"{Base}v2/del/manifests/{digest}")).StatusCode);
        await AssertErrorAsync(await admin.GetAsync($"{Base}v2/del/manifests/2"), HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        await AssertErrorAsync(await admin.DeleteAsync($"{Base}v2/del/manifests/2"), HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");

        // The image outlives its last tag (its blobs are still there): an empty tags list, not NAME_UNKNOWN.
        using (var tags = await admin.GetAsync($"{Base}v2/del/tags/list"))
        {
            Assert.Equal(HttpStatusCode.OK, tags.StatusCode);
            var body = JsonDocument.Parse(await tags.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("v2/del", body.GetProperty("name").GetString());
            Assert.Empty(body.GetProperty("tags").EnumerateArray());
        }

        // Only the upload entry names the layer now, so the blob itself may go.
        Assert.Equal(HttpStatusCode.Accepted, (await admin.DeleteAsync($"{Base}v2/del/blobs/{Digest(layer)}")).StatusCode);
        await AssertErrorAsync(await admin.GetAsync($"{Base}v2/del/blobs/{Digest(layer)}"), HttpStatusCode.NotFound, "BLOB_UNKNOWN");
    }

    [Fact]
    public async Task Promote_copies_and_moves_tags_sharing_their_blobs_and_storage_deletes_whole_tags()
    {
        using var admin = server.Admin();
        await admin.PutAsync("/api/repositories/docker-v2-promoted", new StringContent("""{"key":"docker-v2-promoted","rclass":"local","packageType":"docker","dockerApiVersion":"V2"}""", Encoding.UTF8, "application/json"));
        var layer = RandomNumberGenerator.GetBytes(4000);
        var config = await PushBlobAsync(admin, "v2/promo", Encoding.UTF8.GetBytes("{}"));
        await PushBlobAsync(admin, "v2/promo", layer);
        var manifest = ImageManifest(config, [layer]);
        var digest = await PutManifestAsync(admin, "v2/promo", "1", manifest);

        using (var copy = await admin.PostAsync($"/api/docker/{Repo}/v2/promote", new StringContent("""{"targetRepo":"docker-v2-promoted","dockerRepository":"v2/promo","tag":"1","targetTag":"stable","copy":true}""", Encoding.UTF8, "application/json")))
        {
            Assert.True(copy.StatusCode == HttpStatusCode.OK, await copy.Content.ReadAsStringAsync());
        }

        using (var promoted = await admin.GetAsync("/artifactory/api/docker/docker-v2-promoted/v2/v2/promo/manifests/stable"))
        {
            Assert.Equal(manifest, await promoted.Content.ReadAsByteArrayAsync());
            Assert.Equal(digest, promoted.Headers.GetValues("Docker-Content-Digest").Single());
        }

        Assert.Equal(layer, await admin.GetByteArrayAsync($"/artifactory/api/docker/docker-v2-promoted/v2/v2/promo/blobs/{Digest(layer)}"));
        var properties = JsonDocument.Parse(await admin.GetStringAsync("/api/storage/docker-v2-promoted/v2/promo/stable/manifest.json?properties")).RootElement.GetProperty("properties");
        Assert.Equal("stable", properties.GetProperty("docker.manifest")[0].GetString());

        using (var move = await admin.PostAsync($"/api/docker/{Repo}/v2/promote", new StringContent("""{"targetRepo":"docker-v2-local","dockerRepository":"v2/promo","targetDockerRepository":"v2/moved"}""", Encoding.UTF8, "application/json")))
        {
            Assert.True(move.StatusCode == HttpStatusCode.OK, await move.Content.ReadAsStringAsync());
        }

        await AssertErrorAsync(await admin.GetAsync($"{Base}v2/promo/manifests/1"), HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        Assert.Equal("v2/moved", JsonDocument.Parse(await admin.GetStringAsync($"/api/storage/{Repo}/v2/moved/1/manifest.json?properties")).RootElement.GetProperty("properties").GetProperty("docker.repoName")[0].GetString());
        await AssertErrorAsync(await admin.PostAsync($"/api/docker/{Repo}/v2/promote", new StringContent("""{"targetRepo":"docker-local","dockerRepository":"v2/moved"}""", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest, null);
        await AssertErrorAsync(await admin.PostAsync($"/api/docker/{Repo}/v2/promote", new StringContent("""{"targetRepo":"docker-v2-local","dockerRepository":"v2/moved","tag":"1"}""", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest, null);

        // Storage deletes: a single file of a tag folder would break the image; the folder goes whole.
        Assert.Equal(HttpStatusCode.Conflict, (await admin.DeleteAsync($"/artifactory/{Repo}/v2/moved/1/manifest.json")).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.DeleteAsync($"/artifactory/{Repo}/v2/moved/1/sha256__{Digest(layer)[7..]}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/artifactory/{Repo}/v2/moved/1")).StatusCode);
        await AssertErrorAsync(await admin.GetAsync($"{Base}v2/moved/manifests/1"), HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    /// <summary>Tag <c>b</c> of image <c>a</c> shares its path with the image <c>a/b</c>: replacing or deleting the tag must leave that image alone.</summary>
    [Fact]
    public async Task A_tag_named_like_a_nested_image_never_touches_that_image()
    {
        using var admin = server.Admin();
        var config = await PushBlobAsync(admin, "nest/b", Encoding.UTF8.GetBytes("{}"));
        var nested = await PutManifestAsync(admin, "nest/b", "latest", ImageManifest(config, []));
        await PushBlobAsync(admin, "nest", Encoding.UTF8.GetBytes("{}"));
        await PutManifestAsync(admin, "nest", "b", ImageManifest(config, []));
        await PutManifestAsync(admin, "nest", "b", ImageManifest(config, []));
        Assert.Equal(HttpStatusCode.Accepted, (await admin.DeleteAsync($"{Base}nest/manifests/b")).StatusCode);

        using var still = await admin.GetAsync($"{Base}nest/b/manifests/latest");
        Assert.Equal(HttpStatusCode.OK, still.StatusCode);
        Assert.Equal(nested, still.Headers.GetValues("Docker-Content-Digest").Single());
        await AssertErrorAsync(await PutRawManifestAsync(admin, "nest/b", "_uploads", ImageManifest(config, []), OciManifest), HttpStatusCode.BadRequest, "MANIFEST_INVALID");
        Assert.Equal(HttpStatusCode.OK, (await admin.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"{Base}nest/b/blobs/{config}"))).StatusCode);
    }

    [Fact]
    public async Task Bad_input_gets_the_spec_error_codes_and_changes_nothing()
    {
        using var admin = server.Admin();
        var config = await PushBlobAsync(admin, "v2/bad", Encoding.UTF8.GetBytes("{}"));
        var good = ImageManifest(config, []);
        var digest = await PutManifestAsync(admin, "v2/bad", "1", good);

        await AssertErrorAsync(await admin.GetAsync($"{Base}v2/bad/blobs/sha256:zz"), HttpStatusCode.BadRequest, "DIGEST_INVALID");
        await AssertErrorAsync(await admin.GetAsync($"{Base}v2/bad/blobs/md5:{new string('a', 32)}"), HttpStatusCode.BadRequest, "DIGEST_INVALID");
        await AssertErrorAsync(await admin.GetAsync($"{Base}v2/bad/blobs/{Digest([1])}"), HttpStatusCode.NotFound, "BLOB_UNKNOWN");
        await AssertErrorAsync(await admin.GetAsync($"{Base}V2/Bad/manifests/1"), HttpStatusCode.BadRequest, "NAME_INVALID");
        await AssertErrorAsync(await admin.GetAsync($"{Base}v2/bad/manifests/{new string('t', 200)}"), HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        await AssertErrorAsync(await admin.GetAsync($"{Base}v2/bad/manifests/.INVALID_MANIFEST_NAME"), HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        Assert.Equal(HttpStatusCode.NotFound, (await admin.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"{Base}v2/bad/manifests/.INVALID_MANIFEST_NAME"))).StatusCode);
        await AssertErrorAsync(await admin.GetAsync($"{Base}v2/bad/manifests/nosuch"), HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        await AssertErrorAsync(await admin.GetAsync($"{Base}v2/bad/blobs/uploads/{new string('0', 32)}"), HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        await AssertErrorAsync(await admin.GetAsync($"{Base}v2/bad/blobs/uploads/..%2F..%2Fetc"), HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        await AssertErrorAsync(await admin.PostAsync($"{Base}v2/bad/blobs/uploads/?digest={Digest([1, 2])}", new ByteArrayContent([3, 4])), HttpStatusCode.BadRequest, "DIGEST_INVALID");

        await AssertErrorAsync(await PutRawManifestAsync(admin, "v2/bad", "1", "{not json"u8.ToArray(), OciManifest), HttpStatusCode.BadRequest, "MANIFEST_INVALID");
        await AssertErrorAsync(await PutRawManifestAsync(admin, "v2/bad", "1", good, "application/vnd.docker.distribution.manifest.list.v2+json"), HttpStatusCode.BadRequest, "MANIFEST_INVALID");
        await AssertErrorAsync(await PutRawManifestAsync(admin, "v2/bad", "1", """{"schemaVersion":2,"mediaType":"application/x-other"}"""u8.ToArray(), "application/x-other"), HttpStatusCode.UnsupportedMediaType, "MANIFEST_INVALID");
        await AssertErrorAsync(await PutRawManifestAsync(admin, "v2/bad", "1", ImageManifest(config, [RandomNumberGenerator.GetBytes(10)]), OciManifest), HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
        await AssertErrorAsync(await PutRawManifestAsync(admin, "v2/bad", Digest([9]), good, OciManifest), HttpStatusCode.BadRequest, "DIGEST_INVALID");
        await AssertErrorAsync(await PutRawManifestAsync(admin, "v2/bad", "1", new byte[(4 << 20) + 1], OciManifest), HttpStatusCode.RequestEntityTooLarge, "SIZE_INVALID");

        using var after = await admin.GetAsync($"{Base}v2/bad/manifests/1");
        Assert.Equal(good, await after.Content.ReadAsByteArrayAsync());
        Assert.Equal(digest, after.Headers.GetValues("Docker-Content-Digest").Single());
    }

    [Fact]
    public async Task Anonymous_callers_are_challenged_and_registry_tokens_carry_their_scope()
    {
        using var anonymous = server.Client();
        using (var pull = await anonymous.GetAsync($"{Base}v2/auth/manifests/1"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, pull.StatusCode);
            var challenge = pull.Headers.WwwAuthenticate.ToString();
            Assert.Contains($"/api/docker/{Repo}/v2/token", challenge, StringComparison.Ordinal);
            Assert.Contains("scope=\"repository:v2/auth:pull\"", challenge, StringComparison.Ordinal);
            Assert.Equal("registry/2.0", pull.Headers.GetValues("Docker-Distribution-Api-Version").Single());
        }

        // A mount asks for the source too, so one token can mount instead of uploading again;
        // a source outside the name grammar is left out of the header.
        using (var mount = await anonymous.PostAsync($"{Base}v2/auth/blobs/uploads/?mount={Digest([9])}&from=v2/source", null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, mount.StatusCode);
            Assert.Contains("scope=\"repository:v2/auth:push repository:v2/source:pull\"", mount.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }

        using (var mount = await anonymous.PostAsync($"{Base}v2/auth/blobs/uploads/?mount={Digest([9])}&from=v2/x%22,realm%3D%22evil", null))
        {
            Assert.Contains("scope=\"repository:v2/auth:push\"", mount.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }

        using var alice = server.Client("alice", WharfServer.AlicePassword);
        var pullOnly = JsonDocument.Parse(await alice.GetStringAsync($"/api/docker/{Repo}/v2/token?service=x&scope=repository:v2/auth:pull")).RootElement.GetProperty("token").GetString();
        var pushToo = JsonDocument.Parse(await alice.GetStringAsync($"/api/docker/{Repo}/v2/token?service=x&scope=repository:v2/auth:pull,push")).RootElement.GetProperty("token").GetString();

        using var withPull = server.Client();
        withPull.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", pullOnly);
        await AssertErrorAsync(await withPull.PostAsync($"{Base}v2/auth/blobs/uploads/", null), HttpStatusCode.Forbidden, "DENIED");
        await AssertErrorAsync(await withPull.PostAsync($"{Base}v2/other/blobs/uploads/", null), HttpStatusCode.Forbidden, "DENIED");

        using var withPush = server.Client();
        withPush.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", pushToo);
        Assert.Equal(HttpStatusCode.Created, (await withPush.PostAsync($"{Base}v2/auth/blobs/uploads/?digest={Digest([7])}", new ByteArrayContent([7]))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await withPull.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"{Base}v2/auth/blobs/{Digest([7])}"))).StatusCode);

        using var forged = server.Client();
        forged.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", pushToo![..^4] + "AAAA");
        Assert.Equal(HttpStatusCode.Unauthorized, (await forged.GetAsync($"{Base}v2/auth/blobs/{Digest([7])}")).StatusCode);
    }

    [Fact]
    public async Task V1_repositories_answer_a_plain_404_below_v2()
    {
        using var admin = server.Admin();
        using var ownPort = server.ClientOnPort(await server.OwnPortAsync("docker-local"), "admin", WharfServer.AdminPassword);
        foreach (var (client, path) in new[] { (admin, "/artifactory/api/docker/docker-local/v2/x/manifests/1"), (admin, "/v2/docker-local/x/manifests/1"), (ownPort, "/v2/"), (ownPort, "/v2"), (ownPort, "/v2/x/manifests/1") })
        {
            using var response = await client.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.False(response.Headers.Contains("Docker-Distribution-Api-Version"), path);
        }

        await AssertErrorAsync(await admin.GetAsync("/artifactory/api/docker/nosuch/v2/x/manifests/1"), HttpStatusCode.NotFound, "NAME_UNKNOWN");
    }

    // ---------------------------------------------------------------- helpers

    internal static string Digest(byte[] content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));

    /// <summary>An OCI image manifest; <paramref name="configSize"/> defaults to the size of <c>{}</c>, the config most tests push.</summary>
    private static byte[] ImageManifest(string configDigest, IEnumerable<byte[]> layers, int configSize = 2) =>
        JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciManifest,
            ["config"] = new { mediaType = "application/vnd.oci.image.config.v1+json", digest = configDigest, size = configSize },
            ["layers"] = layers.Select(l => new { mediaType = "application/vnd.oci.image.layer.v1.tar", digest = Digest(l), size = l.Length }).ToArray(),
        });

    private static async Task<string> StartUploadAsync(HttpClient client, string image)
    {
        using var start = await client.PostAsync($"{Base}{image}/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        Assert.Equal("0-0", start.Headers.GetValues("Range").Single());
        Assert.NotNull(start.Headers.GetValues("Docker-Upload-UUID").Single());
        return start.Headers.Location!.ToString();
    }

    private static Task<HttpResponseMessage> PatchAsync(HttpClient client, string location, byte[] chunk, long start)
    {
        var content = new ByteArrayContent(chunk);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.TryAddWithoutValidation("Content-Range", $"{start}-{start + chunk.Length - 1}");
        return client.PatchAsync(location, content);
    }

    private static async Task<string> PushBlobAsync(HttpClient client, string image, byte[] content)
    {
        using var put = await client.PostAsync($"{Base}{image}/blobs/uploads/?digest={Digest(content)}", new ByteArrayContent(content));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        return Digest(content);
    }

    private static async Task<string> PutManifestAsync(HttpClient client, string image, string reference, byte[] manifest)
    {
        using var put = await PutRawManifestAsync(client, image, reference, manifest, OciManifest);
        Assert.True(put.StatusCode == HttpStatusCode.Created, await put.Content.ReadAsStringAsync());
        Assert.Equal(Digest(manifest), put.Headers.GetValues("Docker-Content-Digest").Single());
        Assert.EndsWith($"/manifests/{Digest(manifest)}", put.Headers.Location!.ToString(), StringComparison.Ordinal);
        return Digest(manifest);
    }

    private static Task<HttpResponseMessage> PutRawManifestAsync(HttpClient client, string image, string reference, byte[] manifest, string mediaType)
    {
        var content = new ByteArrayContent(manifest);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        return client.PutAsync($"{Base}{image}/manifests/{reference}", content);
    }

    private static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string? code)
    {
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == status, $"expected {status}, got {response.StatusCode}: {body}");
            if (code is not null)
            {
                var error = JsonDocument.Parse(body).RootElement.GetProperty("errors")[0];
                Assert.Equal(code, error.GetProperty("code").GetString());
                Assert.Equal((int)status, error.GetProperty("status").GetInt32());
            }
        }
    }
}
