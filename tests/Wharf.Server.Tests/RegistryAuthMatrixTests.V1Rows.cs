using System.Net;
using System.Text.Json;
using Wharf.Core.Metadata;
using static Wharf.Server.Tests.Support.RegistryHttp;

namespace Wharf.Server.Tests;

/// <summary>The V1 rows of the registry auth matrix: each names the exact paths its route touches.</summary>
public sealed partial class RegistryAuthMatrixTests
{
    /// <summary>GET /v1/repositories/&lt;name&gt;/tags</summary>
    private static async Task GetV1RepositoriesNameTagsAsync(Case c)
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
    }

    /// <summary>GET /v1/repositories/&lt;name&gt;/tags/&lt;tag&gt;[/json]</summary>
    private static async Task GetV1RepositoriesNameTagsTagJsonAsync(Case c)
    {
        foreach (var tag in Fixture.WebTags)
        {
            var file = $"repositories/acme/web/{tag}/tag.json";
            var may = await c.MayAsync(V1Repo, file, AccessActions.Read);
            await ExpectAsync(c.Client.GetAsync($"/v1/repositories/acme/web/tags/{tag}"), may ? HttpStatusCode.OK : HttpStatusCode.NotFound);
            await ExpectAsync(c.Client.GetAsync($"/v1/repositories/acme/web/tags/{tag}/json"), may ? HttpStatusCode.OK : HttpStatusCode.NotFound);
            await ExpectAsync(c.Client.GetAsync($"/artifactory/{V1Repo}/{file}"), may ? HttpStatusCode.OK : HttpStatusCode.NotFound);
        }
    }

    /// <summary>PUT /v1/repositories/&lt;name&gt;/tags/&lt;tag&gt;</summary>
    private static async Task PutV1RepositoriesNameTagsTagAsync(Case c)
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
    }

    /// <summary>DELETE /v1/repositories/&lt;name&gt;/tags/&lt;tag&gt;</summary>
    private static async Task DeleteV1RepositoriesNameTagsTagAsync(Case c)
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
    }

    /// <summary>DELETE /v1/repositories/&lt;name&gt;/</summary>
    private static async Task DeleteV1RepositoriesNameAsync(Case c)
    {
        var files = Fixture.WebTags.Select(t => $"repositories/acme/web/{t}/tag.json").Append("repositories/acme/web/_index_images.json");
        var expected = await c.GateAsync(V1Repo, "repositories/acme/web", AccessActions.Delete) && await c.MayAllAsync(V1Repo, files, AccessActions.Delete) ? HttpStatusCode.OK : HttpStatusCode.Forbidden;
        await ExpectAsync(c.Client.DeleteAsync("/v1/repositories/acme/web/"), expected);
        await c.Data.RestoreV1Async(c.Admin);
    }

    /// <summary>GET /v1/images/&lt;id&gt;/json|layer|ancestry</summary>
    private static async Task GetV1ImagesIdJsonLayerAncestryAsync(Case c)
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
    }

    /// <summary>PUT /v1/images/&lt;id&gt;/json|layer|checksum</summary>
    private static async Task PutV1ImagesIdJsonLayerChecksumAsync(Case c)
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
    }

    /// <summary>/v1/repositories/&lt;name&gt;/ and /images (index)</summary>
    private static async Task V1RepositoriesNameAndImagesIndexAsync(Case c)
    {
        const string index = "repositories/acme/web/_index_images.json";
        var deploy = await c.GateAsync(V1Repo, "repositories/acme/web", AccessActions.Deploy) && await c.MayAsync(V1Repo, index, AccessActions.Deploy);
        var read = await c.GateAsync(V1Repo, "repositories/acme/web", AccessActions.Read);
        var delete = await c.GateAsync(V1Repo, "repositories/acme/web", AccessActions.Delete) && await c.MayAsync(V1Repo, index, AccessActions.Delete);
        await ExpectAsync(c.Client.PutAsync("/v1/repositories/acme/web/", Json("[]")), deploy ? HttpStatusCode.OK : HttpStatusCode.Forbidden);
        await ExpectAsync(c.Client.PutAsync("/v1/repositories/acme/web/images", Json("[]")), deploy ? HttpStatusCode.NoContent : HttpStatusCode.Forbidden);
        await ExpectAsync(c.Client.GetAsync("/v1/repositories/acme/web/images"), !read ? HttpStatusCode.Forbidden : await c.MayAsync(V1Repo, index, AccessActions.Read) ? HttpStatusCode.OK : HttpStatusCode.NotFound);
        await ExpectAsync(c.Client.DeleteAsync("/v1/repositories/acme/web/images"), delete ? HttpStatusCode.NoContent : HttpStatusCode.Forbidden);
    }

    /// <summary>GET /v1/search</summary>
    private static async Task GetV1SearchAsync(Case c)
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
    }

    /// <summary>POST promote (V1) and migrate</summary>
    private static async Task PostPromoteV1AndMigrateAsync(Case c)
    {
        foreach (var tag in Fixture.WebTags)
        {
            var tagReadable = await c.MayAsync(V1Repo, $"repositories/acme/web/{tag}/tag.json", AccessActions.Read);
            var chainReadable = await c.MayAllAsync(V1Repo, Fixture.ChainFiles(c.Data.WebTag(tag)), AccessActions.Read);
            var promote = tagReadable && chainReadable
                && await c.MayAllAsync(V1Repo, [$"repositories/acme/copy/{tag}/tag.json", "repositories/acme/copy/_index_images.json"], AccessActions.Deploy);
            await ExpectAsync(
                c.Client.PostAsync($"/api/docker/{V1Repo}/v1/promote", Json($$"""{"targetRepo":"{{V1Repo}}","dockerRepository":"acme/web","targetDockerRepository":"acme/copy","tag":"{{tag}}","copy":true}""")),
                !tagReadable ? HttpStatusCode.NotFound : promote ? HttpStatusCode.OK : HttpStatusCode.Forbidden);
            var migrate = !tagReadable ? HttpStatusCode.NotFound
                : !chainReadable ? HttpStatusCode.Forbidden
                : await c.MayAsync(V2Repo, $"acme/web/{tag}/manifest.json", AccessActions.Deploy) ? HttpStatusCode.OK : HttpStatusCode.Forbidden;
            await ExpectAsync(
                c.Client.PostAsync($"/api/docker/{V1Repo}/v1/migrate", Json($$"""{"targetRepo":"{{V2Repo}}","dockerRepository":"acme/web","tag":"{{tag}}"}""")),
                migrate);
            await c.Admin.DeleteAsync($"/artifactory/{V1Repo}/repositories/acme/copy");
            await c.Admin.DeleteAsync($"/artifactory/{V2Repo}/acme");
        }
    }
}
