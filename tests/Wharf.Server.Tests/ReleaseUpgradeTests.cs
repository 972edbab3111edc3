using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>
/// A data directory written by the release before the typed registry index
/// (<c>Fixtures/release1-data.tar.gz</c>, made by <c>Fixtures/make-release1-data.sh</c> from the
/// commit it names) opens, migrates and serves what that release served from it
/// (<c>Fixtures/release1-expected.json</c>, recorded from that release): every V2 tag and digest
/// with its bytes and headers, every blob, tags lists, catalogs and referrers, every V1 tag with
/// its images, and the tree with its properties and checksums; and it takes new pushes. The
/// fixture is the old release's output: a later release never regenerates it.
/// </summary>
public sealed class ReleaseUpgradeTests(ReleaseUpgradeTests.Fixture fixture) : IClassFixture<ReleaseUpgradeTests.Fixture>
{
    private static JsonObject Expected => ReleaseData.Expected;

    [Fact]
    public async Task Every_v2_tag_and_digest_pulls_the_same_bytes_with_the_same_headers()
    {
        using var admin = fixture.Server.Admin();
        var count = 0;
        foreach (var (repo, image, entry) in ReleaseData.V2Images())
        {
            var manifests = entry["manifests"]!.AsObject();
            foreach (var (reference, answer) in manifests)
            {
                // Every tag was recorded with the digest it answered, and that digest on its own.
                Assert.True(manifests.ContainsKey(Text(answer, "digest")), $"{repo}/{image}:{reference} has no digest entry");
                await AssertManifestAsync(admin, repo, image, reference, answer!);
                count++;
            }
        }

        Assert.True(count >= 30, $"only {count} manifests expected: the expectations were not read");
        fixture.Server.Logs.AssertNoServerErrors();
    }

