using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Wharf.Core.Metadata;
using Wharf.Server.Tests.Support;
using static Wharf.Server.Tests.Support.RegistryHttp;

namespace Wharf.Server.Tests;

/// <summary>The V2 rows of the registry auth matrix: each names the exact paths its route touches.</summary>
public sealed partial class RegistryAuthMatrixTests
{
    /// <summary>GET manifests/&lt;tag&gt;</summary>
    private static async Task GetManifestsTagAsync(Case c)
    {
        foreach (var tag in Fixture.AppTags)
        {
            var file = $"team/app/{tag}/manifest.json";
            var may = await c.MayAsync(V2Repo, file, AccessActions.Read);
            await ExpectAsync(c.Client.GetAsync($"{V2}team/app/manifests/{tag}"), may ? HttpStatusCode.OK : HttpStatusCode.NotFound);
            await ExpectAsync(c.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"{V2}team/app/manifests/{tag}")), may ? HttpStatusCode.OK : HttpStatusCode.NotFound);

            // The oracle agrees with the storage API's own download.
            if (c.Basic)
            {
                await ExpectAsync(c.Client.GetAsync($"/artifactory/{V2Repo}/{file}"), may ? HttpStatusCode.OK : HttpStatusCode.NotFound);
            }
        }
    }

    /// <summary>GET manifests/&lt;digest&gt;</summary>
    private static async Task GetManifestsDigestAsync(Case c)
    {
        foreach (var tag in Fixture.AppTags)
        {
            var may = await c.MayAsync(V2Repo, $"team/app/{tag}/manifest.json", AccessActions.Read);
            await ExpectAsync(c.Client.GetAsync($"{V2}team/app/manifests/{c.Data.App[tag].Digest}"), may ? HttpStatusCode.OK : HttpStatusCode.NotFound);
        }
    }

    /// <summary>GET blobs/&lt;digest&gt;</summary>
    private static async Task GetBlobsDigestAsync(Case c)
    {
        foreach (var tag in Fixture.AppTags)
        {
            var layer = c.Data.App[tag].LayerDigest;
            // The fixture keeps 2.0's layer only in its tag folder.
            var places = tag == "2.0" ? [$"team/app/{tag}/sha256__{layer[7..]}"] : new[] { $"team/app/{tag}/sha256__{layer[7..]}", $"team/app/_uploads/sha256__{layer[7..]}" };
            var may = await c.MayAnyAsync(V2Repo, places, AccessActions.Read);
            await ExpectAsync(c.Client.GetAsync($"{V2}team/app/blobs/{layer}"), may ? HttpStatusCode.OK : HttpStatusCode.NotFound);
        }
    }

    /// <summary>GET tags/list</summary>
    private static async Task GetTagsListAsync(Case c)
    {
        var expected = new List<string>();
        foreach (var tag in Fixture.AppTags.Order(StringComparer.Ordinal))
        {
            if (await c.MayAsync(V2Repo, $"team/app/{tag}/manifest.json", AccessActions.Read))
            {
                expected.Add(tag);
            }
        }

        using var response = await c.Client.GetAsync($"{V2}team/app/tags/list");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(expected, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
    }

    /// <summary>GET _catalog</summary>
    private static async Task GetCatalogAsync(Case c)
    {
        var expected = new List<string>();
        foreach (var (image, tags) in new[] { ("team/app", Fixture.AppTags), ("team/other", ["1.0"]) })
        {
            if (await c.MayAsync(V2Repo, image, AccessActions.Read) || await c.MayAnyAsync(V2Repo, tags.Select(t => $"{image}/{t}/manifest.json"), AccessActions.Read))
            {
                expected.Add(image);
            }
        }

        using var response = await c.Client.GetAsync($"{V2}_catalog");
        if (!await c.GateAsync(V2Repo, "", AccessActions.Read))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            return;
        }

        var listed = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("repositories").EnumerateArray().Select(r => r.GetString()).ToList();
        Assert.Equal(expected, listed.Where(n => n!.StartsWith("team/", StringComparison.Ordinal)));
    }

    /// <summary>GET referrers/&lt;digest&gt;</summary>
    private static async Task GetReferrersDigestAsync(Case c)
    {
        var may = await c.MayAsync(V2Repo, $"team/app/{c.Data.Referrer}/manifest.json", AccessActions.Read);
        using var response = await c.Client.GetAsync($"{V2}team/app/referrers/{c.Data.App["latest"].Digest}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var listed = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("manifests").GetArrayLength();
        Assert.Equal(may ? 1 : 0, listed);
    }

    /// <summary>PUT manifests/&lt;tag&gt; (same content)</summary>
    private static async Task PutManifestsTagSameContentAsync(Case c)
    {
        foreach (var tag in Fixture.AppTags)
        {
            var image = c.Data.App[tag];
            var may = await c.MayAllAsync(V2Repo, [$"team/app/{tag}/manifest.json", $"team/app/{tag}/sha256__{image.ConfigDigest[7..]}", $"team/app/{tag}/sha256__{image.LayerDigest[7..]}"], AccessActions.Deploy);
            var blobsReadable = await c.MayAnyAsync(V2Repo, tag == "2.0" ? [$"team/app/{tag}/sha256__{image.LayerDigest[7..]}"] : [$"team/app/{tag}/sha256__{image.LayerDigest[7..]}", $"team/app/_uploads/sha256__{image.LayerDigest[7..]}"], AccessActions.Read)
                && await c.MayAnyAsync(V2Repo, [$"team/app/{tag}/sha256__{image.ConfigDigest[7..]}", $"team/app/_uploads/sha256__{image.ConfigDigest[7..]}"], AccessActions.Read);
            await ExpectAsync(V2Push.PutManifestAsync(c.Client, V2Repo, "team/app", tag, image.Manifest), !may ? HttpStatusCode.Forbidden : blobsReadable ? HttpStatusCode.Created : HttpStatusCode.BadRequest);
        }
    }

    /// <summary>PUT manifests/&lt;tag&gt; (replacing it)</summary>
    private static async Task PutManifestsTagReplacingItAsync(Case c)
    {
        foreach (var tag in Fixture.AppTags)
        {
            // Replace with another tag's manifest whose blobs the caller may read somewhere in the image.
            var other = c.Data.App[tag == "1.0" ? "latest" : "1.0"];
            var blobsReadable = await c.MayAnyAsync(V2Repo, [$"team/app/_uploads/sha256__{other.LayerDigest[7..]}", $"team/app/{(tag == "1.0" ? "latest" : "1.0")}/sha256__{other.LayerDigest[7..]}"], AccessActions.Read)
                && await c.MayAnyAsync(V2Repo, [$"team/app/_uploads/sha256__{other.ConfigDigest[7..]}", $"team/app/{(tag == "1.0" ? "latest" : "1.0")}/sha256__{other.ConfigDigest[7..]}"], AccessActions.Read);
            var files = new[] { "manifest.json", $"sha256__{other.ConfigDigest[7..]}", $"sha256__{other.LayerDigest[7..]}" }.Select(f => $"team/app/{tag}/{f}");
            var existing = new[] { "manifest.json", $"sha256__{c.Data.App[tag].ConfigDigest[7..]}", $"sha256__{c.Data.App[tag].LayerDigest[7..]}" }.Select(f => $"team/app/{tag}/{f}");
            var deploy = await c.MayAllAsync(V2Repo, files, AccessActions.Deploy);
            var expected = !deploy ? HttpStatusCode.Forbidden
                : !blobsReadable ? HttpStatusCode.BadRequest
                : await c.MayAllAsync(V2Repo, existing, AccessActions.Delete) ? HttpStatusCode.Created : HttpStatusCode.Forbidden;
            await ExpectAsync(V2Push.PutManifestAsync(c.Client, V2Repo, "team/app", tag, other.Manifest), expected);
            await c.Data.RestoreV2Async(c.Admin);
        }
    }

    /// <summary>DELETE manifests/&lt;tag&gt;</summary>
    private static Task DeleteManifestsTagAsync(Case c) => DeleteManifestsAsync(c, tag => tag);

    /// <summary>DELETE manifests/&lt;digest&gt;</summary>
    private static Task DeleteManifestsDigestAsync(Case c) => DeleteManifestsAsync(c, tag => c.Data.App[tag].Digest);

    /// <summary>Deletes each tag's manifest by the reference given: not found unless readable, denied unless every file of the tag folder may be deleted.</summary>
    private static async Task DeleteManifestsAsync(Case c, Func<string, string> reference)
    {
        foreach (var tag in Fixture.AppTags)
        {
            var files = new[] { "manifest.json", $"sha256__{c.Data.App[tag].ConfigDigest[7..]}", $"sha256__{c.Data.App[tag].LayerDigest[7..]}" }.Select(f => $"team/app/{tag}/{f}").ToList();
            var expected = !await c.MayAsync(V2Repo, files[0], AccessActions.Read) ? HttpStatusCode.NotFound
                : await c.MayAllAsync(V2Repo, files, AccessActions.Delete) ? HttpStatusCode.Accepted : HttpStatusCode.Forbidden;
            await ExpectAsync(c.Client.DeleteAsync($"{V2}team/app/manifests/{reference(tag)}"), await c.GateAsync(V2Repo, "team/app", AccessActions.Delete) ? expected : HttpStatusCode.Forbidden);
            await c.Data.RestoreV2Async(c.Admin);
        }
    }

    /// <summary>POST blobs/uploads/ (session)</summary>
    private static async Task PostBlobsUploadsSessionAsync(Case c)
    {
        var expected = await c.GateAsync(V2Repo, "team/app", AccessActions.Deploy) && await c.MayAsync(V2Repo, "team/app/_uploads", AccessActions.Deploy) ? HttpStatusCode.Accepted : HttpStatusCode.Forbidden;
        await ExpectAsync(c.Client.PostAsync($"{V2}team/app/blobs/uploads/", null), expected);
    }

    /// <summary>POST blobs/uploads/?digest=</summary>
    private static async Task PostBlobsUploadsDigestAsync(Case c)
    {
        var blob = RandomNumberGenerator.GetBytes(64);
        var expected = await c.GateAsync(V2Repo, "team/app", AccessActions.Deploy) && await c.MayAsync(V2Repo, $"team/app/_uploads/sha256__{V2Push.Digest(blob)[7..]}", AccessActions.Deploy) ? HttpStatusCode.Created : HttpStatusCode.Forbidden;
        await ExpectAsync(V2Push.PostBlobAsync(c.Client, V2Repo, "team/app", blob), expected);
    }

    /// <summary>POST blobs/uploads/?mount=&amp;from=</summary>
    private static async Task PostBlobsUploadsMountFromAsync(Case c)
    {
        var layer = c.Data.Other.LayerDigest;
        var expected = !await c.GateAsync(V2Repo, "team/app", AccessActions.Deploy) || !await c.MayAsync(V2Repo, $"team/app/_uploads/sha256__{layer[7..]}", AccessActions.Deploy) ? HttpStatusCode.Forbidden
            : await c.MayAnyAsync(V2Repo, [$"team/other/1.0/sha256__{layer[7..]}", $"team/other/_uploads/sha256__{layer[7..]}"], AccessActions.Read) ? HttpStatusCode.Created
            : await c.MayAsync(V2Repo, "team/app/_uploads", AccessActions.Deploy) ? HttpStatusCode.Accepted : HttpStatusCode.Forbidden;
        await ExpectAsync(c.Client.PostAsync($"{V2}team/app/blobs/uploads/?mount={layer}&from=team/other", null), expected);
        await c.Data.RestoreV2Async(c.Admin);
    }

    /// <summary>PATCH, GET, PUT, DELETE blobs/uploads/&lt;id&gt;</summary>
    private static async Task UploadSessionRoutesAsync(Case c)
    {
        var may = await c.GateAsync(V2Repo, "team/app", AccessActions.Deploy) && await c.MayAsync(V2Repo, "team/app/_uploads", AccessActions.Deploy);
        var chunk = RandomNumberGenerator.GetBytes(32);
        var location = await Fixture.StartUploadAsync(c.Admin);
        var patch = new ByteArrayContent(chunk);
        patch.Headers.TryAddWithoutValidation("Content-Range", $"0-{chunk.Length - 1}");
        await ExpectAsync(c.Client.PatchAsync(location, patch), may ? HttpStatusCode.Accepted : HttpStatusCode.Forbidden);
        await ExpectAsync(c.Client.GetAsync(location), may ? HttpStatusCode.NoContent : HttpStatusCode.Forbidden);
        var digest = may ? V2Push.Digest(chunk) : V2Push.Digest([]);
        var complete = may && await c.MayAsync(V2Repo, $"team/app/_uploads/sha256__{digest[7..]}", AccessActions.Deploy);
        await ExpectAsync(c.Client.PutAsync($"{location}?digest={digest}", null), complete ? HttpStatusCode.Created : HttpStatusCode.Forbidden);
        await ExpectAsync(c.Client.DeleteAsync(await Fixture.StartUploadAsync(c.Admin)), may ? HttpStatusCode.NoContent : HttpStatusCode.Forbidden);
    }

    /// <summary>DELETE blobs/&lt;digest&gt;</summary>
    private static async Task DeleteBlobsDigestAsync(Case c)
    {
        var loose = c.Data.Loose;
        var path = $"team/app/_uploads/sha256__{V2Push.Digest(loose)[7..]}";
        var expected = !await c.GateAsync(V2Repo, "team/app", AccessActions.Delete) ? HttpStatusCode.Forbidden
            : !await c.MayAsync(V2Repo, path, AccessActions.Read) ? HttpStatusCode.NotFound
            : await c.MayAsync(V2Repo, path, AccessActions.Delete) ? HttpStatusCode.Accepted : HttpStatusCode.Forbidden;
        await ExpectAsync(c.Client.DeleteAsync($"{V2}team/app/blobs/{V2Push.Digest(loose)}"), expected);
        await c.Data.RestoreV2Async(c.Admin);
    }

    /// <summary>POST promote (V2)</summary>
    private static async Task PostPromoteV2Async(Case c)
    {
        foreach (var tag in Fixture.AppTags)
        {
            var image = c.Data.App[tag];
            var files = new[] { "manifest.json", $"sha256__{image.ConfigDigest[7..]}", $"sha256__{image.LayerDigest[7..]}" };
            var readable = await c.MayAllAsync(V2Repo, files.Select(f => $"team/app/{tag}/{f}"), AccessActions.Read);
            var deploy = await c.MayAllAsync(V2Repo, files.Select(f => $"team/copy/{tag}/{f}"), AccessActions.Deploy);
            await ExpectAsync(
                c.Client.PostAsync($"/api/docker/{V2Repo}/v2/promote", Json($$"""{"targetRepo":"{{V2Repo}}","dockerRepository":"team/app","targetDockerRepository":"team/copy","tag":"{{tag}}","copy":true}""")),
                !await c.MayAsync(V2Repo, $"team/app/{tag}/manifest.json", AccessActions.Read) ? HttpStatusCode.NotFound : readable && deploy ? HttpStatusCode.OK : HttpStatusCode.Forbidden);
            await c.Admin.DeleteAsync($"/artifactory/{V2Repo}/team/copy");
        }
    }
}
