using System.Net;
using System.Text.Json;
using Wharf.Server.Tests.Support;
using static Wharf.Server.Tests.Support.RegistryHttp;

namespace Wharf.Server.Tests;

/// <summary>
/// V2 image names and tags name folders of the tree, so none of their components may be a file
/// name of the V2 tree (<c>manifest.json</c>, <c>list.manifest.json</c>, <c>sha256__…</c>,
/// <c>sha512__…</c>): such a folder would run through the files of another image's tag (the image
/// <c>team/app/latest/manifest.json</c> through <c>team/app:latest</c>'s manifest). Every route that
/// takes a name refuses them the way it refuses any name outside the grammar, and nothing answers 5xx.
/// </summary>
public sealed class V2TreeNameTests(WharfServer server) : IClassFixture<WharfServer>
{
    private const string Repo = "docker-v2-local";
    private const string Base = "/artifactory/api/docker/" + Repo + "/v2/";

    /// <summary>Names whose components collide with the files of <c>names/app:latest</c> (or would with some tag's).</summary>
    private static IEnumerable<string> TreeFileNames(PushedImage image) =>
    [
        "names/app/latest/manifest.json",
        "names/app/latest/list.manifest.json",
        $"names/app/latest/sha256__{image.LayerDigest[7..]}",
        $"names/app/latest/sha256__{image.ConfigDigest[7..]}/deeper",
        "names/app/latest/sha512__" + new string('a', 128),
        "manifest.json",
        "names/manifest.json/app",
    ];

    [Fact]
    public async Task V2_routes_answer_NAME_INVALID_for_image_names_with_a_tree_file_name_component()
    {
        using var admin = server.Admin();
        var mark = server.Logs.Mark;
        var image = await V2Push.PushImageAsync(admin, Repo, "names/app", "latest");
        var blob = "another blob"u8.ToArray();
        foreach (var name in TreeFileNames(image))
        {
            await AssertNameInvalidAsync(await admin.PostAsync($"{Base}{name}/blobs/uploads/?digest={V2Push.Digest(blob)}", new ByteArrayContent(blob)), name);
            await AssertNameInvalidAsync(await admin.PostAsync($"{Base}{name}/blobs/uploads/", null), name);
            await AssertNameInvalidAsync(await admin.PostAsync($"{Base}{name}/blobs/uploads/?mount={image.LayerDigest}&from=names/app", null), name);
            await AssertNameInvalidAsync(await V2Push.PutManifestAsync(admin, Repo, name, "1.0", image.Manifest), name);
            await AssertNameInvalidAsync(await admin.GetAsync($"{Base}{name}/tags/list"), name);
        }

        // A session started under a valid name completes there; the image it names is unchanged.
        Assert.Equal(image.Layer, await admin.GetByteArrayAsync($"{Base}names/app/blobs/{image.LayerDigest}"));
        Assert.Equal(image.Manifest, await admin.GetByteArrayAsync($"{Base}names/app/manifests/latest"));
        server.Logs.AssertNoServerErrors(mark);
    }

