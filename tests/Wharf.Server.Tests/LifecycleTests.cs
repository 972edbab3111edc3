using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Wharf.Core.Storage;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>
/// Promote, copy, move, delete and the cleanup that follows (rest-api §3.4, §3.7, §4.5, §4.6), on a
/// server whose grace period is short enough to watch the collector work.
/// </summary>
public sealed class LifecycleTests(LifecycleTests.Fixture fixture) : IClassFixture<LifecycleTests.Fixture>
{
    public const double GraceSeconds = 1.5;

    private WharfServer Server => fixture.Server;

    [Fact]
    public async Task Promote_copies_metadata_only_and_the_target_pulls_the_same_bytes()
    {
        await CreateRepositoryAsync("lc-prod-copy");
        var chain = await PushAsync("lc/big", "1.0", TestImage.Chain(DockerVersion.V1_12, 2, layerBytes: 64 << 20));
        var before = StoreBytes();

        var clock = Stopwatch.StartNew();
        await PromoteAsync("""{"targetRepo":"lc-prod-copy","dockerRepository":"lc/big","tag":"1.0","targetTag":"stable","copy":true}""");
        clock.Stop();

        // Only the target's small index blob is new: the 128 MiB of layers are shared, not copied.
        Assert.InRange(StoreBytes() - before, 0, 4096);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"promote took {clock.Elapsed}");
        AssertSameImages(chain, await PullAsync("lc-prod-copy", "lc/big", "stable"));
        AssertSameImages(chain, await PullAsync("docker-local", "lc/big", "1.0"));

