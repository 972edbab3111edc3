using System.Text;
using Wharf.Core.Docker.V1;
using Wharf.Core.Docker.V2;
using Wharf.Core.Metadata;
using Wharf.Core.Operations;
using Wharf.Core.Security;
using Wharf.Core.Tests.Support;

namespace Wharf.Core.Tests.Docker;

/// <summary>V2Promotion (rest-api §3.4): tags copied or moved between V2 repositories and names, blobs shared, the index kept.</summary>
public sealed class V2PromotionTests : IAsyncLifetime
{
    private const string Source = RegistryFixture.V2Repo;
    private static readonly PathPermission AllowAll = (_, _, _) => ValueTask.FromResult(true);

    private RegistryFixture _r = null!;
    private RepositoryConfig _prod = null!;

    public async Task InitializeAsync()
    {
        _r = await RegistryFixture.CreateAsync();
        _prod = await _r.CreateRepositoryAsync(new("prod", DockerApiVersion.V2));
    }

    public async Task DisposeAsync() => await _r.DisposeAsync();

    private async Task<OperationResult> PromoteAsync(string image, string? tag, string? targetImage, string? targetTag, bool copy, PathPermission? allowed = null)
    {
        var result = await _r.Promotion.PromoteAsync(
            _r.V2Repository, _prod, new PromoteRequest(_prod.Key, image, targetImage, tag, targetTag, copy), RegistryFixture.User, allowed ?? AllowAll, default);
        await _r.AssertIndexConsistentAsync();
        return result;
    }

    private ValueTask<IReadOnlyList<string>?> TagsAsync(string repo, string image) =>
        _r.Discovery.ListTagsAsync(repo, image, RegistryFixture.AllowAll, default);

    [Fact]
    public async Task Copying_a_tag_under_another_name_shares_its_blobs_and_keeps_the_source()
    {
        var pushed = await _r.PushImageAsync("app", "1.0", "one");
        var blobsBefore = _r.StoredFiles("blobs").Count;

        Assert.True((await PromoteAsync("app", "1.0", "released/app", "stable", copy: true)).Succeeded);

        Assert.Equal(["1.0"], await TagsAsync(Source, "app"));
        Assert.Equal(["stable"], await TagsAsync(_prod.Key, "released/app"));
        Assert.Equal(pushed.Digest, (await _r.Manifests.GetManifestAsync(_prod.Key, "released/app", "stable", RegistryFixture.AllowAll, default))?.Digest);
        Assert.NotNull(await _r.Blobs.FindBlobAsync(_prod.Key, "released/app", pushed.Layer, RegistryFixture.AllowAll, default));
        Assert.Equal(["released/app"], (await _r.PropertiesAsync(_prod.Key, "released/app/stable/manifest.json"))[V2Properties.RepoName]);
        Assert.Equal(blobsBefore, _r.StoredFiles("blobs").Count);
    }

    [Fact]
    public async Task Moving_every_tag_empties_the_source_image_of_tags()
    {
        await _r.PushImageAsync("app", "1", "one");
        await _r.PushImageAsync("app", "2", "two");

        Assert.True((await PromoteAsync("app", null, null, null, copy: false)).Succeeded);

        Assert.Equal([], await TagsAsync(Source, "app"));
        Assert.Equal(["1", "2"], await TagsAsync(_prod.Key, "app"));
    }

    [Fact]
    public async Task A_list_brings_the_platform_manifests_it_names()
    {
        var amd = await _r.PushImageAsync("app", "digest", "amd64");
        var index = Encoding.UTF8.GetBytes($$"""
            {"schemaVersion":2,"mediaType":"{{Manifests.OciIndex}}","manifests":[{"mediaType":"{{Manifests.OciManifest}}","digest":"{{amd.Digest}}","size":{{amd.Manifest.Length}}}]}
            """);
        Assert.Equal(V2Outcome.Created, (await _r.Manifests.PutManifestAsync(_r.V2Repository, "app", "multi", index, Manifests.OciIndex, RegistryFixture.User, RegistryFixture.AllowAll, default)).Outcome);

        Assert.True((await PromoteAsync("app", "multi", null, null, copy: true)).Succeeded);

        Assert.NotNull(await _r.Manifests.GetManifestAsync(_prod.Key, "app", amd.Digest.ToString(), RegistryFixture.AllowAll, default));
        Assert.NotNull(await _r.Blobs.FindBlobAsync(_prod.Key, "app", amd.Layer, RegistryFixture.AllowAll, default));
    }

    [Fact]
    public async Task Replacing_a_target_tag_with_other_content_needs_delete_permission_there()
    {
        var kept = await _r.PushImageAsync("app", "1", "target content", _prod);
        await _r.PushImageAsync("app", "1", "source content");
        PathPermission cannotDeleteInProd = (repository, _, actions) => ValueTask.FromResult(repository.Key != _prod.Key || (actions & AccessActions.Delete) == 0);

        Assert.Equal(OperationStatus.Forbidden, (await PromoteAsync("app", "1", null, null, copy: true, cannotDeleteInProd)).Status);

        Assert.Equal(kept.Digest, (await _r.Manifests.GetManifestAsync(_prod.Key, "app", "1", RegistryFixture.AllowAll, default))?.Digest);
    }

    [Fact]
    public async Task An_unknown_image_or_tag_is_not_found_and_a_promotion_onto_itself_refused()
    {
        await _r.PushImageAsync("app", "1", "one");

        Assert.Equal(OperationStatus.NotFound, (await PromoteAsync("nothing", null, null, null, copy: true)).Status);
        Assert.Equal(OperationStatus.NotFound, (await PromoteAsync("app", "2", null, null, copy: true)).Status);
        var onto = await _r.Promotion.PromoteAsync(
            _r.V2Repository, _r.V2Repository, new PromoteRequest(Source, "app", null, "1", null, true), RegistryFixture.User, AllowAll, default);
        Assert.Equal(OperationStatus.BadRequest, onto.Status);
    }
}
