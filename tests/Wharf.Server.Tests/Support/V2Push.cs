using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Wharf.Server.Tests.Support;

/// <summary>One pushed V2 image: its manifest digest and bytes, its config and its one layer.</summary>
public sealed record PushedImage(string Digest, byte[] Manifest, string ConfigDigest, byte[] Layer)
{
    public string LayerDigest => V2Push.Digest(Layer);
}

/// <summary>Pushes V2 images the way a registry client does (monolithic blobs, then the manifest), for tests that need content.</summary>
public static class V2Push
{
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";

    public static string Base(string repo) => $"/artifactory/api/docker/{repo}/v2/";

    public static string Digest(byte[] content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));

    public static Task<HttpResponseMessage> PostBlobAsync(HttpClient client, string repo, string image, byte[] content) =>
        client.PostAsync($"{Base(repo)}{image}/blobs/uploads/?digest={Digest(content)}", new ByteArrayContent(content));

    public static async Task<string> PushBlobAsync(HttpClient client, string repo, string image, byte[] content)
    {
        using var put = await PostBlobAsync(client, repo, image, content);
        Assert.True(put.StatusCode == HttpStatusCode.Created, $"blob push to {repo}/{image}: {put.StatusCode} {await put.Content.ReadAsStringAsync()}");
        return Digest(content);
    }

    /// <summary>An OCI image manifest naming the config and layers with their real sizes.</summary>
    public static byte[] ImageManifest(byte[] config, IEnumerable<byte[]> layers) =>
        JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciManifest,
            ["config"] = new { mediaType = "application/vnd.oci.image.config.v1+json", digest = Digest(config), size = config.Length },
            ["layers"] = layers.Select(l => new { mediaType = "application/vnd.oci.image.layer.v1.tar", digest = Digest(l), size = l.Length }).ToArray(),
        });

    public static Task<HttpResponseMessage> PutManifestAsync(HttpClient client, string repo, string image, string reference, byte[] manifest)
    {
        var content = new ByteArrayContent(manifest);
        content.Headers.ContentType = new MediaTypeHeaderValue(OciManifest);
        return client.PutAsync($"{Base(repo)}{image}/manifests/{reference}", content);
    }

    /// <summary>Pushes a config, one random layer and the manifest under <paramref name="tag"/>, failing the test unless each is created.</summary>
    public static async Task<PushedImage> PushImageAsync(HttpClient client, string repo, string image, string tag, byte[]? layer = null)
    {
        layer ??= RandomNumberGenerator.GetBytes(2048);
        var config = Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[]}},\"nonce\":\"{Guid.NewGuid():N}\"}}");
        await PushBlobAsync(client, repo, image, config);
        await PushBlobAsync(client, repo, image, layer);
        var manifest = ImageManifest(config, [layer]);
        using var put = await PutManifestAsync(client, repo, image, tag, manifest);
        Assert.True(put.StatusCode == HttpStatusCode.Created, $"manifest push to {repo}/{image}:{tag}: {put.StatusCode} {await put.Content.ReadAsStringAsync()}");
        return new PushedImage(Digest(manifest), manifest, Digest(config), layer);
    }
}