    [Fact]
    public async Task Tags_named_like_tree_files_are_refused_so_no_push_runs_through_another_tags_files()
    {
        using var admin = server.Admin();
        var mark = server.Logs.Mark;
        var image = await V2Push.PushImageAsync(admin, Repo, "names/tagged", "latest");

        // names/tagged/latest is a valid image; these tags would be folders named like latest's files.
        var config = "{\"architecture\":\"amd64\",\"os\":\"linux\"}"u8.ToArray();
        await V2Push.PushBlobAsync(admin, Repo, "names/tagged/latest", config);
        await V2Push.PushBlobAsync(admin, Repo, "names/tagged/latest", image.Layer);
        var manifest = V2Push.ImageManifest(config, [image.Layer]);
        foreach (var tag in new[] { "manifest.json", "list.manifest.json", $"sha256__{image.LayerDigest[7..]}", "sha512__" + new string('b', 120) })
        {
            using (var put = await V2Push.PutManifestAsync(admin, Repo, "names/tagged/latest", tag, manifest))
            {
                var body = await put.Content.ReadAsStringAsync();
                Assert.True(put.StatusCode == HttpStatusCode.BadRequest, $"{tag}: {put.StatusCode} {body}");
                Assert.Equal("MANIFEST_INVALID", JsonDocument.Parse(body).RootElement.GetProperty("errors")[0].GetProperty("code").GetString());
            }

            Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"{Base}names/tagged/latest/manifests/{tag}")).StatusCode);
        }

        Assert.Equal(image.Manifest, await admin.GetByteArrayAsync($"{Base}names/tagged/manifests/latest"));
        server.Logs.AssertNoServerErrors(mark);
    }

    [Fact]
    public async Task Promote_copy_and_move_answer_400_for_tree_file_names_and_change_nothing()
    {
        using var admin = server.Admin();
        var mark = server.Logs.Mark;
        var image = await V2Push.PushImageAsync(admin, Repo, "names/source", "latest");
        var before = await TreeAsync(admin, Repo);
        foreach (var name in TreeFileNames(image).Select(n => n.Replace("names/app", "names/source", StringComparison.Ordinal)))
        {
            foreach (var copy in new[] { true, false })
            {
                using var promote = await admin.PostAsync($"/api/docker/{Repo}/v2/promote", Json($$"""{"targetRepo":"{{Repo}}","dockerRepository":"names/source","targetDockerRepository":"{{name}}","tag":"latest","copy":{{(copy ? "true" : "false")}}}"""));
                Assert.True(promote.StatusCode == HttpStatusCode.BadRequest, $"promote to {name}: {promote.StatusCode} {await promote.Content.ReadAsStringAsync()}");
            }

            foreach (var verb in new[] { "copy", "move" })
            {
                // Into a fresh folder (no file in the way): refused for its name alone.
                var fresh = name.Replace("names/source", "names/fresh", StringComparison.Ordinal);
                using var response = await admin.PostAsync($"/api/{verb}/{Repo}/names/source/latest?to=/{Repo}/{fresh}/1.0", null);
                var body = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{verb} to {fresh}/1.0: {response.StatusCode} {body}");
                Assert.Contains("push", body, StringComparison.Ordinal);
            }
        }

        using (var promoteTag = await admin.PostAsync($"/api/docker/{Repo}/v2/promote", Json($$"""{"targetRepo":"{{Repo}}","dockerRepository":"names/source","targetDockerRepository":"names/source/latest","tag":"latest","targetTag":"manifest.json","copy":true}""")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, promoteTag.StatusCode);
        }

        using (var copyTag = await admin.PostAsync($"/api/copy/{Repo}/names/source/latest?to=/{Repo}/names/other/manifest.json", null))
        {
            Assert.Equal(HttpStatusCode.BadRequest, copyTag.StatusCode);
        }

        Assert.Equal(before, await TreeAsync(admin, Repo));
        server.Logs.AssertNoServerErrors(mark);
    }

    /// <summary>
    /// A V1 repository name may hold <c>manifest.json</c> (the V1 tree has no such file); migrated,
    /// it would be a V2 image running through the manifest of a V2 tag. It fails alone, as any name
    /// outside the V2 grammar does; the other tags of the request migrate.
    /// </summary>
    [Fact]
    public async Task Migration_reports_a_v1_name_with_a_tree_file_name_component_as_failed()
    {
        using var admin = server.Admin();
        var mark = server.Logs.Mark;
        await V2Push.PushImageAsync(admin, Repo, "mig/app", "1");
        await PushV1TagAsync(admin, "mig/app/1/manifest.json", "x");
        await PushV1TagAsync(admin, "mig/plain", "x");
        foreach (var name in new[] { "mig/app/1/manifest.json", "mig/plain" })
        {
            using var migrate = await admin.PostAsync("/api/docker/docker-local/v1/migrate", Json($$"""{"targetRepo":"{{Repo}}","dockerRepository":"{{name}}"}"""));
            var body = await migrate.Content.ReadAsStringAsync();
            Assert.True(migrate.StatusCode == HttpStatusCode.OK, $"{name}: {migrate.StatusCode} {body}");
            var report = JsonDocument.Parse(body).RootElement;
            Assert.Equal(name == "mig/plain" ? 0 : 1, report.GetProperty("failed").GetArrayLength());
            Assert.Equal(name == "mig/plain" ? 1 : 0, report.GetProperty("migrated").GetArrayLength());
        }

        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"{Base}mig/plain/manifests/x")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"{Base}mig/app/manifests/1")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/api/storage/{Repo}/mig/app/1/manifest.json/x")).StatusCode);
        server.Logs.AssertNoServerErrors(mark);
    }


    private static async Task PushV1TagAsync(HttpClient admin, string name, string tag)
    {
        var image = TestImage.Chain(DockerVersion.V1_12, 1)[0];
        await V1ConformanceTests.PushImageAsync(admin, image);
        using var put = await admin.PutAsync($"/v1/repositories/{name}/tags/{tag}", Json($"\"{image.Id}\""));
        Assert.True(put.StatusCode == HttpStatusCode.OK, $"V1 tag {name}:{tag}: {put.StatusCode} {await put.Content.ReadAsStringAsync()}");
    }


}
