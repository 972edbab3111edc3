using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Wharf.Core.Docker.V2;
using Wharf.Core.Naming;
using Wharf.Core.Storage;
using Wharf.Core.Tree;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>
/// What a pushed manifest may say: text every client can read (no lone surrogates, valid UTF-8,
/// in the manifest and in its config's labels) and descriptor sizes that are the stored sizes.
/// Anything else is <c>400 MANIFEST_INVALID</c> with nothing stored, and the referrers API keeps
/// answering whatever is stored.
/// </summary>
public sealed class V2ManifestInputTests(WharfServer server) : IClassFixture<WharfServer>
{
    private const string Repo = "docker-v2-local";
    private const string Base = "/artifactory/api/docker/" + Repo + "/v2/";
    private const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    private const string OciIndex = "application/vnd.oci.image.index.v1+json";
    private const string ConfigType = "application/vnd.oci.image.config.v1+json";
    private const string LayerType = "application/vnd.oci.image.layer.v1.tar";

    public static TheoryData<string, byte[]> BadStrings => JsonBodyTests.BadStrings;

    [Theory]
    [MemberData(nameof(BadStrings))]
    public async Task Unreadable_text_in_a_manifest_is_MANIFEST_INVALID_and_nothing_is_stored(string what, byte[] value)
    {
        using var admin = server.Admin();
        var mark = server.Logs.Mark;
        const string image = "mi/text";
        var config = await PushBlobAsync(admin, image, "{}"u8.ToArray());
        var layer = RandomNumberGenerator.GetBytes(100);
        await PushBlobAsync(admin, image, layer);
        var subject = await PutManifestAsync(admin, image, "subject", Manifest(config, 2, [(V2ApiTests.Digest(layer), layer.Length)]));
        var configDescriptor = $"{{\"mediaType\":\"{ConfigType}\",\"digest\":\"{config}\",\"size\":2}}";
        var layerDescriptor = $"{{\"mediaType\":\"{LayerType}\",\"digest\":\"{V2ApiTests.Digest(layer)}\",\"size\":{layer.Length}}}";
        var subjectDescriptor = $"{{\"mediaType\":\"{OciManifest}\",\"digest\":\"{subject}\",\"size\":10}}";
        string[] templates =
        [
            $"{{\"schemaVersion\":2,\"mediaType\":$BAD,\"config\":{configDescriptor},\"layers\":[]}}",
            $"{{\"schemaVersion\":2,\"mediaType\":\"{OciManifest}\",\"artifactType\":$BAD,\"config\":{configDescriptor},\"layers\":[],\"subject\":{subjectDescriptor}}}",
            $"{{\"schemaVersion\":2,\"mediaType\":\"{OciManifest}\",\"config\":{configDescriptor},\"layers\":[],\"subject\":{subjectDescriptor},\"annotations\":{{\"by\":$BAD}}}}",
            $"{{\"schemaVersion\":2,\"mediaType\":\"{OciManifest}\",\"config\":{configDescriptor},\"layers\":[],\"subject\":{subjectDescriptor},\"annotations\":{{$BAD:\"x\"}}}}",
            $"{{\"schemaVersion\":2,\"mediaType\":\"{OciManifest}\",\"config\":{{\"mediaType\":$BAD,\"digest\":\"{config}\",\"size\":2}},\"layers\":[]}}",
            $"{{\"schemaVersion\":2,\"mediaType\":\"{OciManifest}\",\"config\":{configDescriptor},\"layers\":[{{\"mediaType\":\"{LayerType}\",\"digest\":\"{V2ApiTests.Digest(layer)}\",\"size\":{layer.Length},\"annotations\":{{\"a\":$BAD}}}}]}}",
        ];

        foreach (var template in templates)
        {
            var manifest = JsonBodyTests.Fill(template, value);
            var digest = V2ApiTests.Digest(manifest);
            foreach (var reference in new[] { "bad", digest })
            {
                await AssertErrorAsync(await PutRawManifestAsync(admin, image, reference, manifest, OciManifest), HttpStatusCode.BadRequest, "MANIFEST_INVALID", $"{what} in {template}");
            }

            await AssertErrorAsync(await admin.GetAsync($"{Base}{image}/manifests/bad"), HttpStatusCode.NotFound, "MANIFEST_UNKNOWN", what);
            await AssertErrorAsync(await admin.GetAsync($"{Base}{image}/manifests/{digest}"), HttpStatusCode.NotFound, "MANIFEST_UNKNOWN", what);
        }

        using var referrers = await admin.GetAsync($"{Base}{image}/referrers/{subject}");
        Assert.Equal(HttpStatusCode.OK, referrers.StatusCode);
        Assert.Empty(JsonDocument.Parse(await referrers.Content.ReadAsStringAsync()).RootElement.GetProperty("manifests").EnumerateArray());
        server.Logs.AssertNoServerErrors(mark);
    }

