using System.Net;
using System.Text;
using System.Text.Json;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>
/// A long random (seeded, so reproducible) sequence of pushes, tag moves, deletes, promotions,
/// migrations, copies, moves and cleanups through the HTTP API. After every step the consistency
/// check must report nothing, and every tag the model holds must pull byte for byte with exactly
/// the tags the model expects listed. <c>WHARF_SEQUENCE_STEPS</c> sets the length (2,000 by default).
/// </summary>
public sealed class RegistryIndexSequenceTests : IAsyncLifetime
{
    private static readonly string[] Repos = ["seq-a", "seq-b"];
    private static readonly string[] Images = ["app", "team/tool"];
    private static readonly string[] Tags = ["1", "2", "latest"];

    /// <summary>The V1 repository migrations come from; migration keeps its name in the V2 repository.</summary>
    private const string Migrated = "seq/v1";

    private readonly WharfServer _server = new();

    /// <summary>What each tag pulls: its manifest's bytes, and the blobs it names (config and layer).</summary>
    private readonly Dictionary<(string Repo, string Image, string Tag), Pushed> _tags = [];

    private sealed record Pushed(byte[] Manifest, IReadOnlyList<byte[]> Blobs);

    public async Task InitializeAsync()
    {
        await _server.InitializeAsync();
        using var admin = _server.Admin();
        foreach (var (repo, extra) in new[] { (Repos[0], ""), (Repos[1], ",\"dockerTagRetention\":2") })
        {
            using var created = await admin.PutAsync($"/api/repositories/{repo}",
                RegistryHttp.Json($$"""{"key":"{{repo}}","rclass":"local","packageType":"docker","dockerApiVersion":"V2"{{extra}}}"""));
            Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        }
    }

    public Task DisposeAsync() => _server.DisposeAsync();

    [Fact]
    public async Task Index_tree_and_content_agree_after_every_step_of_a_random_sequence()
    {
        var steps = int.TryParse(Environment.GetEnvironmentVariable("WHARF_SEQUENCE_STEPS"), out var n) ? n : 2000;
        var random = new Random(20261203);
        using var admin = _server.Admin();
        var layers = Enumerable.Range(0, 6).Select(i => Encoding.UTF8.GetBytes($"layer {i} " + new string((char)('a' + i), 40))).ToArray();
        var log = new List<string>();
        for (var step = 0; step < steps; step++)
        {
            var repo = Pick(random, Repos);
            var image = Pick(random, Images);
            var tag = Pick(random, Tags);
            var action = random.Next(100);
            string done;
            if (action < 35)
            {
                done = await PushAsync(admin, repo, image, tag, Pick(random, layers), random);
            }
            else if (action < 45)
            {
                done = await DeleteTagAsync(admin, repo, image, tag, viaStorage: random.Next(2) == 0);
            }
            else if (action < 55)
            {
                done = await CopyOrMoveAsync(admin, repo, image, tag, Pick(random, Repos), Pick(random, Tags), move: random.Next(2) == 0);
            }
            else if (action < 65)
            {
                done = await PromoteAsync(admin, repo, image, tag, Pick(random, Repos), Pick(random, Images), Pick(random, Tags), copy: random.Next(2) == 0);
            }
            else if (action < 72)
            {
                done = await PushByDigestAsync(admin, repo, image, Pick(random, layers));
            }
            else if (action < 80)
            {
                done = await DeleteImageAsync(admin, repo, image);
            }
            else if (action < 90)
            {
                done = await UploadOnlyAsync(admin, repo, image, random);
            }
            else if (action < 99)
            {
                using var cleanup = await admin.PostAsync("/api/system/cleanup", null);
                Assert.Equal(HttpStatusCode.OK, cleanup.StatusCode);
                done = "cleanup";
            }
            else
            {
                done = await MigrateAsync(admin, repo, tag, step);
            }

            log.Add($"{step}: {done}");
            await AssertConsistentAsync(admin, log);
            await AssertTagsPullAsync(admin, log);
        }
    }

