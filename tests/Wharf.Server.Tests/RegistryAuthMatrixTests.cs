using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Wharf.Core.Repositories;
using Wharf.Core.Security;
using Wharf.Server.Tests.Support;
using static Wharf.Server.Tests.RegistryPathAuthTests;

namespace Wharf.Server.Tests;

/// <summary>
/// Every registry route × users limited by one path pattern or one excluded tag, the way docker
/// clients reach it (Basic, and for V2 also a registry token from the token endpoint). Each row
/// names the exact tree paths the route reads or writes; the expected answer follows from what the
/// storage API decides for those paths (the same <see cref="AccessPolicy"/> decision on items,
/// checked against <c>/artifactory/…</c> downloads where the files exist). Rows that change
/// something are undone by an administrator after each case.
/// </summary>
public sealed class RegistryAuthMatrixTests(RegistryAuthMatrixTests.Fixture fixture) : IClassFixture<RegistryAuthMatrixTests.Fixture>
{
    private const string V2Repo = "docker-v2-local";
    private const string V1Repo = "docker-local";
    private static readonly string V2 = V2Push.Base(V2Repo);

    public enum User
    {
        /// <summary>r, w, d on <c>**/latest/**</c> only.</summary>
        Latest,

        /// <summary>r, w, d, n on <c>**</c> except <c>team/app/2.0/**</c> and <c>repositories/acme/web/1.0/**</c>.</summary>
        Excluder,

        /// <summary>r, w, d on one tag of each repository: <c>team/app/1.0/**</c> and <c>repositories/acme/web/1.0/**</c>.</summary>
        OneTag,
    }

    public enum Via
    {
        Basic,
        RegistryToken,
    }

    /// <summary>One case: the caller, its client and the storage API's decisions.</summary>
    internal sealed class Case(Fixture fixture, User user, Via via, HttpClient client)
    {
        /// <summary>Whether the client speaks Basic, which the storage API accepts too (registry tokens are for the registry only).</summary>
        public bool Basic => via == Via.Basic;

        public Fixture Data => fixture;

        public HttpClient Client => client;

        public HttpClient Admin { get; } = fixture.Server.Admin();

        /// <summary>The storage API's decision on one item (a file, or a folder as itself).</summary>
        public Task<bool> MayAsync(string repo, string path, AccessActions action) => fixture.MayAsync(user, repo, path, action, item: true);

        /// <summary>Whether the caller holds the action anywhere at or below a folder: the registry's gate.</summary>
        public Task<bool> GateAsync(string repo, string folder, AccessActions action) => fixture.MayAsync(user, repo, folder, action, item: false);

        public async Task<bool> MayAllAsync(string repo, IEnumerable<string> paths, AccessActions action)
        {
            foreach (var path in paths)
            {
                if (!await MayAsync(repo, path, action))
                {
                    return false;
                }
            }

            return true;
        }

        public async Task<bool> MayAnyAsync(string repo, IEnumerable<string> paths, AccessActions action)
        {
            foreach (var path in paths)
            {
                if (await MayAsync(repo, path, action))
                {
                    return true;
                }
            }

            return false;
        }
    }