    /// <summary>The registry index built from the release 1 trees at start-up agrees with them and with the content store.</summary>
    [Fact]
    public async Task The_registry_index_built_from_the_old_trees_is_consistent()
    {
        using var admin = fixture.Server.Admin();
        var report = await admin.GetStringAsync("/api/system/consistency");
        Assert.Contains("\"consistent\":true", report, StringComparison.Ordinal);
        Assert.DoesNotContain("\"files\":0", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_blob_an_image_served_pulls_byte_for_byte()
    {
        using var admin = fixture.Server.Admin();
        var count = 0;
        foreach (var (repo, image, entry) in ReleaseData.V2Images())
        {
            foreach (var (digest, blob) in entry["blobs"]!.AsObject())
            {
                await AssertBlobAsync(admin, repo, image, digest, blob!);
                count++;
            }
        }

        Assert.True(count >= 30, $"only {count} blobs expected");
        fixture.Server.Logs.AssertNoServerErrors();
    }

    [Fact]
    public async Task Tags_lists_catalogs_referrers_removed_manifests_and_open_uploads_answer_as_before()
    {
        using var admin = fixture.Server.Admin();
        foreach (var (repo, v2) in ReleaseData.Repositories("v2"))
        {
            var catalog = await GetJsonAsync(admin, $"{V2Push.Base(repo)}_catalog");
            AssertJson(v2["catalog"], catalog["repositories"], $"{repo} _catalog");
        }

        foreach (var (repo, image, entry) in ReleaseData.V2Images())
        {
            using (var tags = await admin.GetAsync($"{V2Push.Base(repo)}{image}/tags/list"))
            {
                var body = await tags.Content.ReadAsStringAsync();
                Assert.True(tags.StatusCode == HttpStatusCode.OK, $"{repo}/{image} tags/list: {tags.StatusCode} {body}");
                AssertJson(entry["tags"], JsonNode.Parse(body)!["tags"], $"{repo}/{image} tags/list");
            }

            var referrers = entry["referrers"]!.AsObject();
            foreach (var digest in entry["manifests"]!.AsObject().Select(m => Text(m.Value, "digest")).Distinct(StringComparer.Ordinal))
            {
                var listed = (await GetJsonAsync(admin, $"{V2Push.Base(repo)}{image}/referrers/{digest}"))["manifests"]!.AsArray();
                AssertJson(referrers[digest] ?? new JsonArray(), SortedBy(listed, "digest"), $"{repo}/{image} referrers of {digest}");
            }
        }

        foreach (var gone in Expected["gone"]!.AsArray())
        {
            await RegistryHttp.AssertV2ErrorAsync(
                await admin.GetAsync($"{V2Push.Base(Text(gone, "repo"))}{Text(gone, "image")}/manifests/{Text(gone, "reference")}"),
                HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        }

        var upload = Expected["pendingUpload"]!;
        using var status = await admin.GetAsync(Text(upload, "location"));
        Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
        Assert.Equal(Text(upload, "range"), status.Headers.GetValues("Range").Single());
        fixture.Server.Logs.AssertNoServerErrors();
    }

    [Fact]
    public async Task Every_v1_tag_answers_its_image_ancestry_json_and_layers_byte_for_byte()
    {
        using var admin = fixture.Server.Admin();
        var pulled = 0;
        foreach (var (repo, v1) in ReleaseData.Repositories("v1"))
        {
            var prefix = $"/artifactory/api/docker/{repo}/v1/";
            var images = v1["images"]!.AsObject();
            foreach (var (name, expected) in v1["repositories"]!.AsObject())
            {
                AssertJson(expected!["tags"], await GetJsonAsync(admin, $"{prefix}repositories/{name}/tags"), $"{repo} {name} tags");
                AssertJson(expected["images"], await GetJsonAsync(admin, $"{prefix}repositories/{name}/images"), $"{repo} {name} images");

                // docker 1.9's pull, request by request: tag, ancestry, then each image's json and layer.
                using var docker = new DockerV1Client(fixture.Server.BaseAddress, prefix, DockerVersion.V1_9, AuthStyle.BasicOnIndexThenToken, "admin", WharfServer.AdminPassword);
                foreach (var (tag, id) in expected["tags"]!.AsObject())
                {
                    Assert.Equal((string)id!, (string)(await GetJsonAsync(admin, $"{prefix}repositories/{name}/tags/{tag}"))!);
                    var chain = await docker.PullAsync(name, tag);
                    AssertJson(images[(string)id!]!["ancestry"], new JsonArray([.. chain.Reverse().Select(i => JsonValue.Create(i.Id))]), $"{repo} {name}:{tag} ancestry");
                    foreach (var image in chain)
                    {
                        var want = images[image.Id]!;
                        Same(Text(want, "jsonSha256"), Sha256(image.Json), $"{repo} {name}:{tag} json of {image.Id}");
                        Same(Text(want, "layerSha256"), Sha256(image.Layer), $"{repo} {name}:{tag} layer of {image.Id}");
                    }

                    pulled++;
                }
            }

            foreach (var (id, want) in images)
            {
                AssertJson(want!["ancestry"], await GetJsonAsync(admin, $"{prefix}images/{id}/ancestry"), $"{repo} ancestry of {id}");
                using var json = await admin.GetAsync($"{prefix}images/{id}/json");
                Assert.Equal(HttpStatusCode.OK, json.StatusCode);
                Same(((long)want["size"]!).ToString(System.Globalization.CultureInfo.InvariantCulture), json.Headers.GetValues("X-Docker-Size").Single(), $"{repo} X-Docker-Size of {id}");
                Same(Text(want, "checksumPayload"), json.Headers.GetValues("X-Docker-Checksum-Payload").Single(), $"{repo} X-Docker-Checksum-Payload of {id}");
            }
        }

        Assert.True(pulled >= 5, $"only {pulled} V1 tags expected");
        fixture.Server.Logs.AssertNoServerErrors();
    }

    [Fact]
    public async Task The_tree_lists_the_same_items_properties_checksums_and_repository_settings()
    {
        using var admin = fixture.Server.Admin();
        var keys = (await GetJsonAsync(admin, "/api/repositories")).AsArray().Select(r => Text(r, "key")).Order(StringComparer.Ordinal);
        Assert.Equal(Expected["repositories"]!.AsObject().Select(r => r.Key).Order(StringComparer.Ordinal), keys);
        foreach (var (repo, entry) in Expected["repositories"]!.AsObject())
        {
            AssertJson(entry!["config"], await GetJsonAsync(admin, $"/api/repositories/{repo}"), $"{repo} settings");

            // The listing taken before any request could store a checksum (sha1 shows once known).
            var tree = entry["tree"]!;
            var listed = fixture.FirstListings[repo].ToDictionary(e => Text(e, "uri"), StringComparer.Ordinal);
            var wantListed = tree["listing"]!.AsArray();
            Assert.Equal(wantListed.Select(e => Text(e, "uri")).Order(StringComparer.Ordinal), listed.Keys.Order(StringComparer.Ordinal));
            foreach (var want in wantListed)
            {
                AssertJson(want, listed[Text(want, "uri")], $"{repo} listing entry");
            }

            foreach (var (path, item) in tree["items"]!.AsObject())
            {
                using (var properties = await admin.GetAsync($"/api/storage/{repo}/{path}?properties"))
                {
                    var wanted = item!["properties"]!.AsObject();
                    if (wanted.Count == 0)
                    {
                        Assert.True(properties.StatusCode == HttpStatusCode.NotFound, $"{repo}/{path} has properties now: {await properties.Content.ReadAsStringAsync()}");
                    }
                    else
                    {
                        Assert.True(properties.StatusCode == HttpStatusCode.OK, $"{repo}/{path} properties: {properties.StatusCode}");
                        AssertJson(wanted, JsonNode.Parse(await properties.Content.ReadAsStringAsync())!["properties"], $"{repo}/{path} properties");
                    }
                }

                var info = (await GetJsonAsync(admin, $"/api/storage/{repo}/{path}")).AsObject();
                var folder = info.Remove("children");
                info.Remove("uri");
                info.Remove("downloadUri");
                AssertJson(item["info"], info, $"{repo}/{path} info");
                if (!folder)
                {
                    var bytes = await admin.GetByteArrayAsync($"/artifactory/{repo}/{path}");
                    Same(Text(item["info"]!["checksums"], "sha256"), Sha256(bytes), $"download of {repo}/{path}");
                }
            }
        }

        fixture.Server.Logs.AssertNoServerErrors();
    }

    /// <summary>
    /// On its own copy of the data, a month after it was written (so the cleanup may collect
    /// everything the fixture has that nothing uses): an upload the old release left open
    /// completes, pushes of both protocols build on old content, a moved tag keeps its revision by
    /// the old repository's policy, and a full cleanup keeps every tag of the old release whole
    /// while it reclaims what only an old upload named.
    /// </summary>
    [Fact]
    public async Task The_upgraded_data_takes_new_pushes_and_its_cleanup_keeps_every_old_tag()
    {
        var server = await ReleaseData.StartAsync(new ShiftedClock(TimeSpan.FromDays(30)));
        try
        {
            using var admin = server.Admin();

            // The open upload session: the rest of the bytes, then the digest.
            var upload = Expected["pendingUpload"]!;
            var rest = Convert.FromBase64String(Text(upload, "rest"));
            var received = (long)upload["received"]!;
            var chunk = new ByteArrayContent(rest);
            chunk.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            chunk.Headers.TryAddWithoutValidation("Content-Range", $"{received}-{received + rest.Length - 1}");
            string location;
            using (var patch = await admin.PatchAsync(Text(upload, "location"), chunk))
            {
                Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
                location = patch.Headers.Location!.ToString();
            }

            var digest = Text(upload, "digest");
            using (var done = await admin.PutAsync($"{location}{(location.Contains('?', StringComparison.Ordinal) ? '&' : '?')}digest={digest}", null))
            {
                Assert.True(done.StatusCode == HttpStatusCode.Created, $"completing the old upload: {done.StatusCode} {await done.Content.ReadAsStringAsync()}");
            }

            var image = Text(upload, "image");
            Assert.Equal(digest, V2Push.Digest(await admin.GetByteArrayAsync($"{V2Push.Base(Text(upload, "repo"))}{image}/blobs/{digest}")));

            // A new tag of an old image, and an old manifest pushed again under another tag: the
            // old blob names satisfy the manifest checks.
            var pushed = await V2Push.PushImageAsync(admin, "docker-v2-local", "acme/app", "2.0");
            var oldManifest = await admin.GetByteArrayAsync($"{V2Push.Base("docker-v2-local")}acme/app/manifests/1.0");
            using (var again = await V2Push.PutManifestAsync(admin, "docker-v2-local", "acme/app", "1.0-again", oldManifest))
            {
                Assert.Equal(HttpStatusCode.Created, again.StatusCode);
            }

            var tags = await GetJsonAsync(admin, $"{V2Push.Base("docker-v2-local")}acme/app/tags/list");
            AssertJson(new JsonArray("1.0", "1.0-again", "1.1", "1.1-copy", "2.0", "latest"), tags["tags"], "acme/app tags after the pushes");

            // dockerTagRetention 2 on the old repository: moving stable keeps the old stable as the
            // one revision and drops the revision kept before the upgrade.
            var retained = ReleaseData.V2Images().Single(i => i.Repo == "docker-v2-retained" && i.Image == "acme/app").Entry["manifests"]!.AsObject();
            var oldStable = Text(retained["stable"], "digest");
            var tagged = retained.Where(m => !m.Key.StartsWith("sha256:", StringComparison.Ordinal)).Select(m => Text(m.Value, "digest")).ToHashSet(StringComparer.Ordinal);
            var oldRevision = Assert.Single(retained, m => m.Key.StartsWith("sha256:", StringComparison.Ordinal) && !tagged.Contains(m.Key)).Key;
            await V2Push.PushImageAsync(admin, "docker-v2-retained", "acme/app", "stable");
            using (var kept = await admin.GetAsync($"{V2Push.Base("docker-v2-retained")}acme/app/manifests/{oldStable}"))
            {
                Assert.Equal(HttpStatusCode.OK, kept.StatusCode);
            }

            await RegistryHttp.AssertV2ErrorAsync(await admin.GetAsync($"{V2Push.Base("docker-v2-retained")}acme/app/manifests/{oldRevision}"), HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");

            // A V1 push on top of an old image: the ancestors are found (not uploaded again).
            var v1Images = ReleaseData.Repositories("v1").Single(r => r.Repo == "docker-local").Entry["images"]!.AsObject();
            var parentId = (string)ReleaseData.Repositories("v1").Single(r => r.Repo == "docker-local").Entry["repositories"]!["acme/web"]!["tags"]!["1.0"]!;
            var ancestors = v1Images[parentId]!["ancestry"]!.AsArray().Select(a => (string)a!).Reverse().Select(id => new TestImage(id, [], [])).ToList();
            var top = TestImage.Chain(DockerVersion.V1_9, 1, layerBytes: 512, parent: ancestors[^1]);
            using (var docker = new DockerV1Client(server.BaseAddress, "/v1/", DockerVersion.V1_9, AuthStyle.BasicOnIndexThenToken, "admin", WharfServer.AdminPassword))
            {
                await docker.PushAsync("acme/web", "2.0", [.. ancestors, .. top]);
                var chain = await docker.PullAsync("acme/web", "2.0");
                Assert.Equal(ancestors.Select(a => a.Id).Append(top[0].Id), chain.Select(i => i.Id));
                Assert.Equal(top[0].Layer, chain[^1].Layer);
            }

            // Everything, now: what only the old uploads named goes, every old tag stays whole.
            using (var cleanup = await admin.PostAsync("/api/system/cleanup", null))
            {
                Assert.True(cleanup.StatusCode == HttpStatusCode.OK, $"cleanup: {cleanup.StatusCode} {await cleanup.Content.ReadAsStringAsync()}");
            }

            var reclaimed = 0;
            foreach (var (repo, name, entry) in ReleaseData.V2Images())
            {
                var moved = repo == "docker-v2-retained" && name == "acme/app";
                var named = ReleaseData.BlobsNamedOutsideUploads(repo, name, except: moved ? oldRevision : null);
                foreach (var (reference, answer) in entry["manifests"]!.AsObject())
                {
                    if (!moved || (reference != "stable" && reference != oldRevision))
                    {
                        await AssertManifestAsync(admin, repo, name, reference, answer!);
                    }
                }

                foreach (var (blobDigest, blob) in entry["blobs"]!.AsObject())
                {
                    if (named.Contains(blobDigest))
                    {
                        await AssertBlobAsync(admin, repo, name, blobDigest, blob!);
                    }
                    else if (!ReleaseData.BlobsNamedAnywhere().Contains(Text(blob, "sha256")))
                    {
                        // Content only an old upload named, in no other place: reclaimed.
                        await RegistryHttp.AssertV2ErrorAsync(await admin.GetAsync($"{V2Push.Base(repo)}{name}/blobs/{blobDigest}"), HttpStatusCode.NotFound, "BLOB_UNKNOWN");
                        reclaimed++;
                    }
                }
            }

            // The never-referenced upload, the deleted tag's config, the pruned revision's config and layer.
            Assert.True(reclaimed >= 4, $"only {reclaimed} blobs were only in old uploads");

            Assert.Equal(pushed.Manifest, await admin.GetByteArrayAsync($"{V2Push.Base("docker-v2-local")}acme/app/manifests/2.0"));
            foreach (var (repo, v1) in ReleaseData.Repositories("v1"))
            {
                using var docker = new DockerV1Client(server.BaseAddress, $"/artifactory/api/docker/{repo}/v1/", DockerVersion.V1_9, AuthStyle.BasicOnIndexThenToken, "admin", WharfServer.AdminPassword);
                foreach (var (name, expected) in v1["repositories"]!.AsObject())
                {
                    foreach (var (tag, id) in expected!["tags"]!.AsObject())
                    {
                        var chain = await docker.PullAsync(name, tag);
                        Assert.Equal((string)id!, chain[^1].Id);
                        Assert.All(chain, i => Assert.Equal(Text(v1["images"]![i.Id], "layerSha256"), Sha256(i.Layer)));
                    }
                }
            }

            server.Logs.AssertNoServerErrors();
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    // ---------------------------------------------------------------- helpers

    private static async Task AssertManifestAsync(HttpClient admin, string repo, string image, string reference, JsonNode answer)
    {
        var what = $"{repo}/{image} manifest {reference}";
        var url = $"{V2Push.Base(repo)}{image}/manifests/{reference}";
        using (var get = await admin.GetAsync(url))
        {
            var body = await get.Content.ReadAsByteArrayAsync();
            Assert.True(get.StatusCode == HttpStatusCode.OK, $"{what}: {get.StatusCode}");
            Same(Text(answer, "mediaType"), get.Content.Headers.GetValues("Content-Type").Single(), $"{what} Content-Type");
            Same(Text(answer, "digest"), get.Headers.GetValues("Docker-Content-Digest").Single(), $"{what} Docker-Content-Digest");
            Same(Text(answer, "sha256"), Sha256(body), $"{what} bytes");
        }

        using var head = await admin.SendAsync(new HttpRequestMessage(HttpMethod.Head, url));
        Assert.True(head.StatusCode == HttpStatusCode.OK, $"HEAD {what}: {head.StatusCode}");
        Same(Text(answer, "digest"), head.Headers.GetValues("Docker-Content-Digest").Single(), $"HEAD {what} Docker-Content-Digest");
        Assert.True((long)answer["size"]! == head.Content.Headers.ContentLength, $"HEAD {what} Content-Length");
    }

    private static async Task AssertBlobAsync(HttpClient admin, string repo, string image, string digest, JsonNode blob)
    {
        var what = $"{repo}/{image} blob {digest}";
        using var get = await admin.GetAsync($"{V2Push.Base(repo)}{image}/blobs/{digest}");
        Assert.True(get.StatusCode == HttpStatusCode.OK, $"{what}: {get.StatusCode}");
        var bytes = await get.Content.ReadAsByteArrayAsync();
        Same(Text(blob, "sha256"), Sha256(bytes), $"{what} bytes");
        Same(Text(blob, "digest"), get.Headers.GetValues("Docker-Content-Digest").Single(), $"{what} Docker-Content-Digest");
        var computed = digest.StartsWith("sha512:", StringComparison.Ordinal) ? "sha512:" + Convert.ToHexStringLower(SHA512.HashData(bytes)) : "sha256:" + Sha256(bytes);
        Same(digest, computed, $"{what} digest of the bytes");
    }

    private static async Task<JsonNode> GetJsonAsync(HttpClient client, string url)
    {
        using var response = await client.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {url}: {response.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }

    private static void Same(string expected, string actual, string what) =>
        Assert.True(expected == actual, $"{what}: expected {expected}, got {actual}");

    private static void AssertJson(JsonNode? expected, JsonNode? actual, string what) =>
        Assert.True(JsonNode.DeepEquals(expected, actual), $"{what}:{Environment.NewLine}expected {expected?.ToJsonString()}{Environment.NewLine}actual   {actual?.ToJsonString()}");

    private static JsonArray SortedBy(JsonArray items, string key) =>
        new([.. items.OrderBy(i => Text(i, key), StringComparer.Ordinal).Select(i => i!.DeepClone())]);

    private static string Text(JsonNode? node, string key) => (string)node![key]!;

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>One server on one copy of the fixture for the suites that only read, with the listings taken before anything else asked.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        public WharfServer Server { get; private set; } = null!;

        /// <summary>
        /// Each repository's listing as the first request after the start saw it: a listing shows
        /// a file's sha1 only once it is known, and item info or a download stores it, so only a
        /// listing taken first shows what the old release had stored.
        /// </summary>
        public Dictionary<string, JsonArray> FirstListings { get; } = new(StringComparer.Ordinal);

        public async Task InitializeAsync()
        {
            Server = await ReleaseData.StartAsync(clock: null);
            using var admin = Server.Admin();
            foreach (var (repo, _) in ReleaseData.Expected["repositories"]!.AsObject())
            {
                FirstListings[repo] = (await GetJsonAsync(admin, $"/api/storage/{repo}?list&deep=1&listFolders=1"))["files"]!.AsArray();
            }
        }

        public Task DisposeAsync() => Server.DisposeAsync();
    }

    /// <summary>The fixture files, copied next to the test assembly (see the project file).</summary>
    private static class ReleaseData
    {
        private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Fixtures");

        public static JsonObject Expected { get; } = JsonNode.Parse(File.ReadAllText(Path.Combine(Folder, "release1-expected.json")))!.AsObject();

        /// <summary>
        /// Unpacks the archive into a new data directory and starts Wharf on it as it is: no test
        /// accounts added, the background cleanup off (the fixture ages, and time must not decide
        /// what a test sees). The server removes the directory when disposed.
        /// </summary>
        public static async Task<WharfServer> StartAsync(TimeProvider? clock)
        {
            var dataDir = Path.Combine(Path.GetTempPath(), "wharf-release1-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dataDir);
            await using (var archive = File.OpenRead(Path.Combine(Folder, "release1-data.tar.gz")))
            await using (var tar = new GZipStream(archive, CompressionMode.Decompress))
            {
                await TarFile.ExtractToDirectoryAsync(tar, dataDir, overwriteFiles: false);
            }

            var server = new WharfServer
            {
                DataDir = dataDir,
                AddTestAccounts = false,
                Clock = clock,
                ExtraSettings = new Dictionary<string, string?>
                {
                    ["Wharf:Cleanup:EmptyFolderPruneIntervalMinutes"] = "0",
                    ["Wharf:Cleanup:GarbageCollectionIntervalMinutes"] = "0",
                },
            };
            try
            {
                await server.InitializeAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }

            return server;
        }

        public static IEnumerable<(string Repo, JsonObject Entry)> Repositories(string version) =>
            Expected["repositories"]!.AsObject()
                .Where(r => r.Value![version] is not null)
                .Select(r => (r.Key, r.Value![version]!.AsObject()));

        public static IEnumerable<(string Repo, string Image, JsonObject Entry)> V2Images() =>
            Repositories("v2").SelectMany(r => r.Entry["images"]!.AsObject().Select(i => (r.Repo, i.Key, i.Value!.AsObject())));

        /// <summary>The blob digests named in a tag or digest folder of the image other than <paramref name="except"/> (not only in its <c>_uploads</c>).</summary>
        public static HashSet<string> BlobsNamedOutsideUploads(string repo, string image, string? except) =>
            [.. Items(repo)
                .Select(path => path.Split('/'))
                .Where(parts => parts.Length >= 3 && string.Join('/', parts[..^2]) == image && parts[^2] != "_uploads" && parts[^2] != except && (parts[^1].StartsWith("sha256__", StringComparison.Ordinal) || parts[^1].StartsWith("sha512__", StringComparison.Ordinal)))
                .Select(parts => parts[^1].Replace("__", ":", StringComparison.Ordinal))];

        /// <summary>The content (SHA-256) every item of every repository names outside V2 upload folders.</summary>
        public static HashSet<string> BlobsNamedAnywhere() =>
            [.. Expected["repositories"]!.AsObject().SelectMany(r => r.Value!["tree"]!["items"]!.AsObject()
                .Where(i => !i.Key.Contains("/_uploads/", StringComparison.Ordinal) && i.Value!["info"]!["checksums"] is not null)
                .Select(i => Text(i.Value!["info"]!["checksums"], "sha256")))];

        private static IEnumerable<string> Items(string repo) => Expected["repositories"]![repo]!["tree"]!["items"]!.AsObject().Select(i => i.Key);
    }
}