    [Fact]
    public async Task Fields_of_the_wrong_type_are_MANIFEST_INVALID_and_nothing_is_stored()
    {
        using var admin = server.Admin();
        var mark = server.Logs.Mark;
        const string image = "mi/types";
        var config = await PushBlobAsync(admin, image, "{}"u8.ToArray());
        var descriptor = $"{{\"mediaType\":\"{ConfigType}\",\"digest\":\"{config}\",\"size\":2}}";
        string[] manifests =
        [
            $"{{\"schemaVersion\":2,\"mediaType\":5,\"config\":{descriptor},\"layers\":[]}}",
            $"{{\"schemaVersion\":2,\"mediaType\":\"{OciManifest}\",\"artifactType\":[],\"config\":{descriptor},\"layers\":[]}}",
            $"{{\"schemaVersion\":2,\"mediaType\":\"{OciManifest}\",\"config\":{descriptor},\"layers\":[],\"subject\":\"sha256:{new string('0', 64)}\"}}",
            $"{{\"schemaVersion\":2,\"mediaType\":\"{OciManifest}\",\"config\":{descriptor},\"layers\":[],\"annotations\":{{\"a\":1}}}}",
            $"{{\"schemaVersion\":2,\"mediaType\":\"{OciManifest}\",\"config\":{descriptor},\"layers\":[],\"annotations\":[\"a\"]}}",
            $"{{\"schemaVersion\":2,\"mediaType\":\"{OciManifest}\",\"config\":{{\"mediaType\":\"{ConfigType}\",\"digest\":\"{config}\",\"size\":\"2\"}},\"layers\":[]}}",
            $"{{\"schemaVersion\":2,\"mediaType\":\"{OciManifest}\",\"config\":{{\"mediaType\":\"{ConfigType}\",\"digest\":\"{config}\",\"size\":2,\"annotations\":{{\"a\":{{}}}}}},\"layers\":[]}}",
            $"{{\"schemaVersion\":2,\"mediaType\":\"{OciManifest}\",\"config\":{descriptor},\"layers\":{{}}}}",
            $"{{\"schemaVersion\":\"2\",\"mediaType\":\"{OciManifest}\",\"config\":{descriptor},\"layers\":[]}}",
            $"{{\"schemaVersion\":2,\"mediaType\":\"{OciIndex}\",\"manifests\":{{}}}}",
            "[]",
            "\"manifest\"",
        ];
        foreach (var manifest in manifests)
        {
            await AssertErrorAsync(await PutRawManifestAsync(admin, image, "1", Encoding.UTF8.GetBytes(manifest), OciManifest), HttpStatusCode.BadRequest, "MANIFEST_INVALID", manifest);
            await AssertErrorAsync(await admin.GetAsync($"{Base}{image}/manifests/1"), HttpStatusCode.NotFound, "MANIFEST_UNKNOWN", manifest);
        }

        // Null stands for an absent field, as Go clients without omitempty write it.
        await PutManifestAsync(admin, image, "1", Encoding.UTF8.GetBytes($"{{\"schemaVersion\":2,\"mediaType\":\"{OciManifest}\",\"artifactType\":null,\"config\":{descriptor},\"layers\":[],\"annotations\":null,\"subject\":null}}"));
        server.Logs.AssertNoServerErrors(mark);
    }

    [Theory]
    [MemberData(nameof(BadStrings))]
    public async Task Config_labels_with_unreadable_text_refuse_the_manifest(string what, byte[] value)
    {
        using var admin = server.Admin();
        var mark = server.Logs.Mark;
        const string image = "mi/labels";
        foreach (var template in new[] { "{\"config\":{\"Labels\":{\"team\":$BAD}}}", "{\"config\":{\"Labels\":{$BAD:\"x\"}}}" })
        {
            var config = JsonBodyTests.Fill(template, value);
            var configDigest = await PushBlobAsync(admin, image, config);
            var manifest = Manifest(configDigest, config.Length, []);
            await AssertErrorAsync(await PutRawManifestAsync(admin, image, "1", manifest, OciManifest), HttpStatusCode.BadRequest, "MANIFEST_INVALID", what);
            await AssertErrorAsync(await admin.GetAsync($"{Base}{image}/manifests/1"), HttpStatusCode.NotFound, "MANIFEST_UNKNOWN", what);
            Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/api/storage/{Repo}/{image}/1")).StatusCode);
        }

        // A config that is not JSON at all (an artifact's) has no labels; the manifest is fine.
        var opaque = await PushBlobAsync(admin, image, [0xFF, 0x00, 0xFE]);
        await PutManifestAsync(admin, image, "opaque", Manifest(opaque, 3, []));
        server.Logs.AssertNoServerErrors(mark);
    }

