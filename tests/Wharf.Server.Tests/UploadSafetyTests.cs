using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>
/// What the stale-upload purge and repository deletion may touch: only V2 upload entries and
/// sessions, never V1 content that happens to carry the uploads folder's name.
/// </summary>
public sealed class UploadSafetyTests : IAsyncLifetime
{
    private const double StaleUploadSeconds = 2;
    private const string V2Base = "/artifactory/api/docker/docker-v2-local/v2/";

    private readonly WharfServer _server = new()
    {
        ExtraSettings = new Dictionary<string, string?>
        {
            ["Wharf:Cleanup:GracePeriodSeconds"] = "0.5",
            ["Wharf:Cleanup:EmptyFolderMinAgeSeconds"] = "0",
            ["Wharf:Cleanup:EmptyFolderPruneIntervalMinutes"] = "0",
            ["Wharf:Cleanup:GarbageCollectionIntervalMinutes"] = "0",
            ["Wharf:Cleanup:StaleUploadHours"] = (StaleUploadSeconds / 3600).ToString(System.Globalization.CultureInfo.InvariantCulture),
        },
    };

    public Task InitializeAsync() => _server.InitializeAsync();

    public Task DisposeAsync() => _server.DisposeAsync();

    /// <summary>
    /// A V1 tag named <c>_uploads</c> and the index of a V1 repository <c>ns/_uploads</c> live in
    /// folders named like V2's uploads folder; aged past StaleUploadHours they stay and pull, while a
    /// V2 upload entry of the same age is purged.
    /// </summary>
    [Fact]
    public async Task The_stale_upload_purge_leaves_v1_content_named_uploads_alone()
    {
        var taggedUploads = await PushV1Async("safety/tagged", "_uploads", TestImage.Chain(DockerVersion.V1_12, 1));
        var repositoryUploads = await PushV1Async("safety/_uploads", "1", TestImage.Chain(DockerVersion.V1_12, 1));
        using var admin = _server.Admin();
        var blob = RandomNumberGenerator.GetBytes(1000);
        var digest = V2ApiTests.Digest(blob);
        using (var put = await admin.PostAsync($"{V2Base}safety/stale/blobs/uploads/?digest={digest}", new ByteArrayContent(blob)))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        await Task.Delay(TimeSpan.FromSeconds(StaleUploadSeconds + 0.5));
        using (var cleanup = await admin.PostAsync("/api/system/cleanup", null))
        {
            Assert.Equal(HttpStatusCode.OK, cleanup.StatusCode);
            var report = JsonDocument.Parse(await cleanup.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(1, report.GetProperty("uploads").GetProperty("removed").GetInt32());
        }

        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/storage/docker-local/repositories/safety/tagged/_uploads/tag.json")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/storage/docker-local/repositories/safety/_uploads/_index_images.json")).StatusCode);
        LifecycleTests.AssertSameImages(taggedUploads, await PullV1Async("safety/tagged", "_uploads"));
        LifecycleTests.AssertSameImages(repositoryUploads, await PullV1Async("safety/_uploads", "1"));
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"{V2Base}safety/stale/blobs/{digest}")).StatusCode);
    }

    /// <summary>
    /// The purge matches the uploads folder's name exactly: a V2 tag named <c>_UPLOADS</c> (the OCI
    /// grammar allows it) is a tag folder whose blob names are the image's, so aged past
    /// StaleUploadHours it keeps them and pulls whole, like any other tag.
    /// </summary>
    [Fact]
    public async Task The_stale_upload_purge_leaves_a_v2_tag_named_like_the_uploads_folder_in_another_case_alone()
    {
        using var admin = _server.Admin();
        var images = new Dictionary<string, PushedImage>(StringComparer.Ordinal);
        foreach (var tag in new[] { "_UPLOADS", "_Uploads", "control" })
        {
            images[tag] = await V2Push.PushImageAsync(admin, "docker-v2-local", "safety/cased", tag);
        }

        await Task.Delay(TimeSpan.FromSeconds(StaleUploadSeconds + 0.5));
        using (var cleanup = await admin.PostAsync("/api/system/cleanup", null))
        {
            Assert.Equal(HttpStatusCode.OK, cleanup.StatusCode);
        }

        foreach (var (tag, image) in images)
        {
            Assert.Equal(image.Manifest, await admin.GetByteArrayAsync($"{V2Base}safety/cased/manifests/{tag}"));
            var files = JsonDocument.Parse(await admin.GetStringAsync($"/api/storage/docker-v2-local/safety/cased/{tag}")).RootElement
                .GetProperty("children").EnumerateArray().Select(c => c.GetProperty("uri").GetString()!.TrimStart('/')).Order(StringComparer.Ordinal);
            Assert.Equal(new[] { "manifest.json", "sha256__" + image.ConfigDigest[7..], "sha256__" + image.LayerDigest[7..] }.Order(StringComparer.Ordinal), files);
        }

        // Each layer is named only by its own tag now: the real uploads folder was purged.
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/storage/docker-v2-local/safety/cased/_uploads")).StatusCode);
        foreach (var (tag, image) in images)
        {
            Assert.Equal(image.Layer, await admin.GetByteArrayAsync($"{V2Base}safety/cased/blobs/{image.LayerDigest}"));
            using var delete = await admin.DeleteAsync($"{V2Base}safety/cased/manifests/{image.Digest}");
            Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"{V2Base}safety/cased/blobs/{image.LayerDigest}")).StatusCode);
        }
    }

    /// <summary>
    /// Deleting a repository ends its upload sessions: the repository created again under the same
    /// key does not know the old session, and the session's chunks are gone at once.
    /// </summary>
    [Fact]
    public async Task Deleting_a_repository_ends_its_upload_sessions()
    {
        const string Key = "safety-recreated";
        var prefix = $"/artifactory/api/docker/{Key}/v2/safety/img/blobs/uploads/";
        using var admin = _server.Admin();
        var repository = $$"""{"key":"{{Key}}","rclass":"local","packageType":"docker","dockerApiVersion":"V2"}""";
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync($"/api/repositories/{Key}", Json(repository))).StatusCode);
        string id;
        using (var start = await admin.PostAsync(prefix, null))
        {
            Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
            id = start.Headers.GetValues("Docker-Upload-UUID").Single();
        }

        var chunk = RandomNumberGenerator.GetBytes(5000);
        using (var patch = await admin.PatchAsync(prefix + id, new ByteArrayContent(chunk)))
        {
            Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
        }

        Assert.NotEmpty(ChunkFiles(id));
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync($"/api/repositories/{Key}")).StatusCode);
        Assert.Empty(ChunkFiles(id));
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync($"/api/repositories/{Key}", Json(repository))).StatusCode);

        await AssertUploadUnknownAsync(await admin.GetAsync(prefix + id));
        await AssertUploadUnknownAsync(await admin.PatchAsync(prefix + id, new ByteArrayContent(chunk)));
        await AssertUploadUnknownAsync(await admin.PutAsync($"{prefix}{id}?digest={V2ApiTests.Digest(chunk)}", null));
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/artifactory/api/docker/{Key}/v2/safety/img/blobs/{V2ApiTests.Digest(chunk)}")).StatusCode);
    }

    /// <summary>
    /// A PATCH racing the PUT that completes a one-chunk session: whichever wins, nothing answers
    /// 5xx, the session (when it survives) names only chunks that exist and completes, the blob is
    /// right, and the same digest uploads again afterwards.
    /// </summary>
    [Fact]
    public async Task Patch_racing_put_on_one_session_never_leaves_it_naming_a_missing_chunk()
    {
        using var admin = _server.Admin();
        using var other = _server.Admin();
        var outcomes = new List<(HttpStatusCode Put, HttpStatusCode Patch)>();
        for (var i = 0; i < 40; i++)
        {
            var first = RandomNumberGenerator.GetBytes(64 * 1024);
            var second = RandomNumberGenerator.GetBytes(16 * 1024);
            byte[] both = [.. first, .. second];
            var location = $"{V2Base}safety/race/blobs/uploads/";
            string id;
            using (var start = await admin.PostAsync(location, null))
            {
                id = start.Headers.GetValues("Docker-Upload-UUID").Single();
                location = start.Headers.Location!.ToString();
            }

            using (var patch = await admin.PatchAsync(location, Chunk(first, 0)))
            {
                Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
            }

            // A PATCH holds the session while its bytes arrive, so whoever gets there first wins:
            // the PUT is given the head start in odd rounds, the PATCH in even ones, by up to 3 ms.
            var putting = Task.Run(async () =>
            {
                await Task.Delay(i % 2 == 0 ? i % 4 : 0);
                using var put = await admin.PutAsync($"{location}?digest={V2ApiTests.Digest(first)}", null);
                return put.StatusCode;
            });
            var patching = Task.Run(async () =>
            {
                await Task.Delay(i % 2 == 1 ? i % 4 : 0);
                using var patch = await other.PatchAsync(location, Chunk(second, first.Length));
                return patch.StatusCode;
            });
            var (put, patched) = (await putting, await patching);
            outcomes.Add((put, patched));
            Assert.True((int)put < 500 && (int)patched < 500, $"PUT {put}, PATCH {patched}");

            await using (var session = await _server.Store.OpenAsync(default))
            {
                if (await session.V2Uploads.GetAsync(id, default) is { } left)
                {
                    Assert.All(left.ChunkKeys, key => Assert.True(File.Exists(Path.Combine(_server.DataDir, "storage", key)), $"session names missing {key} (PUT {put}, PATCH {patched})"));
                    using var complete = await admin.PutAsync($"{location}?digest={V2ApiTests.Digest(both)}", null);
                    Assert.True(complete.StatusCode == HttpStatusCode.Created, $"completing the survivor: {complete.StatusCode} (PUT {put}, PATCH {patched})");
                    Assert.Equal(both, await admin.GetByteArrayAsync($"{V2Base}safety/race/blobs/{V2ApiTests.Digest(both)}"));
                }
            }

            if (put == HttpStatusCode.Created)
            {
                Assert.Equal(first, await admin.GetByteArrayAsync($"{V2Base}safety/race/blobs/{V2ApiTests.Digest(first)}"));
            }

            using (var again = await admin.PostAsync($"{V2Base}safety/again/blobs/uploads/?digest={V2ApiTests.Digest(first)}", new ByteArrayContent(first)))
            {
                Assert.Equal(HttpStatusCode.Created, again.StatusCode);
            }

            Assert.Equal(first, await admin.GetByteArrayAsync($"{V2Base}safety/again/blobs/{V2ApiTests.Digest(first)}"));
        }

        // Both orders happened, or the race was not a race.
        Assert.Contains(outcomes, o => o.Put == HttpStatusCode.Created);
        Assert.Contains(outcomes, o => o.Patch == HttpStatusCode.Accepted);
    }

    /// <summary>
    /// A PATCH whose body breaks off after more than a megabyte has been appended to the session's
    /// object changes nothing the session records: the next chunk replaces what it left, and the
    /// blob is the recorded chunks exactly.
    /// </summary>
    [Fact]
    public async Task A_patch_that_breaks_off_leaves_the_session_as_it_was()
    {
        using var admin = _server.Admin();
        var first = RandomNumberGenerator.GetBytes(300_000);
        var second = RandomNumberGenerator.GetBytes(200_000);
        string location;
        using (var start = await admin.PostAsync($"{V2Base}safety/broken/blobs/uploads/", null))
        {
            location = start.Headers.Location!.ToString();
        }

        using (var patch = await admin.PatchAsync(location, Chunk(first, 0)))
        {
            Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
        }

        var broken = new StreamContent(new BreakingStream(RandomNumberGenerator.GetBytes(3 << 20), breakAfter: 5 << 19));
        broken.Headers.ContentLength = 3 << 20;
        broken.Headers.TryAddWithoutValidation("Content-Range", $"{first.Length}-{first.Length + (3 << 20) - 1}");
        await Assert.ThrowsAnyAsync<Exception>(() => admin.PatchAsync(location, broken));

        using (var status = await admin.GetAsync(location))
        {
            Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
            Assert.Equal($"0-{first.Length - 1}", status.Headers.GetValues("Range").Single());
        }

        using (var patch = await admin.PatchAsync(location, Chunk(second, first.Length)))
        {
            Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
        }

        byte[] both = [.. first, .. second];
        using (var done = await admin.PutAsync($"{location}?digest={V2ApiTests.Digest(both)}", null))
        {
            Assert.Equal(HttpStatusCode.Created, done.StatusCode);
        }

        Assert.Equal(both, await admin.GetByteArrayAsync($"{V2Base}safety/broken/blobs/{V2ApiTests.Digest(both)}"));
    }

    /// <summary>Reads <paramref name="data"/> and fails after <paramref name="breakAfter"/> bytes, as a client that goes away.</summary>
    private sealed class BreakingStream(byte[] data, int breakAfter) : MemoryStream(data)
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (Position >= breakAfter)
            {
                await Task.Delay(200, cancellationToken);
                throw new IOException("The client went away.");
            }

            return await base.ReadAsync(buffer[..(int)Math.Min(buffer.Length, breakAfter - Position)], cancellationToken);
        }
    }

    private static ByteArrayContent Chunk(byte[] bytes, long start)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.TryAddWithoutValidation("Content-Range", $"{start}-{start + bytes.Length - 1}");
        return content;
    }

    private static async Task AssertUploadUnknownAsync(HttpResponseMessage response)
    {
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{response.StatusCode}: {body}");
            Assert.Equal("BLOB_UPLOAD_UNKNOWN", JsonDocument.Parse(body).RootElement.GetProperty("errors")[0].GetProperty("code").GetString());
        }
    }

    /// <summary>The chunk objects of a V2 upload session in the byte store.</summary>
    private IReadOnlyList<string> ChunkFiles(string uploadId) =>
        [.. _server.StoredFiles().Where(f => f.Contains($"{Path.DirectorySeparatorChar}uploads{Path.DirectorySeparatorChar}", StringComparison.Ordinal) && Path.GetFileName(f).StartsWith(uploadId, StringComparison.Ordinal))];

    private async Task<IReadOnlyList<TestImage>> PushV1Async(string name, string tag, IReadOnlyList<TestImage> chain)
    {
        using var docker = new DockerV1Client(_server.BaseAddress, "/v1/", DockerVersion.V1_12, AuthStyle.BasicEverywhere, "alice", WharfServer.AlicePassword);
        await docker.PushAsync(name, tag, chain);
        return chain;
    }

    private async Task<IReadOnlyList<TestImage>> PullV1Async(string name, string tag)
    {
        using var docker = new DockerV1Client(_server.BaseAddress, "/v1/", DockerVersion.V1_12, AuthStyle.BasicEverywhere, "admin", WharfServer.AdminPassword);
        return await docker.PullAsync(name, tag);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