        using var admin = Server.Admin();
        var index = await admin.GetStringAsync("/api/storage/lc-prod-copy/repositories/lc/big/_index_images.json?properties");
        Assert.Contains("\"docker.repoName\":[\"lc/big\"]", index, StringComparison.Ordinal);
        var tag = await admin.GetStringAsync("/api/storage/lc-prod-copy/repositories/lc/big/stable/tag.json?properties");
        Assert.Contains("\"docker.tag.name\":[\"stable\"]", tag, StringComparison.Ordinal);
        Assert.Contains($"\"docker.tag.content\":[\"{chain[^1].Id}\"]", tag, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Promote_moves_every_tag_and_renames_the_image()
    {
        await CreateRepositoryAsync("lc-prod-move");
        var first = await PushAsync("lc/mover", "a", TestImage.Chain(DockerVersion.V1_12, 2));
        var second = await PushAsync("lc/mover", "b", TestImage.Chain(DockerVersion.V1_12, 1, parent: first[0]).Prepend(first[0]).ToList());

        await PromoteAsync("""{"targetRepo":"lc-prod-move","dockerRepository":"lc/mover","targetDockerRepository":"team/moved"}""");

        AssertSameImages(first, await PullAsync("lc-prod-move", "team/moved", "a"));
        AssertSameImages(second, await PullAsync("lc-prod-move", "team/moved", "b"));
        using var admin = Server.Admin();
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/v1/repositories/lc/mover/tags")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/storage/docker-local/repositories/lc/mover")).StatusCode);
        Assert.Contains("\"docker.repoName\":[\"team/moved\"]", await admin.GetStringAsync("/api/storage/lc-prod-move/repositories/team/moved/_index_images.json?properties"), StringComparison.Ordinal);

        // Moved away, the source's images are unreachable there; the collector may now take them, but
        // never the bytes the target still names.
        await CleanupAsync();
        AssertSameImages(first, await PullAsync("lc-prod-move", "team/moved", "a"));
    }

    [Theory]
    [InlineData("""{"targetRepo":"docker-v2-local","dockerRepository":"lc/refused","tag":"1"}""", 400)]
    [InlineData("""{"targetRepo":"docker-local","dockerRepository":"lc/refused","tag":"1"}""", 400)]
    [InlineData("""{"targetRepo":"docker-local","dockerRepository":"lc/refused","tag":"1","targetTag":"1"}""", 400)]
    [InlineData("""{"targetRepo":"nosuch","dockerRepository":"lc/refused","tag":"1"}""", 404)]
    [InlineData("""{"targetRepo":"lc-prod-refuse","dockerRepository":"lc/refused","tag":"nosuch"}""", 404)]
    [InlineData("""{"targetRepo":"lc-prod-refuse","dockerRepository":"lc/nosuch"}""", 404)]
    [InlineData("""{"targetRepo":"lc-prod-refuse","dockerRepository":"lc/refused","targetTag":"2"}""", 400)]
    [InlineData("""{"targetRepo":"lc-prod-refuse","dockerRepository":"lc/refused","tag":"1","targetTag":"bad tag!"}""", 400)]
    [InlineData("""{"targetRepo":"lc-prod-refuse","dockerRepository":"../etc","tag":"1"}""", 400)]
    [InlineData("""{"dockerRepository":"lc/refused"}""", 400)]
    [InlineData("""{"targetRepo":"lc-prod-refuse","dockerRepository":"lc/refused","copy":"perhaps"}""", 400)]
    [InlineData("""{"targetRepo":""", 400)]
    [InlineData("[1,2]", 400)]
    public async Task A_refused_promote_changes_nothing(string body, int status)
    {
        await CreateRepositoryAsync("lc-prod-refuse");
        await fixture.OnceAsync("lc/refused", () => PushAsync("lc/refused", "1", TestImage.Chain(DockerVersion.V1_12, 1)));
        var before = await TreesAsync("docker-local", "lc-prod-refuse");

        using var admin = Server.Admin();
        using var response = await admin.PostAsync("/api/docker/docker-local/v1/promote", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(status, (int)response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("errors")[0];
        Assert.Equal(status, error.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.Equal(before, await TreesAsync("docker-local", "lc-prod-refuse"));
    }

    [Fact]
    public async Task Promote_needs_delete_on_the_target_to_replace_a_tag_and_then_changes_nothing()
    {
        await CreateRepositoryAsync("lc-prod-guarded");
        await fixture.CreateUserWithAsync("promoter", "lc-prod-guarded", """["r","w"]""");
        var old = await PushAsync("lc/guarded", "1", TestImage.Chain(DockerVersion.V1_12, 1));
        await PromoteAsync("""{"targetRepo":"lc-prod-guarded","dockerRepository":"lc/guarded","tag":"1","copy":true}""");
        await PushAsync("lc/guarded", "1", TestImage.Chain(DockerVersion.V1_12, 1));
        var before = await TreesAsync("docker-local", "lc-prod-guarded");

        using var promoter = Server.Client("promoter", "promoter-secret-1");
        using var response = await promoter.PostAsync("/api/docker/docker-local/v1/promote",
            new StringContent("""{"targetRepo":"lc-prod-guarded","dockerRepository":"lc/guarded","tag":"1","copy":true}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(before, await TreesAsync("docker-local", "lc-prod-guarded"));
        AssertSameImages(old, await PullAsync("lc-prod-guarded", "lc/guarded", "1"));
    }

    /// <summary>
    /// The regression Artifactory fixed in 7.117.1: deleting one of two tags that share a base layer
    /// must leave the other tag whole, through every later cleanup.
    /// </summary>
    [Fact]
    public async Task Deleting_a_tag_never_removes_a_layer_another_tag_uses()
    {
        var shared = TestImage.Chain(DockerVersion.V1_12, 1, layerBytes: 20_000)[0];
        var a = await PushAsync("lc/shared", "a", [shared, .. TestImage.Chain(DockerVersion.V1_12, 1, layerBytes: 30_000, parent: shared)]);
        var b = await PushAsync("lc/shared", "b", [shared, .. TestImage.Chain(DockerVersion.V1_12, 1, layerBytes: 40_000, parent: shared)]);
        await CreateRepositoryAsync("lc-shared-copy");
        await PromoteAsync("""{"targetRepo":"lc-shared-copy","dockerRepository":"lc/shared","tag":"a","copy":true}""");

        using var alice = Server.Client("alice", WharfServer.AlicePassword);
        Assert.Equal(HttpStatusCode.NoContent, (await alice.DeleteAsync("/artifactory/docker-local/repositories/lc/shared/a")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync("/v1/repositories/lc/shared/tags/a")).StatusCode);
        Assert.DoesNotContain("\"a\"", await alice.GetStringAsync("/v1/repositories/lc/shared/tags"), StringComparison.Ordinal);
        Assert.DoesNotContain("/lc/shared/a/", await alice.GetStringAsync("/api/search/prop?docker.tag.name=a&repos=docker-local"), StringComparison.Ordinal);

        await CleanupAsync();
        AssertSameImages(b, await PullAsync("docker-local", "lc/shared", "b"));
        AssertSameImages(a, await PullAsync("lc-shared-copy", "lc/shared", "a"));

        // Now nothing names a's top layer in docker-local, but the copy still does: its bytes stay.
        Assert.True(HasBlob(a[^1].Layer));
        Assert.Equal(HttpStatusCode.OK, (await Server.Admin().DeleteAsync("/api/repositories/lc-shared-copy")).StatusCode);
        var report = await CleanupAsync();
        Assert.True(report.GetProperty("gc").GetProperty("blobsRemoved").GetInt32() > 0);
        Assert.False(HasBlob(a[^1].Layer));
        Assert.True(HasBlob(shared.Layer));
        AssertSameImages(b, await PullAsync("docker-local", "lc/shared", "b"));
    }

    [Fact]
    public async Task Deletes_that_would_break_an_image_are_refused_and_change_nothing()
    {
        var chain = await PushAsync("lc/guard", "1", TestImage.Chain(DockerVersion.V1_12, 2));
        var before = await TreesAsync("docker-local");
        using var alice = Server.Client("alice", WharfServer.AlicePassword);

        Assert.Equal(HttpStatusCode.Conflict, (await alice.DeleteAsync($"/artifactory/docker-local/.images/{chain[0].Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await alice.DeleteAsync($"/artifactory/docker-local/.images/{chain[1].Id}/layer.tar")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await alice.DeleteAsync("/artifactory/docker-local/")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.DeleteAsync("/artifactory/docker-local/repositories/lc/nosuch")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await alice.DeleteAsync("/artifactory/docker-local/repositories/lc%5Cguard")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Server.Client("mallory", WharfServer.AlicePassword).DeleteAsync("/artifactory/docker-local/repositories/lc/guard")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Server.Client().DeleteAsync("/artifactory/docker-local/repositories/lc/guard")).StatusCode);
        Assert.Equal(before, await TreesAsync("docker-local"));
        AssertSameImages(chain, await PullAsync("docker-local", "lc/guard", "1"));

        // Once the only tag is gone, the images may go too.
        Assert.Equal(HttpStatusCode.NoContent, (await alice.DeleteAsync("/artifactory/docker-local/repositories/lc/guard")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await alice.DeleteAsync($"/artifactory/docker-local/.images/{chain[1].Id}")).StatusCode);
    }

    [Fact]
    public async Task Copy_and_move_follow_unix_semantics_with_dry_runs_and_messages()
    {
        await CreateRepositoryAsync("lc-copy-target");
        var chain = await PushAsync("lc/copied", "1", TestImage.Chain(DockerVersion.V1_12, 1));
        using var alice = Server.Client("alice", WharfServer.AlicePassword);
        var before = await TreesAsync("docker-local", "lc-copy-target");

        using (var dry = await alice.PostAsync("/api/copy/docker-local/repositories/lc/copied?to=/lc-copy-target/repositories/lc/renamed&dry=1", null))
        {
            Assert.Equal(HttpStatusCode.OK, dry.StatusCode);
            Assert.Contains("\"level\":\"INFO\"", await dry.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(before, await TreesAsync("docker-local", "lc-copy-target"));

        // The image folder and the repository folder: the copy pulls from its new name.
        Assert.Equal(HttpStatusCode.OK, (await alice.PostAsync($"/api/copy/docker-local/.images/{chain[0].Id}?to=/lc-copy-target/.images/{chain[0].Id}", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await alice.PostAsync("/api/copy/docker-local/repositories/lc/copied?to=/lc-copy-target/repositories/lc/renamed", null)).StatusCode);
        AssertSameImages(chain, await PullAsync("lc-copy-target", "lc/renamed", "1"));
        using var admin = Server.Admin();
        Assert.Contains("\"docker.repoName\":[\"lc/renamed\"]", await admin.GetStringAsync("/api/storage/lc-copy-target/repositories/lc/renamed/_index_images.json?properties"), StringComparison.Ordinal);

        // A move renames; a copy into an existing folder lands inside it.
        Assert.Equal(HttpStatusCode.OK, (await alice.PostAsync("/api/move/lc-copy-target/repositories/lc/renamed?to=/lc-copy-target/repositories/team/renamed", null)).StatusCode);
        AssertSameImages(chain, await PullAsync("lc-copy-target", "team/renamed", "1"));
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/storage/lc-copy-target/repositories/lc/renamed")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await alice.PostAsync("/api/copy/docker-local/repositories/lc/copied?to=/lc-copy-target/repositories/team", null)).StatusCode);
        AssertSameImages(chain, await PullAsync("lc-copy-target", "team/copied", "1"));

        // Refusals.
        Assert.Equal(HttpStatusCode.BadRequest, (await alice.PostAsync("/api/copy/docker-local/repositories/lc/copied?to=/docker-local/repositories/lc/copied/inner", null)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await alice.PostAsync("/api/move/docker-local/repositories/lc/copied?to=/docker-local/repositories/lc/copied", null)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await alice.PostAsync("/api/copy/docker-local/repositories/lc/copied?to=/docker-v2-local/x", null)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await alice.PostAsync("/api/copy/docker-local/repositories/lc/copied", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.PostAsync("/api/copy/docker-local/repositories/lc/copied?to=/nosuch/x", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.PostAsync("/api/copy/docker-local/repositories/lc/nosuch?to=/lc-copy-target/x", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await alice.PostAsync($"/api/copy/docker-local/.images/{chain[0].Id}/json.json?to=/lc-copy-target/x.json", null)).StatusCode);
        using var clash = await alice.PostAsync("/api/copy/docker-local/repositories/lc/copied/1?to=/lc-copy-target/repositories/team/renamed/_index_images.json", null);
        Assert.Equal(HttpStatusCode.Conflict, clash.StatusCode);
        Assert.Contains("\"level\":\"ERROR\"", await clash.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var reader = Server.Client();
        Assert.Equal(HttpStatusCode.Unauthorized, (await reader.PostAsync("/api/copy/docker-local/repositories/lc/copied?to=/lc-copy-target/x", null)).StatusCode);

        // A move that fails on one item moves nothing.
        var beforeMove = await TreesAsync("docker-local", "lc-copy-target");
        using var failedMove = await alice.PostAsync("/api/move/docker-local/repositories/lc/copied/1?to=/lc-copy-target/repositories/team/renamed/_index_images.json", null);
        Assert.Equal(HttpStatusCode.Conflict, failedMove.StatusCode);
        Assert.Equal(beforeMove, await TreesAsync("docker-local", "lc-copy-target"));
    }

    [Fact]
    public async Task Overwriting_a_promoted_tag_keeps_the_shared_base_and_reclaims_only_the_replaced_layer()
    {
        await CreateRepositoryAsync("lc-prod-over");
        var shared = TestImage.Chain(DockerVersion.V1_12, 1, layerBytes: 10_000)[0];
        var first = await PushAsync("lc/over", "1", [shared, .. TestImage.Chain(DockerVersion.V1_12, 1, layerBytes: 11_000, parent: shared)]);
        await PromoteAsync("""{"targetRepo":"lc-prod-over","dockerRepository":"lc/over","tag":"1","copy":true}""");
        var second = await PushAsync("lc/over", "1", [shared, .. TestImage.Chain(DockerVersion.V1_12, 1, layerBytes: 12_000, parent: shared)]);
        await PromoteAsync("""{"targetRepo":"lc-prod-over","dockerRepository":"lc/over","tag":"1","copy":true}""");

        await CleanupAsync();
        AssertSameImages(second, await PullAsync("lc-prod-over", "lc/over", "1"));
        AssertSameImages(second, await PullAsync("docker-local", "lc/over", "1"));
        Assert.True(HasBlob(shared.Layer));
        Assert.False(HasBlob(first[^1].Layer));
    }

    [Fact]
    public async Task Max_unique_tags_removes_the_oldest_tags_but_never_latest()
    {
        await CreateRepositoryAsync("lc-capped", """ ,"maxUniqueTags":2""");
        var images = TestImage.Chain(DockerVersion.V1_12, 1);
        foreach (var tag in new[] { "latest", "t1", "t2", "t3" })
        {
            await PushAsync("lc/capped", tag, images, "lc-capped");
            await Task.Delay(20);
        }

        using var admin = Server.Admin();
        var tags = JsonDocument.Parse(await admin.GetStringAsync("/artifactory/api/docker/lc-capped/v1/repositories/lc/capped/tags")).RootElement
            .EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["latest", "t3"], tags);
    }

    [Fact]
    public async Task Cleanup_reports_what_it_removed_and_storage_shows_what_is_reclaimable()
    {
        await CreateRepositoryAsync("lc-doomed");
        var chain = await PushAsync("lc/doomed", "1", TestImage.Chain(DockerVersion.V1_12, 2, layerBytes: 50_000), "lc-doomed");
        using var admin = Server.Admin();

        // An upload that never finishes: its record and bytes are purged once stale.
        var lonely = TestImage.Chain(DockerVersion.V1_12, 1)[0];
        using (var start = new HttpRequestMessage(HttpMethod.Put, $"/artifactory/api/docker/lc-doomed/v1/images/{lonely.Id}/json") { Content = new ByteArrayContent(lonely.Json) })
        {
            Assert.Equal(HttpStatusCode.OK, (await admin.SendAsync(start)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync("/api/repositories/lc-doomed")).StatusCode);
        await Task.Delay(TimeSpan.FromSeconds(GraceSeconds + 0.5));
        var storage = JsonDocument.Parse(await admin.GetStringAsync("/api/system/storage")).RootElement;
        Assert.True(storage.GetProperty("binaries").GetProperty("reclaimableBytes").GetInt64() >= 100_000);

        var reclaimable = storage.GetProperty("binaries").GetProperty("reclaimableBytes").GetInt64();
        var report = await CleanupAsync();
        Assert.True(report.GetProperty("gc").GetProperty("bytesRemoved").GetInt64() >= 100_000);
        Assert.False(HasBlob(chain[0].Layer));
        Assert.False(HasBlob(chain[1].Layer));
        storage = JsonDocument.Parse(await admin.GetStringAsync("/api/system/storage")).RootElement;
        Assert.True(storage.GetProperty("binaries").GetProperty("reclaimableBytes").GetInt64() <= reclaimable - 100_000);
        Assert.Equal(JsonValueKind.Object, storage.GetProperty("lastCleanup").ValueKind);
        Assert.Contains(Server.Logs.Lines, l => l.Contains("Cleanup: ", StringComparison.Ordinal));

        Assert.Equal(HttpStatusCode.Forbidden, (await Server.Client("alice", WharfServer.AlicePassword).PostAsync("/api/system/cleanup", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Server.Client().GetAsync("/api/system/storage")).StatusCode);
    }

    [Fact]
    public async Task Stale_uploads_are_purged()
    {
        var lonely = TestImage.Chain(DockerVersion.V1_12, 1)[0];
        using var admin = Server.Admin();
        using (var start = new HttpRequestMessage(HttpMethod.Put, $"/v1/images/{lonely.Id}/json") { Content = new ByteArrayContent(lonely.Json) })
        {
            Assert.Equal(HttpStatusCode.OK, (await admin.SendAsync(start)).StatusCode);
        }

        await Task.Delay(TimeSpan.FromSeconds(Fixture.StaleUploadSeconds + 0.5));
        var report = await CleanupAsync();
        Assert.True(report.GetProperty("uploads").GetProperty("removed").GetInt32() >= 1);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/v1/images/{lonely.Id}/json")).StatusCode);
    }

    [Fact]
    public async Task The_background_job_prunes_empty_folders()
    {
        using var admin = Server.Admin();
        await PushAsync("lc/emptied", "1", TestImage.Chain(DockerVersion.V1_12, 1));
        await PushAsync("lc/emptied/deeper", "1", TestImage.Chain(DockerVersion.V1_12, 1));
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync("/artifactory/docker-local/repositories/lc/emptied/deeper/1/tag.json")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync("/artifactory/docker-local/repositories/lc/emptied/deeper/_index_images.json")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/storage/docker-local/repositories/lc/emptied/deeper")).StatusCode);

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while ((await admin.GetAsync("/api/storage/docker-local/repositories/lc/emptied/deeper")).StatusCode == HttpStatusCode.OK && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/storage/docker-local/repositories/lc/emptied/deeper")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/storage/docker-local/repositories/lc/emptied/1")).StatusCode);
    }

    // ---------------------------------------------------------------- helpers

    internal async Task<JsonElement> CleanupAsync()
    {
        using var admin = Server.Admin();
        await Task.Delay(TimeSpan.FromSeconds(GraceSeconds + 0.2));
        using var response = await admin.PostAsync("/api/system/cleanup", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    private async Task CreateRepositoryAsync(string key, string extra = "")
    {
        using var admin = Server.Admin();
        using var response = await admin.PutAsync($"/api/repositories/{key}",
            new StringContent($$"""{"key":"{{key}}","rclass":"local","packageType":"docker","dockerApiVersion":"V1"{{extra}}}""", Encoding.UTF8, "application/json"));
        Assert.True(response.StatusCode == HttpStatusCode.OK || (await response.Content.ReadAsStringAsync()).Contains("already exists", StringComparison.Ordinal));
    }

    private async Task PromoteAsync(string body)
    {
        using var admin = Server.Admin();
        using var response = await admin.PostAsync("/api/docker/docker-local/v1/promote", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        Assert.Equal("Promotion ended successfully", await response.Content.ReadAsStringAsync());
    }

    private async Task<IReadOnlyList<TestImage>> PushAsync(string name, string tag, IReadOnlyList<TestImage> chain, string repo = "docker-local")
    {
        using var docker = new DockerV1Client(Server.BaseAddress, $"/artifactory/api/docker/{repo}/v1/", DockerVersion.V1_12, AuthStyle.BasicEverywhere, "alice", WharfServer.AlicePassword);
        await docker.PushAsync(name, tag, chain);
        return chain;
    }

    private async Task<IReadOnlyList<TestImage>> PullAsync(string repo, string name, string tag)
    {
        using var docker = new DockerV1Client(Server.BaseAddress, $"/artifactory/api/docker/{repo}/v1/", DockerVersion.V1_12, AuthStyle.BasicEverywhere, "admin", WharfServer.AdminPassword);
        return await docker.PullAsync(name, tag);
    }

    internal static void AssertSameImages(IReadOnlyList<TestImage> pushed, IReadOnlyList<TestImage> pulled)
    {
        Assert.Equal(pushed.Select(i => i.Id), pulled.Select(i => i.Id));
        for (var i = 0; i < pushed.Count; i++)
        {
            Assert.Equal(pushed[i].Layer, pulled[i].Layer);
            Assert.Equal(pushed[i].Json, pulled[i].Json);
        }
    }

    private long StoreBytes() =>
        Directory.EnumerateFiles(Path.Combine(Server.DataDir, "storage", "blobs"), "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);

    private bool HasBlob(byte[] content) =>
        File.Exists(Path.Combine(Server.DataDir, "storage", StoragePaths.Blob(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(content)))));

    /// <summary>Every item of the given repositories with its blob and properties, to prove nothing changed.</summary>
    private async Task<string> TreesAsync(params string[] repos)
    {
        var text = new StringBuilder();
        await using var session = await Server.Store.OpenAsync(default);
        foreach (var repo in repos)
        {
            foreach (var item in await session.Tree.ListDescendantsAsync(repo, "", default))
            {
                var properties = await session.Tree.GetPropertiesAsync(repo, item.Path, default);
                text.Append(repo).Append(' ').Append(item.Path).Append(' ').Append(item.Sha256).Append(' ')
                    .AppendJoin(';', properties.Select(p => p.Key + "=" + string.Join(',', p.Value))).Append('\n');
            }
        }

        return text.ToString();
    }

    /// <summary>A server with a short grace period, short stale-upload age and a fast pruning job.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        public const double StaleUploadSeconds = 3;

        private readonly Dictionary<string, Task> _once = [];

        public WharfServer Server { get; } = new()
        {
            ExtraSettings = new Dictionary<string, string?>
            {
                ["Wharf:Cleanup:GracePeriodSeconds"] = GraceSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Wharf:Cleanup:EmptyFolderMinAgeSeconds"] = "0",
                ["Wharf:Cleanup:EmptyFolderPruneIntervalMinutes"] = "0.02",
                ["Wharf:Cleanup:GarbageCollectionIntervalMinutes"] = "0",
                ["Wharf:Cleanup:StaleUploadHours"] = (StaleUploadSeconds / 3600).ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
        };

        public Task InitializeAsync() => Server.InitializeAsync();

        public Task DisposeAsync() => Server.DisposeAsync();

        /// <summary>Runs <paramref name="action"/> once per key for the whole class (theories share a pushed image).</summary>
        public Task OnceAsync(string key, Func<Task> action)
        {
            lock (_once)
            {
                if (!_once.TryGetValue(key, out var task))
                {
                    _once[key] = task = action();
                }

                return task;
            }
        }

        public async Task CreateUserWithAsync(string user, string repo, string actions)
        {
            using var admin = Server.Admin();
            await admin.PutAsync($"/api/security/users/{user}", new StringContent($$"""{"email":"x@x","password":"{{user}}-secret-1"}""", Encoding.UTF8, "application/json"));
            using var response = await admin.PutAsync($"/api/security/permissions/{user}-on-{repo}", new StringContent(
                $$"""{"repositories":["{{repo}}","docker-local"],"principals":{"users":{"{{user}}":""" + actions + "}}}", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }
}