    [Fact]
    public async Task A_stored_referrer_that_cannot_be_read_never_breaks_the_referrers_api()
    {
        // Stored before manifests were checked (or written by an older Wharf): the API lists what
        // it can describe and leaves out what it cannot read, for everyone, without failing.
        using var admin = server.Admin();
        var mark = server.Logs.Mark;
        const string image = "mi/stored";
        var config = await PushBlobAsync(admin, image, "{}"u8.ToArray());
        var subject = await PutManifestAsync(admin, image, "1", Manifest(config, 2, []));
        var good = Encoding.UTF8.GetBytes($"{{\"schemaVersion\":2,\"mediaType\":\"{OciManifest}\",\"config\":{{\"mediaType\":\"{ConfigType}\",\"digest\":\"{config}\",\"size\":2}},\"layers\":[],\"subject\":{{\"mediaType\":\"{OciManifest}\",\"digest\":\"{subject}\",\"size\":1}},\"annotations\":{{\"by\":\"ci\"}}}}");
        await PutRawManifestAsync(admin, image, V2ApiTests.Digest(good), good, OciManifest);

        byte[][] stored =
        [
            JsonBodyTests.Fill("{\"schemaVersion\":2,\"annotations\":{\"by\":$BAD}}", "\"\\ud800\""u8.ToArray()),
            JsonBodyTests.Fill("{\"schemaVersion\":2,\"annotations\":{\"by\":$BAD}}", [(byte)'"', 0xFF, (byte)'"']),
            JsonBodyTests.Fill("{\"schemaVersion\":2,\"annotations\":{$BAD:\"x\"}}", "\"\\udfff\""u8.ToArray()),
            "{\"schemaVersion\":2,\"annotations\":{\"n\":5,\"o\":{},\"s\":\"kept\"}}"u8.ToArray(),
            "{\"schemaVersion\":2,\"annotations\":[\"x\"]}"u8.ToArray(),
            "not json at all"u8.ToArray(),
            "[1,2,3]"u8.ToArray(),
        ];
        foreach (var bytes in stored)
        {
            await StoreReferrerAsync(image, bytes, Digest.TryParse(subject, out var parsed) ? parsed : throw new InvalidOperationException());
        }

        using var response = await admin.GetAsync($"{Base}{image}/referrers/{subject}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        var manifests = JsonDocument.Parse(body).RootElement.GetProperty("manifests").EnumerateArray().ToList();
        Assert.Equal(stored.Length + 1, manifests.Count);
        var byDigest = manifests.ToDictionary(m => m.GetProperty("digest").GetString()!);
        Assert.Equal("ci", byDigest[V2ApiTests.Digest(good)].GetProperty("annotations").GetProperty("by").GetString());
        var mixed = byDigest[V2ApiTests.Digest(stored[3])].GetProperty("annotations");
        Assert.Equal("kept", mixed.GetProperty("s").GetString());
        Assert.False(mixed.TryGetProperty("n", out _));
        foreach (var unreadable in stored.Take(3).Concat(stored.Skip(4)))
        {
            Assert.False(byDigest[V2ApiTests.Digest(unreadable)].TryGetProperty("annotations", out _));
        }

        server.Logs.AssertNoServerErrors(mark);
    }

    [Fact]
    public async Task Descriptor_sizes_must_be_the_stored_sizes()
    {
        using var admin = server.Admin();
        var mark = server.Logs.Mark;
        const string image = "mi/sizes";
        var configBytes = "{\"architecture\":\"amd64\",\"os\":\"linux\"}"u8.ToArray();
        var config = await PushBlobAsync(admin, image, configBytes);
        var layer = RandomNumberGenerator.GetBytes(1000);
        var layerDigest = await PushBlobAsync(admin, image, layer);

        (string Manifest, string Names)[] wrong =
        [
            (Encoding.UTF8.GetString(Manifest(config, configBytes.Length, [(layerDigest, layer.Length + 1)])), layerDigest),
            (Encoding.UTF8.GetString(Manifest(config, configBytes.Length, [(layerDigest, layer.Length - 1)])), layerDigest),
            (Encoding.UTF8.GetString(Manifest(config, 0, [(layerDigest, layer.Length)])), config),
            (Encoding.UTF8.GetString(Manifest(config, configBytes.Length + 100, [])), config),
        ];
        foreach (var (manifest, names) in wrong)
        {
            using var put = await PutRawManifestAsync(admin, image, "1", Encoding.UTF8.GetBytes(manifest), OciManifest);
            var body = await put.Content.ReadAsStringAsync();
            Assert.True(put.StatusCode == HttpStatusCode.BadRequest, $"{manifest}: {(int)put.StatusCode} {body}");
            var error = JsonDocument.Parse(body).RootElement.GetProperty("errors")[0];
            Assert.Equal("MANIFEST_INVALID", error.GetProperty("code").GetString());
            Assert.Contains(names, error.GetProperty("message").GetString(), StringComparison.Ordinal);
            await AssertErrorAsync(await admin.GetAsync($"{Base}{image}/manifests/1"), HttpStatusCode.NotFound, "MANIFEST_UNKNOWN", manifest);
        }

        var right = Manifest(config, configBytes.Length, [(layerDigest, layer.Length)]);
        var child = await PutManifestAsync(admin, image, "1", right);

        // An index's children: each size must be the stored manifest's.
        foreach (var size in new[] { right.Length + 1, right.Length - 1, 0 })
        {
            var index = Index(child, size);
            using var put = await PutRawManifestAsync(admin, image, "multi", index, OciIndex);
            var body = await put.Content.ReadAsStringAsync();
            Assert.True(put.StatusCode == HttpStatusCode.BadRequest, $"index child size {size}: {(int)put.StatusCode} {body}");
            var error = JsonDocument.Parse(body).RootElement.GetProperty("errors")[0];
            Assert.Equal("MANIFEST_INVALID", error.GetProperty("code").GetString());
            Assert.Contains(child, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        await AssertErrorAsync(await admin.GetAsync($"{Base}{image}/manifests/multi"), HttpStatusCode.NotFound, "MANIFEST_UNKNOWN", "index");
        using (var ok = await PutRawManifestAsync(admin, image, "multi", Index(child, right.Length), OciIndex))
        {
            Assert.Equal(HttpStatusCode.Created, ok.StatusCode);
        }

        server.Logs.AssertNoServerErrors(mark);
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>Writes a referrer of <paramref name="subject"/> straight into the store, as an older Wharf could have.</summary>
    private async Task StoreReferrerAsync(string image, byte[] bytes, Digest subject)
    {
        var blob = await server.Services.GetRequiredService<ContentStore>().PutBytesAsync(bytes, default);
        var digest = Digest.OfSha256(blob.Sha256);
        var properties = V2Manifests.ManifestProperties(digest.ToString(), digest, blob.Sha256, OciManifest, image, subject, "application/vnd.example", new Dictionary<string, string>());
        await using var tx = await server.Store.BeginAsync(default);
        await tx.Tree.PutFileAsync(Repo, new NewFile($"{image}/{digest}/{V2Layout.ManifestFile}", blob.Sha256, blob.Size, OciManifest, properties), "admin", DateTimeOffset.UtcNow, default);
        await tx.CommitAsync(default);
    }

    private static byte[] Manifest(string config, long configSize, IEnumerable<(string Digest, long Size)> layers) =>
        JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciManifest,
            ["config"] = new { mediaType = ConfigType, digest = config, size = configSize },
            ["layers"] = layers.Select(l => new { mediaType = LayerType, digest = l.Digest, size = l.Size }).ToArray(),
        });

    private static byte[] Index(string child, long size) =>
        JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciIndex,
            ["manifests"] = new[] { new { mediaType = OciManifest, digest = child, size, platform = new { architecture = "amd64", os = "linux" } } },
        });