    private async Task<string> PushAsync(HttpClient admin, string repo, string image, string tag, byte[] layer, Random random)
    {
        var config = Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"n\":{random.Next(4)}}}");
        await V2Push.PushBlobAsync(admin, repo, image, config);
        await V2Push.PushBlobAsync(admin, repo, image, layer);
        var manifest = V2Push.ImageManifest(config, [layer]);
        using var put = await V2Push.PutManifestAsync(admin, repo, image, tag, manifest);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        _tags[(repo, image, tag)] = new Pushed(manifest, [config, layer]);
        return $"push {repo}/{image}:{tag} {V2Push.Digest(manifest)}";
    }

    private static async Task<string> PushByDigestAsync(HttpClient admin, string repo, string image, byte[] layer)
    {
        var config = Encoding.UTF8.GetBytes("{\"architecture\":\"arm64\",\"os\":\"linux\"}");
        await V2Push.PushBlobAsync(admin, repo, image, config);
        await V2Push.PushBlobAsync(admin, repo, image, layer);
        var manifest = V2Push.ImageManifest(config, [layer]);
        using var put = await V2Push.PutManifestAsync(admin, repo, image, V2Push.Digest(manifest), manifest);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        return $"push {repo}/{image}@{V2Push.Digest(manifest)}";
    }

    /// <summary>A blob uploaded and never named by a manifest.</summary>
    private static async Task<string> UploadOnlyAsync(HttpClient admin, string repo, string image, Random random)
    {
        var blob = Encoding.UTF8.GetBytes($"orphan {random.Next(8)}");
        await V2Push.PushBlobAsync(admin, repo, image, blob);
        return $"upload {repo}/{image} {V2Push.Digest(blob)}";
    }

    private async Task<string> DeleteTagAsync(HttpClient admin, string repo, string image, string tag, bool viaStorage)
    {
        using var deleted = viaStorage
            ? await admin.DeleteAsync($"/artifactory/{repo}/{image}/{tag}")
            : await admin.DeleteAsync($"{V2Push.Base(repo)}{image}/manifests/{tag}");
        var existed = _tags.Remove((repo, image, tag));
        Assert.True(existed ? deleted.IsSuccessStatusCode : deleted.StatusCode == HttpStatusCode.NotFound, $"delete {repo}/{image}:{tag}: {deleted.StatusCode}");
        return $"delete {repo}/{image}:{tag} ({(viaStorage ? "storage" : "v2")}, {deleted.StatusCode})";
    }

    private async Task<string> DeleteImageAsync(HttpClient admin, string repo, string image)
    {
        using var deleted = await admin.DeleteAsync($"/artifactory/{repo}/{image}");
        foreach (var key in _tags.Keys.Where(k => k.Repo == repo && k.Image == image).ToList())
        {
            _tags.Remove(key);
        }

        // team/tool lives below the folder "team", never below "app", so nothing else goes.
        return $"delete image {repo}/{image} ({deleted.StatusCode})";
    }

    /// <summary>Copies or moves a tag folder to a tag that does not exist yet (into an existing one it would nest, as Unix does).</summary>
    private async Task<string> CopyOrMoveAsync(HttpClient admin, string repo, string image, string tag, string targetRepo, string targetTag, bool move)
    {
        if (!_tags.TryGetValue((repo, image, tag), out var pushed) || _tags.ContainsKey((targetRepo, image, targetTag)) || (repo == targetRepo && tag == targetTag))
        {
            return "copy skipped";
        }

        var verb = move ? "move" : "copy";
        using var response = await admin.PostAsync($"/api/{verb}/{repo}/{image}/{tag}?to=/{targetRepo}/{image}/{targetTag}", null);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{verb}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        _tags[(targetRepo, image, targetTag)] = pushed;
        if (move)
        {
            _tags.Remove((repo, image, tag));
        }

        return $"{verb} {repo}/{image}:{tag} to {targetRepo}/{image}:{targetTag}";
    }

    private async Task<string> PromoteAsync(HttpClient admin, string repo, string image, string tag, string targetRepo, string targetImage, string targetTag, bool copy)
    {
        if (!_tags.TryGetValue((repo, image, tag), out var pushed) || (repo == targetRepo && image == targetImage))
        {
            return "promote skipped";
        }

        var body = JsonSerializer.Serialize(new { targetRepo, dockerRepository = image, tag, targetDockerRepository = targetImage, targetTag, copy });
        using var response = await admin.PostAsync($"/api/docker/{repo}/v2/promote", RegistryHttp.Json(body));
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"promote: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        _tags[(targetRepo, targetImage, targetTag)] = pushed;
        if (!copy)
        {
            _tags.Remove((repo, image, tag));
        }

        return $"promote {repo}/{image}:{tag} to {targetRepo}/{targetImage}:{targetTag} ({(copy ? "copy" : "move")})";
    }

    /// <summary>Pushes a one-image V1 tag and migrates it into the V2 repository (replacing the tag); what it pulls is read back once.</summary>
    private async Task<string> MigrateAsync(HttpClient admin, string repo, string tag, int step)
    {
        const string name = Migrated;
        const string image = Migrated;
        using (var docker = new DockerV1Client(_server.BaseAddress, "/artifactory/api/docker/docker-local/v1/", DockerVersion.V1_12, AuthStyle.BasicEverywhere, "admin", WharfServer.AdminPassword))
        {
            await docker.PushAsync(name, tag, TestImage.Chain(DockerVersion.V1_12, 1, layerBytes: 256 + step));
        }

        var body = JsonSerializer.Serialize(new { targetRepo = repo, dockerRepository = name, tag, overwrite = true });
        using var response = await admin.PostAsync("/api/docker/docker-local/v1/migrate", RegistryHttp.Json(body));
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"migrate: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        using var manifest = await admin.GetAsync($"{V2Push.Base(repo)}{image}/manifests/{tag}");
        Assert.Equal(HttpStatusCode.OK, manifest.StatusCode);
        var bytes = await manifest.Content.ReadAsByteArrayAsync();
        var blobs = new List<byte[]>();
        using (var document = JsonDocument.Parse(bytes))
        {
            foreach (var digest in document.RootElement.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("digest").GetString()!)
                .Prepend(document.RootElement.GetProperty("config").GetProperty("digest").GetString()!))
            {
                blobs.Add(await admin.GetByteArrayAsync($"{V2Push.Base(repo)}{image}/blobs/{digest}"));
            }
        }

        _tags[(repo, image, tag)] = new Pushed(bytes, blobs);
        return $"migrate {name}:{tag} to {repo}";
    }

    private static async Task AssertConsistentAsync(HttpClient admin, List<string> log)
    {
        using var response = await admin.GetAsync("/api/system/consistency");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK && text.Contains("\"consistent\":true", StringComparison.Ordinal),
            $"after {string.Join(" | ", log.TakeLast(5))}: {text}");
    }

    private async Task AssertTagsPullAsync(HttpClient admin, List<string> log)
    {
        foreach (var repo in Repos)
        {
            foreach (var image in Images.Append(Migrated))
            {
                var expected = _tags.Keys.Where(k => k.Repo == repo && k.Image == image).Select(k => k.Tag).Order(StringComparer.Ordinal).ToList();
                using var list = await admin.GetAsync($"{V2Push.Base(repo)}{image}/tags/list");
                var listed = list.StatusCode == HttpStatusCode.OK
                    ? JsonDocument.Parse(await list.Content.ReadAsStringAsync()).RootElement.GetProperty("tags") is { ValueKind: JsonValueKind.Array } tags
                        ? tags.EnumerateArray().Select(t => t.GetString()!).ToList()
                        : []
                    : [];
                Assert.True(expected.SequenceEqual(listed), $"after {string.Join(" | ", log.TakeLast(5))}: {repo}/{image} lists [{string.Join(",", listed)}], expected [{string.Join(",", expected)}]");
            }
        }

        var blobs = new HashSet<(string, string, string)>();
        foreach (var ((repo, image, tag), pushed) in _tags)
        {
            using var manifest = await admin.GetAsync($"{V2Push.Base(repo)}{image}/manifests/{tag}");
            Assert.True(manifest.StatusCode == HttpStatusCode.OK, $"after {string.Join(" | ", log.TakeLast(5))}: {repo}/{image}:{tag} answers {manifest.StatusCode}");
            Assert.Equal(pushed.Manifest, await manifest.Content.ReadAsByteArrayAsync());
            foreach (var blob in pushed.Blobs)
            {
                if (blobs.Add((repo, image, V2Push.Digest(blob))))
                {
                    Assert.Equal(blob, await admin.GetByteArrayAsync($"{V2Push.Base(repo)}{image}/blobs/{V2Push.Digest(blob)}"));
                }
            }
        }
    }

    private static T Pick<T>(Random random, T[] choices) => choices[random.Next(choices.Length)];
}