    private static readonly Dictionary<string, (bool V2, Func<Case, Task> Run)> Rows = new(StringComparer.Ordinal)
    {
        // ------------------------------------------------------------ V2 reads
        ["GET manifests/<tag>"] = (true, async c =>
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
        }),
        ["GET manifests/<digest>"] = (true, async c =>
        {
            foreach (var tag in Fixture.AppTags)
            {
                var may = await c.MayAsync(V2Repo, $"team/app/{tag}/manifest.json", AccessActions.Read);
                await ExpectAsync(c.Client.GetAsync($"{V2}team/app/manifests/{c.Data.App[tag].Digest}"), may ? HttpStatusCode.OK : HttpStatusCode.NotFound);
            }
        }),
        ["GET blobs/<digest>"] = (true, async c =>
        {
            foreach (var tag in Fixture.AppTags)
            {
                var layer = c.Data.App[tag].LayerDigest;
                // The fixture keeps 2.0's layer only in its tag folder.
                var places = tag == "2.0" ? [$"team/app/{tag}/sha256__{layer[7..]}"] : new[] { $"team/app/{tag}/sha256__{layer[7..]}", $"team/app/_uploads/sha256__{layer[7..]}" };
                var may = await c.MayAnyAsync(V2Repo, places, AccessActions.Read);
                await ExpectAsync(c.Client.GetAsync($"{V2}team/app/blobs/{layer}"), may ? HttpStatusCode.OK : HttpStatusCode.NotFound);
            }
        }),
        ["GET tags/list"] = (true, async c =>
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
        }),
        ["GET _catalog"] = (true, async c =>
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
        }),
        ["GET referrers/<digest>"] = (true, async c =>
        {
            var may = await c.MayAsync(V2Repo, $"team/app/{c.Data.Referrer}/manifest.json", AccessActions.Read);
            using var response = await c.Client.GetAsync($"{V2}team/app/referrers/{c.Data.App["latest"].Digest}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var listed = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("manifests").GetArrayLength();
            Assert.Equal(may ? 1 : 0, listed);
        }),

        // ------------------------------------------------------------ V2 writes
        ["PUT manifests/<tag> (same content)"] = (true, async c =>
        {
            foreach (var tag in Fixture.AppTags)
            {
                var image = c.Data.App[tag];
                var may = await c.MayAllAsync(V2Repo, [$"team/app/{tag}/manifest.json", $"team/app/{tag}/sha256__{image.ConfigDigest[7..]}", $"team/app/{tag}/sha256__{image.LayerDigest[7..]}"], AccessActions.Deploy);
                var blobsReadable = await c.MayAnyAsync(V2Repo, tag == "2.0" ? [$"team/app/{tag}/sha256__{image.LayerDigest[7..]}"] : [$"team/app/{tag}/sha256__{image.LayerDigest[7..]}", $"team/app/_uploads/sha256__{image.LayerDigest[7..]}"], AccessActions.Read)
                    && await c.MayAnyAsync(V2Repo, [$"team/app/{tag}/sha256__{image.ConfigDigest[7..]}", $"team/app/_uploads/sha256__{image.ConfigDigest[7..]}"], AccessActions.Read);
                await ExpectAsync(V2Push.PutManifestAsync(c.Client, V2Repo, "team/app", tag, image.Manifest), !may ? HttpStatusCode.Forbidden : blobsReadable ? HttpStatusCode.Created : HttpStatusCode.BadRequest);
            }
        }),
        ["PUT manifests/<tag> (replacing it)"] = (true, async c =>
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
        }),
        ["DELETE manifests/<tag>"] = (true, async c =>
        {
            foreach (var tag in Fixture.AppTags)
            {
                var files = new[] { "manifest.json", $"sha256__{c.Data.App[tag].ConfigDigest[7..]}", $"sha256__{c.Data.App[tag].LayerDigest[7..]}" }.Select(f => $"team/app/{tag}/{f}").ToList();
                var expected = !await c.MayAsync(V2Repo, files[0], AccessActions.Read) ? HttpStatusCode.NotFound
                    : await c.MayAllAsync(V2Repo, files, AccessActions.Delete) ? HttpStatusCode.Accepted : HttpStatusCode.Forbidden;
                await ExpectAsync(c.Client.DeleteAsync($"{V2}team/app/manifests/{tag}"), await c.GateAsync(V2Repo, "team/app", AccessActions.Delete) ? expected : HttpStatusCode.Forbidden);
                await c.Data.RestoreV2Async(c.Admin);
            }
        }),
        ["DELETE manifests/<digest>"] = (true, async c =>
        {
            foreach (var tag in Fixture.AppTags)
            {
                var files = new[] { "manifest.json", $"sha256__{c.Data.App[tag].ConfigDigest[7..]}", $"sha256__{c.Data.App[tag].LayerDigest[7..]}" }.Select(f => $"team/app/{tag}/{f}").ToList();
                var expected = !await c.MayAsync(V2Repo, files[0], AccessActions.Read) ? HttpStatusCode.NotFound
                    : await c.MayAllAsync(V2Repo, files, AccessActions.Delete) ? HttpStatusCode.Accepted : HttpStatusCode.Forbidden;
                await ExpectAsync(c.Client.DeleteAsync($"{V2}team/app/manifests/{c.Data.App[tag].Digest}"), await c.GateAsync(V2Repo, "team/app", AccessActions.Delete) ? expected : HttpStatusCode.Forbidden);
                await c.Data.RestoreV2Async(c.Admin);
            }
        }),
        ["POST blobs/uploads/ (session)"] = (true, async c =>
        {
            var expected = await c.GateAsync(V2Repo, "team/app", AccessActions.Deploy) && await c.MayAsync(V2Repo, "team/app/_uploads", AccessActions.Deploy) ? HttpStatusCode.Accepted : HttpStatusCode.Forbidden;
            await ExpectAsync(c.Client.PostAsync($"{V2}team/app/blobs/uploads/", null), expected);
        }),
        ["POST blobs/uploads/?digest="] = (true, async c =>
        {
            var blob = RandomNumberGenerator.GetBytes(64);
            var expected = await c.GateAsync(V2Repo, "team/app", AccessActions.Deploy) && await c.MayAsync(V2Repo, $"team/app/_uploads/sha256__{V2Push.Digest(blob)[7..]}", AccessActions.Deploy) ? HttpStatusCode.Created : HttpStatusCode.Forbidden;
            await ExpectAsync(V2Push.PostBlobAsync(c.Client, V2Repo, "team/app", blob), expected);
        }),
        ["POST blobs/uploads/?mount=&from="] = (true, async c =>
        {
            var layer = c.Data.Other.LayerDigest;
            var expected = !await c.GateAsync(V2Repo, "team/app", AccessActions.Deploy) || !await c.MayAsync(V2Repo, $"team/app/_uploads/sha256__{layer[7..]}", AccessActions.Deploy) ? HttpStatusCode.Forbidden
                : await c.MayAnyAsync(V2Repo, [$"team/other/1.0/sha256__{layer[7..]}", $"team/other/_uploads/sha256__{layer[7..]}"], AccessActions.Read) ? HttpStatusCode.Created
                : await c.MayAsync(V2Repo, "team/app/_uploads", AccessActions.Deploy) ? HttpStatusCode.Accepted : HttpStatusCode.Forbidden;
            await ExpectAsync(c.Client.PostAsync($"{V2}team/app/blobs/uploads/?mount={layer}&from=team/other", null), expected);
            await c.Data.RestoreV2Async(c.Admin);
        }),
        ["PATCH, GET, PUT, DELETE blobs/uploads/<id>"] = (true, async c =>
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
        }),
        ["DELETE blobs/<digest>"] = (true, async c =>
        {
            var loose = c.Data.Loose;
            var path = $"team/app/_uploads/sha256__{V2Push.Digest(loose)[7..]}";
            var expected = !await c.GateAsync(V2Repo, "team/app", AccessActions.Delete) ? HttpStatusCode.Forbidden
                : !await c.MayAsync(V2Repo, path, AccessActions.Read) ? HttpStatusCode.NotFound
                : await c.MayAsync(V2Repo, path, AccessActions.Delete) ? HttpStatusCode.Accepted : HttpStatusCode.Forbidden;
            await ExpectAsync(c.Client.DeleteAsync($"{V2}team/app/blobs/{V2Push.Digest(loose)}"), expected);
            await c.Data.RestoreV2Async(c.Admin);
        }),

        // ------------------------------------------------------------ V1
        ["GET /v1/repositories/<name>/tags"] = (false, async c =>
        {
            var expected = new List<string>();
            foreach (var tag in Fixture.WebTags)
            {
                if (await c.MayAsync(V1Repo, $"repositories/acme/web/{tag}/tag.json", AccessActions.Read))
                {
                    expected.Add(tag);
                }
            }

            using var response = await c.Client.GetAsync("/v1/repositories/acme/web/tags");
            if (!await c.GateAsync(V1Repo, "repositories/acme/web", AccessActions.Read))
            {
                Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
                return;
            }

            Assert.Equal(expected.Order(StringComparer.Ordinal), JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        }),
        ["GET /v1/repositories/<name>/tags/<tag>[/json]"] = (false, async c =>
        {
            foreach (var tag in Fixture.WebTags)
            {
                var file = $"repositories/acme/web/{tag}/tag.json";
                var may = await c.MayAsync(V1Repo, file, AccessActions.Read);
                await ExpectAsync(c.Client.GetAsync($"/v1/repositories/acme/web/tags/{tag}"), may ? HttpStatusCode.OK : HttpStatusCode.NotFound);
                await ExpectAsync(c.Client.GetAsync($"/v1/repositories/acme/web/tags/{tag}/json"), may ? HttpStatusCode.OK : HttpStatusCode.NotFound);
                await ExpectAsync(c.Client.GetAsync($"/artifactory/{V1Repo}/{file}"), may ? HttpStatusCode.OK : HttpStatusCode.NotFound);
            }
        }),
        ["PUT /v1/repositories/<name>/tags/<tag>"] = (false, async c =>
        {
            foreach (var tag in Fixture.WebTags)
            {
                var file = $"repositories/acme/web/{tag}/tag.json";
                var current = c.Data.WebTag(tag);
                var other = c.Data.WebTag(tag == "latest" ? "1.0" : "latest");
                var gate = await c.GateAsync(V1Repo, "repositories/acme/web", AccessActions.Deploy);
                var deploy = gate && await c.MayAsync(V1Repo, file, AccessActions.Deploy);
                var chainReadable = await c.MayAllAsync(V1Repo, Fixture.ChainFiles(other), AccessActions.Read);
                var sameReadable = await c.MayAllAsync(V1Repo, Fixture.ChainFiles(current), AccessActions.Read);
                await ExpectAsync(c.Client.PutAsync($"/v1/repositories/acme/web/tags/{tag}", Json($"\"{current[^1].Id}\"")), deploy && sameReadable ? HttpStatusCode.OK : HttpStatusCode.Forbidden);
                var retarget = deploy && chainReadable && await c.MayAsync(V1Repo, file, AccessActions.Delete);
                await ExpectAsync(c.Client.PutAsync($"/v1/repositories/acme/web/tags/{tag}", Json($"\"{other[^1].Id}\"")), retarget ? HttpStatusCode.OK : HttpStatusCode.Forbidden);
                await c.Data.RestoreV1Async(c.Admin);
            }
        }),
        ["DELETE /v1/repositories/<name>/tags/<tag>"] = (false, async c =>
        {
            foreach (var tag in Fixture.WebTags)
            {
                var file = $"repositories/acme/web/{tag}/tag.json";
                var expected = !await c.GateAsync(V1Repo, "repositories/acme/web", AccessActions.Delete) ? HttpStatusCode.Forbidden
                    : !await c.MayAsync(V1Repo, file, AccessActions.Read) ? HttpStatusCode.NotFound
                    : await c.MayAsync(V1Repo, file, AccessActions.Delete) ? HttpStatusCode.OK : HttpStatusCode.Forbidden;
                await ExpectAsync(c.Client.DeleteAsync($"/v1/repositories/acme/web/tags/{tag}"), expected);
                await c.Data.RestoreV1Async(c.Admin);
            }
        }),
        ["DELETE /v1/repositories/<name>/"] = (false, async c =>
        {
            var files = Fixture.WebTags.Select(t => $"repositories/acme/web/{t}/tag.json").Append("repositories/acme/web/_index_images.json");
            var expected = await c.GateAsync(V1Repo, "repositories/acme/web", AccessActions.Delete) && await c.MayAllAsync(V1Repo, files, AccessActions.Delete) ? HttpStatusCode.OK : HttpStatusCode.Forbidden;
            await ExpectAsync(c.Client.DeleteAsync("/v1/repositories/acme/web/"), expected);
            await c.Data.RestoreV1Async(c.Admin);
        }),
        ["GET /v1/images/<id>/json|layer|ancestry"] = (false, async c =>
        {
            foreach (var image in c.Data.AllImages)
            {
                foreach (var (route, file) in new[] { ("json", "json.json"), ("layer", "layer.tar"), ("ancestry", "ancestry.json") })
                {
                    var may = await c.MayAsync(V1Repo, $".images/{image.Id}/{file}", AccessActions.Read);
                    var gate = await c.GateAsync(V1Repo, $".images/{image.Id}", AccessActions.Read);
                    await ExpectAsync(c.Client.GetAsync($"/v1/images/{image.Id}/{route}"), !gate ? HttpStatusCode.Forbidden : may ? HttpStatusCode.OK : HttpStatusCode.NotFound);
                }
            }
        }),
        ["PUT /v1/images/<id>/json|layer|checksum"] = (false, async c =>
        {
            var image = c.Data.AllImages[0];
            var gate = await c.GateAsync(V1Repo, $".images/{image.Id}", AccessActions.Deploy);
            var json = gate && await c.MayAsync(V1Repo, $".images/{image.Id}/json.json", AccessActions.Deploy);
            var layer = gate && await c.MayAsync(V1Repo, $".images/{image.Id}/layer.tar", AccessActions.Deploy);
            var all = gate && await c.MayAllAsync(V1Repo, new[] { "json.json", "layer.tar", "ancestry.json", "_checksum.json" }.Select(f => $".images/{image.Id}/{f}"), AccessActions.Deploy);

            // The image is complete: a permitted write is refused as a conflict, never silently taken.
            await ExpectAsync(c.Client.PutAsync($"/v1/images/{image.Id}/json", new ByteArrayContent(image.Json)), json ? HttpStatusCode.Conflict : HttpStatusCode.Forbidden);
            await ExpectAsync(c.Client.PutAsync($"/v1/images/{image.Id}/layer", new ByteArrayContent(image.Layer)), layer ? HttpStatusCode.Conflict : HttpStatusCode.Forbidden);
            var checksum = new HttpRequestMessage(HttpMethod.Put, $"/v1/images/{image.Id}/checksum");
            checksum.Headers.TryAddWithoutValidation("X-Docker-Checksum-Payload", image.PayloadChecksum);
            await ExpectAsync(c.Client.SendAsync(checksum), all ? HttpStatusCode.Conflict : HttpStatusCode.Forbidden);
        }),
        ["/v1/repositories/<name>/ and /images (index)"] = (false, async c =>
        {
            const string index = "repositories/acme/web/_index_images.json";
            var deploy = await c.GateAsync(V1Repo, "repositories/acme/web", AccessActions.Deploy) && await c.MayAsync(V1Repo, index, AccessActions.Deploy);
            var read = await c.GateAsync(V1Repo, "repositories/acme/web", AccessActions.Read);
            var delete = await c.GateAsync(V1Repo, "repositories/acme/web", AccessActions.Delete) && await c.MayAsync(V1Repo, index, AccessActions.Delete);
            await ExpectAsync(c.Client.PutAsync("/v1/repositories/acme/web/", Json("[]")), deploy ? HttpStatusCode.OK : HttpStatusCode.Forbidden);
            await ExpectAsync(c.Client.PutAsync("/v1/repositories/acme/web/images", Json("[]")), deploy ? HttpStatusCode.NoContent : HttpStatusCode.Forbidden);
            await ExpectAsync(c.Client.GetAsync("/v1/repositories/acme/web/images"), !read ? HttpStatusCode.Forbidden : await c.MayAsync(V1Repo, index, AccessActions.Read) ? HttpStatusCode.OK : HttpStatusCode.NotFound);
            await ExpectAsync(c.Client.DeleteAsync("/v1/repositories/acme/web/images"), delete ? HttpStatusCode.NoContent : HttpStatusCode.Forbidden);
        }),
        ["GET /v1/search"] = (false, async c =>
        {
            var expected = new List<string>();
            foreach (var (name, tags) in new[] { ("acme/web", Fixture.WebTags), ("secret/vault", ["v1"]) })
            {
                var paths = tags.Select(t => $"repositories/{name}/{t}/tag.json").Append($"repositories/{name}/_index_images.json").Append($"repositories/{name}");
                if (await c.MayAnyAsync(V1Repo, paths, AccessActions.Read))
                {
                    expected.Add(name);
                }
            }

            var results = JsonDocument.Parse(await c.Client.GetStringAsync("/v1/search?q=&n=100")).RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("name").GetString());
            Assert.Equal(expected, results.Where(n => n is "acme/web" or "secret/vault"));
        }),
        ["POST promote (V1) and migrate"] = (false, async c =>
        {
            foreach (var tag in Fixture.WebTags)
            {
                var tagReadable = await c.MayAsync(V1Repo, $"repositories/acme/web/{tag}/tag.json", AccessActions.Read);
                var chainReadable = await c.MayAllAsync(V1Repo, Fixture.ChainFiles(c.Data.WebTag(tag)), AccessActions.Read);
                var promote = tagReadable && chainReadable
                    && await c.MayAllAsync(V1Repo, [$"repositories/acme/copy/{tag}/tag.json", "repositories/acme/copy/_index_images.json"], AccessActions.Deploy);
                await ExpectAsync(
                    c.Client.PostAsync($"/api/docker/{V1Repo}/v1/promote", Json($$"""{"targetRepo":"{{V1Repo}}","dockerRepository":"acme/web","targetDockerRepository":"acme/copy","tag":"{{tag}}","copy":true}""")),
                    promote ? HttpStatusCode.OK : HttpStatusCode.Forbidden);
                var migrate = !tagReadable ? HttpStatusCode.NotFound
                    : !chainReadable ? HttpStatusCode.Forbidden
                    : await c.MayAsync(V2Repo, $"acme/web/{tag}/manifest.json", AccessActions.Deploy) ? HttpStatusCode.OK : HttpStatusCode.Forbidden;
                await ExpectAsync(
                    c.Client.PostAsync($"/api/docker/{V1Repo}/v1/migrate", Json($$"""{"targetRepo":"{{V2Repo}}","dockerRepository":"acme/web","tag":"{{tag}}"}""")),
                    migrate);
                await c.Admin.DeleteAsync($"/artifactory/{V1Repo}/repositories/acme/copy");
                await c.Admin.DeleteAsync($"/artifactory/{V2Repo}/acme");
            }
        }),
        ["POST promote (V2)"] = (true, async c =>
        {
            foreach (var tag in Fixture.AppTags)
            {
                var image = c.Data.App[tag];
                var files = new[] { "manifest.json", $"sha256__{image.ConfigDigest[7..]}", $"sha256__{image.LayerDigest[7..]}" };
                var readable = await c.MayAllAsync(V2Repo, files.Select(f => $"team/app/{tag}/{f}"), AccessActions.Read);
                var deploy = await c.MayAllAsync(V2Repo, files.Select(f => $"team/copy/{tag}/{f}"), AccessActions.Deploy);
                await ExpectAsync(
                    c.Client.PostAsync($"/api/docker/{V2Repo}/v2/promote", Json($$"""{"targetRepo":"{{V2Repo}}","dockerRepository":"team/app","targetDockerRepository":"team/copy","tag":"{{tag}}","copy":true}""")),
                    readable && deploy ? HttpStatusCode.OK : HttpStatusCode.Forbidden);
                await c.Admin.DeleteAsync($"/artifactory/{V2Repo}/team/copy");
            }
        }),
    };

    public static TheoryData<string, User, Via> Cases()
    {
        var data = new TheoryData<string, User, Via>();
        foreach (var (row, (v2, _)) in Rows)
        {
            foreach (var user in Enum.GetValues<User>())
            {
                data.Add(row, user, Via.Basic);
                if (v2 && !row.StartsWith("POST promote", StringComparison.Ordinal))
                {
                    data.Add(row, user, Via.RegistryToken);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Each_registry_route_answers_as_the_storage_API_decides(string row, User user, Via via)
    {
        using var client = via == Via.Basic ? fixture.Client(user) : await fixture.TokenClientAsync(user);
        var test = new Case(fixture, user, via, client);
        try
        {
            await Rows[row].Run(test);
        }
        finally
        {
            test.Admin.Dispose();
        }
    }

    private static async Task ExpectAsync(Task<HttpResponseMessage> sending, HttpStatusCode expected)
    {
        using var response = await sending;
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{response.RequestMessage!.Method} {response.RequestMessage.RequestUri!.PathAndQuery}: expected {(int)expected}, got {(int)response.StatusCode} {(body.Length > 300 ? body[..300] : body)}");
    }

    /// <summary>
    /// docker-local (V1): acme/web:latest and acme/web:1.0 (sharing a base), secret/vault:v1.
    /// docker-v2-local: team/app:latest, 1.0, 2.0, team/other:1.0, a referrer of team/app:latest
    /// (by digest) and a loose blob in team/app's uploads.
    /// </summary>
    public sealed class Fixture : IAsyncLifetime
    {
        public static readonly string[] AppTags = ["latest", "1.0", "2.0"];
        public static readonly string[] WebTags = ["latest", "1.0"];

        private readonly Dictionary<string, IReadOnlyList<TestImage>> _web = [];
        private PolicyOracle? _oracle;

        public WharfServer Server { get; } = new();

        public Dictionary<string, PushedImage> App { get; } = [];

        public PushedImage Other { get; private set; } = null!;

        public string Referrer { get; private set; } = "";

        public byte[] Loose { get; } = RandomNumberGenerator.GetBytes(100);

        public IReadOnlyList<TestImage> AllImages { get; private set; } = [];

        public IReadOnlyList<TestImage> WebTag(string tag) => _web[tag];

        /// <summary>Every file of every image folder of a chain, as a tag hands them on.</summary>
        public static IEnumerable<string> ChainFiles(IReadOnlyList<TestImage> chain) =>
            chain.SelectMany(i => new[] { "json.json", "layer.tar", "ancestry.json", "_checksum.json" }.Select(f => $".images/{i.Id}/{f}"));

        public HttpClient Client(User user) => Server.Client(Name(user), Name(user) + "-secret-1");

        /// <summary>A client with a registry token for team/app (pull, push, delete as granted), as docker would hold.</summary>
        public async Task<HttpClient> TokenClientAsync(User user)
        {
            using var login = Client(user);
            var scope = Uri.EscapeDataString("repository:team/app:pull,push,delete repository:team/other:pull");
            var token = JsonDocument.Parse(await login.GetStringAsync($"/artifactory/api/docker/{V2Repo}/v2/token?scope={scope}")).RootElement.GetProperty("token").GetString();
            var client = Server.Client();
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            return client;
        }

        internal Task<bool> MayAsync(User user, string repo, string path, AccessActions action, bool item) => _oracle!.MayAsync(Name(user), repo, path, action, item);

        /// <summary>Starts an upload session of team/app as an administrator; returns its location.</summary>
        public static async Task<string> StartUploadAsync(HttpClient admin)
        {
            using var start = await admin.PostAsync($"{V2}team/app/blobs/uploads/", null);
            Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
            return start.Headers.Location!.ToString();
        }

        public async Task InitializeAsync()
        {
            await Server.InitializeAsync();
            using var admin = Server.Admin();
            using (var docker = new DockerV1Client(Server.BaseAddress, "/v1/", DockerVersion.V1_12, AuthStyle.BasicEverywhere, "admin", WharfServer.AdminPassword))
            {
                _web["latest"] = TestImage.Chain(DockerVersion.V1_12, 2);
                _web["1.0"] = [_web["latest"][0], .. TestImage.Chain(DockerVersion.V1_12, 1, parent: _web["latest"][0])];
                var secret = TestImage.Chain(DockerVersion.V1_12, 1);
                await docker.PushAsync("acme/web", "latest", _web["latest"]);
                await docker.PushAsync("acme/web", "1.0", _web["1.0"]);
                await docker.PushAsync("secret/vault", "v1", secret);
                AllImages = [.. _web["latest"], _web["1.0"][^1], .. secret];
            }

            foreach (var tag in AppTags)
            {
                App[tag] = await V2Push.PushImageAsync(admin, V2Repo, "team/app", tag);
            }

            Other = await V2Push.PushImageAsync(admin, V2Repo, "team/other", "1.0");
            var empty = await V2Push.PushBlobAsync(admin, V2Repo, "team/app", Encoding.UTF8.GetBytes("{}"));
            var signature = Encoding.UTF8.GetBytes($$"""
                {"schemaVersion":2,"mediaType":"{{V2Push.OciManifest}}","artifactType":"application/vnd.example.sig",
                 "config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"{{empty}}","size":2},"layers":[],
                 "subject":{"mediaType":"{{V2Push.OciManifest}}","digest":"{{App["latest"].Digest}}","size":{{App["latest"].Manifest.Length}}} }
                """);
            Referrer = V2Push.Digest(signature);
            using (var put = await V2Push.PutManifestAsync(admin, V2Repo, "team/app", Referrer, signature))
            {
                Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            }

            await RestoreV2Async(admin);

            await CreateUserAsync(admin, User.Latest, """{"repositories":["docker-local","docker-v2-local"],"includesPattern":"**/latest/**","principals":{"users":{"latest":["r","w","d"]}}}""");
            await CreateUserAsync(admin, User.Excluder, """{"repositories":["docker-local","docker-v2-local"],"includesPattern":"**","excludesPattern":"team/app/2.0/**,repositories/acme/web/1.0/**","principals":{"users":{"excluder":["r","w","d","n"]}}}""");
            await CreateUserAsync(admin, User.OneTag, """{"repositories":["docker-local","docker-v2-local"],"includesPattern":"team/app/1.0/**,repositories/acme/web/1.0/**","principals":{"users":{"onetag":["r","w","d"]}}}""");
            _oracle = new PolicyOracle(Server);
        }

        /// <summary>Puts team/app back as the fixture made it: its tags, and the loose blob in its uploads.</summary>
        public async Task RestoreV2Async(HttpClient admin)
        {
            foreach (var tag in AppTags)
            {
                using var put = await V2Push.PutManifestAsync(admin, V2Repo, "team/app", tag, App[tag].Manifest);
                Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            }

            await V2Push.PushBlobAsync(admin, V2Repo, "team/app", Loose);
            await admin.DeleteAsync($"/artifactory/{V2Repo}/team/app/_uploads/sha256__{App["2.0"].LayerDigest[7..]}");
        }

        /// <summary>Puts acme/web's tags and index back.</summary>
        public async Task RestoreV1Async(HttpClient admin)
        {
            foreach (var tag in WebTags)
            {
                using var put = await admin.PutAsync($"/v1/repositories/acme/web/tags/{tag}", Json($"\"{_web[tag][^1].Id}\""));
                Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            }

            using var index = await admin.PutAsync("/v1/repositories/acme/web/", Json(JsonSerializer.Serialize(AllImages.Take(3).Select(i => new { id = i.Id }))));
            Assert.Equal(HttpStatusCode.OK, index.StatusCode);
        }

        private static async Task CreateUserAsync(HttpClient admin, User user, string target)
        {
            var name = Name(user);
            Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync($"/api/security/users/{name}", Json($"{{\"email\":\"{name}@example.com\",\"password\":\"{name}-secret-1\",\"groups\":[]}}"))).StatusCode);
            using var put = await admin.PutAsync($"/api/security/permissions/{name}", Json(target));
            Assert.True(put.StatusCode == HttpStatusCode.OK, await put.Content.ReadAsStringAsync());
        }

        private static string Name(User user) => user.ToString().ToLowerInvariant();

        public Task DisposeAsync() => Server.DisposeAsync();
    }

    /// <summary>The storage API's decision function, asked in process for paths a case has not created yet.</summary>
    private sealed class PolicyOracle(WharfServer server)
    {
        private readonly AccessPolicy _policy = server.Services.GetRequiredService<AccessPolicy>();

        public async Task<bool> MayAsync(string user, string repo, string path, AccessActions action, bool item)
        {
            RepositoryConfig repository;
            await using (var session = await server.Store.OpenAsync(default))
            {
                repository = (await session.Repositories.GetAsync(repo, default))!;
            }

            var principal = new Principal(user, false, []);
            return item
                ? await _policy.AllowsAsync(principal, repository, path, isFolder: false, action, default)
                : await _policy.AllowsAtOrBelowAsync(principal, repository, path, action, default);
        }
    }
}
