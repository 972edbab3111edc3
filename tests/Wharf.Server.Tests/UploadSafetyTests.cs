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
