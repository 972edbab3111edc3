using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Wharf.Server.Tests.Support;
using static Wharf.Server.Tests.Support.RegistryHttp;

namespace Wharf.Server.Tests;

/// <summary>
/// Copies and moves may put a file under any name that carries no registry meaning (an uploaded
/// blob copied to <c>team/x/notes</c>), or create folders named like a registry file; a later push
/// whose tree path runs through such a file, or whose file lands on such a folder, is an expected
/// refusal: <c>NAME_INVALID</c> on V2 routes, 409 on promote, a failed entry of a migration. Nothing
/// is written then, nothing answers 5xx, and the server logs no error.
/// </summary>
public sealed class V2TreeObstacleTests(WharfServer server) : IClassFixture<WharfServer>
{
    private const string Repo = "docker-v2-local";
    private const string Base = "/artifactory/api/docker/" + Repo + "/v2/";

    [Fact]
    public async Task Blob_pushes_through_a_copied_file_answer_NAME_INVALID()
    {
        using var admin = server.Admin();
        var mark = server.Logs.Mark;
        var source = await UploadedFileAsync(admin, "obstacle/source");
        await CopyAsync(admin, source, "obstacle/one/notes");
        await CopyAsync(admin, source, "obstacle/two/_uploads");
        var blob = RandomNumberGenerator.GetBytes(300);
        var digest = V2Push.Digest(blob);
        foreach (var image in new[] { "obstacle/one/notes/img", "obstacle/two" })
        {
            await AssertNameInvalidAsync(await admin.PostAsync($"{Base}{image}/blobs/uploads/?digest={digest}", new ByteArrayContent(blob)), $"monolithic {image}");
            await AssertNameInvalidAsync(await admin.PostAsync($"{Base}{image}/blobs/uploads/?mount={source.Digest}&from=obstacle/source", null), $"mount {image}");

            // A session starts (it writes no tree item). Completing it is refused each way it can
            // complete (the PUT's body alone, one recorded chunk, several), and the session stays
            // whole: it still names every chunk, so the next chunk and completion find them.
            string location;
            using (var start = await admin.PostAsync($"{Base}{image}/blobs/uploads/", null))
            {
                Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
                location = start.Headers.Location!.ToString();
            }

            await AssertNameInvalidAsync(await admin.PutAsync($"{location}?digest={digest}", new ByteArrayContent(blob)), $"complete {image} with the body");
            await AssertSessionSizeAsync(admin, location, 0);
            using (var patch = await admin.PatchAsync(location, new ByteArrayContent(blob)))
            {
                Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
            }

            await AssertNameInvalidAsync(await admin.PutAsync($"{location}?digest={digest}", null), $"complete {image} with one chunk");
            await AssertSessionSizeAsync(admin, location, blob.Length);
            using (var patch = await admin.PatchAsync(location, new ByteArrayContent(blob)))
            {
                Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
            }

            await AssertNameInvalidAsync(await admin.PutAsync($"{location}?digest={V2Push.Digest([.. blob, .. blob])}", null), $"complete {image} with two chunks");
            await AssertSessionSizeAsync(admin, location, 2 * blob.Length);
            Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"{Base}{image}/blobs/{digest}")).StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/storage/{Repo}/obstacle/one/notes")).StatusCode);
        server.Logs.AssertNoServerErrors(mark);
    }

    [Fact]
    public async Task Manifest_pushes_onto_a_copied_file_or_folder_answer_NAME_INVALID()
    {
        using var admin = server.Admin();
        var mark = server.Logs.Mark;
        var source = await UploadedFileAsync(admin, "obstacle/msource");

        // The tag folder is a file; the manifest's place is a folder.
        await CopyAsync(admin, source, "obstacle/tagfile/latest");
        await CopyAsync(admin, source, "obstacle/tagdir/latest/manifest.json/notes");
        foreach (var image in new[] { "obstacle/tagfile", "obstacle/tagdir" })
        {
            var (config, layer) = (RandomNumberGenerator.GetBytes(100), RandomNumberGenerator.GetBytes(200));
            await V2Push.PushBlobAsync(admin, Repo, image, config);
            await V2Push.PushBlobAsync(admin, Repo, image, layer);
            await AssertNameInvalidAsync(await V2Push.PutManifestAsync(admin, Repo, image, "latest", V2Push.ImageManifest(config, [layer])), $"manifest {image}:latest");
            Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"{Base}{image}/manifests/latest")).StatusCode);

            // Other tags of the image push as ever.
            using var other = await V2Push.PutManifestAsync(admin, Repo, image, "other", V2Push.ImageManifest(config, [layer]));
            Assert.Equal(HttpStatusCode.Created, other.StatusCode);
        }

        server.Logs.AssertNoServerErrors(mark);
    }

    /// <summary>With <c>dockerTagRetention</c> 2 a re-push keeps the replaced manifest in its digest folder; a file there refuses the push whole.</summary>
    [Fact]
    public async Task A_retained_revision_onto_a_copied_file_refuses_the_push_and_keeps_the_tag()
    {
        const string Key = "docker-v2-retaining";
        using var admin = server.Admin();
        var mark = server.Logs.Mark;
        using (var create = await admin.PutAsync($"/api/repositories/{Key}", Json($$"""{"key":"{{Key}}","rclass":"local","packageType":"docker","dockerApiVersion":"V2","dockerTagRetention":2}""")))
        {
            Assert.Equal(HttpStatusCode.OK, create.StatusCode);
        }

        var first = await V2Push.PushImageAsync(admin, Key, "kept/app", "1");
        using (var copy = await admin.PostAsync($"/api/copy/{Key}/kept/app/_uploads/sha256__{first.LayerDigest[7..]}?to=/{Key}/kept/app/{first.Digest}", null))
        {
            Assert.Equal(HttpStatusCode.OK, copy.StatusCode);
        }

        var (config, layer) = (RandomNumberGenerator.GetBytes(100), RandomNumberGenerator.GetBytes(200));
        await V2Push.PushBlobAsync(admin, Key, "kept/app", config);
        await V2Push.PushBlobAsync(admin, Key, "kept/app", layer);
        await AssertNameInvalidAsync(await V2Push.PutManifestAsync(admin, Key, "kept/app", "1", V2Push.ImageManifest(config, [layer])), "re-push kept/app:1");
        Assert.Equal(first.Manifest, await admin.GetByteArrayAsync($"/artifactory/api/docker/{Key}/v2/kept/app/manifests/1"));
        server.Logs.AssertNoServerErrors(mark);
    }

    [Fact]
    public async Task Promotion_onto_a_copied_file_is_409_and_changes_nothing()
    {
        using var admin = server.Admin();
        var mark = server.Logs.Mark;
        var image = await V2Push.PushImageAsync(admin, Repo, "obstacle/promoted", "latest");
        var source = await UploadedFileAsync(admin, "obstacle/psource");
        await CopyAsync(admin, source, "obstacle/ptarget/latest");
        var before = await TreeAsync(admin, Repo);
        foreach (var copy in new[] { "true", "false" })
        {
            using var promote = await admin.PostAsync($"/api/docker/{Repo}/v2/promote", Json($$"""{"targetRepo":"{{Repo}}","dockerRepository":"obstacle/promoted","targetDockerRepository":"obstacle/ptarget","tag":"latest","copy":{{copy}}}"""));
            var body = await promote.Content.ReadAsStringAsync();
            Assert.True(promote.StatusCode == HttpStatusCode.Conflict, $"copy {copy}: {promote.StatusCode} {body}");
        }

        Assert.Equal(before, await TreeAsync(admin, Repo));
        Assert.Equal(image.Manifest, await admin.GetByteArrayAsync($"{Base}obstacle/promoted/manifests/latest"));
        server.Logs.AssertNoServerErrors(mark);
    }

    [Fact]
    public async Task Migration_onto_a_copied_file_reports_the_tag_as_failed()
    {
        using var admin = server.Admin();
        var mark = server.Logs.Mark;
        var source = await UploadedFileAsync(admin, "obstacle/msrc");
        await CopyAsync(admin, source, "obstacle/migrated/1");
        var image = TestImage.Chain(DockerVersion.V1_12, 1)[0];
        await V1ConformanceTests.PushImageAsync(admin, image);
        foreach (var tag in new[] { "1", "2" })
        {
            Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync($"/v1/repositories/obstacle/migrated/tags/{tag}", Json($"\"{image.Id}\""))).StatusCode);
        }

        using (var migrate = await admin.PostAsync("/api/docker/docker-local/v1/migrate", Json($$"""{"targetRepo":"{{Repo}}","dockerRepository":"obstacle/migrated"}""")))
        {
            var body = await migrate.Content.ReadAsStringAsync();
            Assert.True(migrate.StatusCode == HttpStatusCode.OK, $"{migrate.StatusCode} {body}");
            var report = JsonDocument.Parse(body).RootElement;
            Assert.Equal(["1"], report.GetProperty("failed").EnumerateArray().Select(f => f.GetProperty("tag").GetString()));
            Assert.Equal(["2"], report.GetProperty("migrated").EnumerateArray().Select(f => f.GetProperty("tag").GetString()));
        }

        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"{Base}obstacle/migrated/manifests/2")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"{Base}obstacle/migrated/manifests/1")).StatusCode);
        server.Logs.AssertNoServerErrors(mark);
    }

    /// <summary>An uploaded blob's entry, the one kind of V2 file a copy may give any name.</summary>
    private static async Task<(string Path, string Digest)> UploadedFileAsync(HttpClient admin, string image)
    {
        var digest = await V2Push.PushBlobAsync(admin, Repo, image, RandomNumberGenerator.GetBytes(500));
        return ($"{image}/_uploads/sha256__{digest[7..]}", digest);
    }

    private static async Task CopyAsync(HttpClient admin, (string Path, string Digest) source, string to)
    {
        using var copy = await admin.PostAsync($"/api/copy/{Repo}/{source.Path}?to=/{Repo}/{to}", null);
        Assert.True(copy.StatusCode == HttpStatusCode.OK, $"copy to {to}: {copy.StatusCode} {await copy.Content.ReadAsStringAsync()}");
    }


    /// <summary>The session is still there and holds <paramref name="size"/> bytes.</summary>
    private static async Task AssertSessionSizeAsync(HttpClient admin, string location, long size)
    {
        using var status = await admin.GetAsync(location);
        Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
        Assert.Equal($"0-{Math.Max(size - 1, 0)}", status.Headers.GetValues("Range").Single());
    }


}