    private static async Task<string> PushBlobAsync(HttpClient client, string image, byte[] content)
    {
        using var put = await client.PostAsync($"{Base}{image}/blobs/uploads/?digest={V2ApiTests.Digest(content)}", new ByteArrayContent(content));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        return V2ApiTests.Digest(content);
    }

    private static async Task<string> PutManifestAsync(HttpClient client, string image, string reference, byte[] manifest)
    {
        using var put = await PutRawManifestAsync(client, image, reference, manifest, OciManifest);
        Assert.True(put.StatusCode == HttpStatusCode.Created, await put.Content.ReadAsStringAsync());
        return V2ApiTests.Digest(manifest);
    }

    private static Task<HttpResponseMessage> PutRawManifestAsync(HttpClient client, string image, string reference, byte[] manifest, string mediaType)
    {
        var content = new ByteArrayContent(manifest);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        return client.PutAsync($"{Base}{image}/manifests/{reference}", content);
    }

    private static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code, string because)
    {
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == status, $"{because}: expected {status}, got {response.StatusCode}: {body}");
            var error = JsonDocument.Parse(body).RootElement.GetProperty("errors")[0];
            Assert.Equal(code, error.GetProperty("code").GetString());
            Assert.Equal((int)status, error.GetProperty("status").GetInt32());
        }
    }
}
