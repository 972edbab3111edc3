using System.Text;
using Wharf.Core.Docker.V1;
using Wharf.Core.Docker.V2;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Operations;
using Wharf.Core.Security;
using Wharf.Core.Tests.Support;

namespace Wharf.Core.Tests.Lifecycle;

/// <summary>
/// The storage API's copy, move, delete and properties (TreeOperations) over registry trees: what
/// each does to the images, tags and V1 images the registry serves, and that the index follows.
/// </summary>
public sealed class TreeOperationsIndexTests : IAsyncLifetime
{
    private const string Repo = RegistryFixture.V2Repo;

    private RegistryFixture _r = null!;

    public async Task InitializeAsync() => _r = await RegistryFixture.CreateAsync();

    public async Task DisposeAsync() => await _r.DisposeAsync();

    private async Task<CopyMoveResult> CopyOrMoveAsync(RepositoryConfig source, string from, RepositoryConfig target, string to, bool move, bool dryRun = false)
    {
        var result = await _r.TreeOperations.CopyOrMoveAsync(RegistryFixture.Admin, source, from, target, to, move, dryRun, failFast: false, default);
        await _r.AssertIndexConsistentAsync();
        return result;
    }

    private ValueTask<IReadOnlyList<string>?> TagsAsync(string image, string repo = Repo) =>
        _r.Discovery.ListTagsAsync(repo, image, RegistryFixture.AllowAll, default);

    [Fact]
    public async Task A_copied_tag_folder_is_a_new_tag_with_its_manifest_properties_following_it()
    {
        var pushed = await _r.PushImageAsync("app", "1", "one");

        var result = await CopyOrMoveAsync(_r.V2Repository, "app/1", _r.V2Repository, "copy/stable", move: false);

        Assert.True(result.Request.Succeeded && !result.HasErrors, string.Join("; ", result.Messages));
        Assert.Equal(["1"], await TagsAsync("app"));
        Assert.Equal(["stable"], await TagsAsync("copy"));
        Assert.Equal(pushed.Digest, (await _r.Manifests.GetManifestAsync(Repo, "copy", "stable", RegistryFixture.AllowAll, default))?.Digest);
        var properties = await _r.PropertiesAsync(Repo, "copy/stable/manifest.json");
        Assert.Equal(["copy"], properties[V2Properties.RepoName]);
        Assert.Equal(["stable"], properties[V2Properties.Manifest]);
    }

    [Fact]
    public async Task A_moved_tag_folder_leaves_its_image_and_joins_the_target_repository()
    {
        var other = await _r.CreateRepositoryAsync(new("other-v2", DockerApiVersion.V2));
        await _r.PushImageAsync("app", "1", "one");

        Assert.True((await CopyOrMoveAsync(_r.V2Repository, "app/1", other, "app/1", move: true)).Request.Succeeded);

        Assert.Equal([], await TagsAsync("app"));
        Assert.Equal(["1"], await TagsAsync("app", other.Key));
        Assert.Equal(["app"], await _r.Discovery.CatalogAsync(other.Key, RegistryFixture.AllowAll, default));
    }

    [Fact]
    public async Task A_dry_run_changes_nothing()
    {
        await _r.PushImageAsync("app", "1", "one");

        Assert.True((await CopyOrMoveAsync(_r.V2Repository, "app/1", _r.V2Repository, "app/2", move: true, dryRun: true)).Request.Succeeded);

        Assert.Equal(["1"], await TagsAsync("app"));
    }

    [Fact]
    public async Task Content_does_not_cross_between_v1_and_v2_repositories()
    {
        await _r.PushImageAsync("app", "1", "one");

        var result = await CopyOrMoveAsync(_r.V2Repository, "app", _r.V1Repository, "app", move: false);

        Assert.Equal(OperationStatus.BadRequest, result.Request.Status);
    }

    [Fact]
    public async Task A_tag_folder_is_deleted_whole_but_not_one_file_of_it()
    {
        var pushed = await _r.PushImageAsync("app", "1", "one");

        Assert.Equal(OperationStatus.Conflict, (await _r.TreeOperations.DeleteAsync(RegistryFixture.Admin, _r.V2Repository, $"app/1/sha256__{pushed.Layer.Hex}", default)).Status);
        Assert.Equal(OperationStatus.Ok, (await _r.TreeOperations.DeleteAsync(RegistryFixture.Admin, _r.V2Repository, "app/1", default)).Status);

        Assert.Equal([], await TagsAsync("app"));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task A_v1_image_a_tag_reaches_cannot_be_deleted_until_the_tag_is_gone()
    {
        var name = new V1RepositoryName("acme", "web");
        var id = RegistryFixture.ImageIdOf("tagged");
        await _r.PublishV1ImageAsync(id, null, Encoding.UTF8.GetBytes("tagged layer"));
        await _r.V1.Tags.PutTagAsync(RegistryFixture.V1Repo, name, "1.0", id, RegistryFixture.User, RegistryFixture.AllowAll, default);

        var refused = await _r.TreeOperations.DeleteAsync(RegistryFixture.Admin, _r.V1Repository, V1Layout.ImageFolder(id), default);
        Assert.Equal(OperationStatus.Conflict, refused.Status);
        Assert.Contains(V1Layout.TagFolder(name, "1.0"), refused.Message, StringComparison.Ordinal);

        Assert.Equal(OperationStatus.Ok, (await _r.TreeOperations.DeleteAsync(RegistryFixture.Admin, _r.V1Repository, V1Layout.TagFolder(name, "1.0"), default)).Status);
        Assert.Equal(OperationStatus.Ok, (await _r.TreeOperations.DeleteAsync(RegistryFixture.Admin, _r.V1Repository, V1Layout.ImageFolder(id), default)).Status);
        Assert.Equal(V1Outcome.ImageNotFound, (await _r.V1.Images.GetImageAsync(RegistryFixture.V1Repo, id, default)).Outcome);
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task Properties_set_and_deleted_through_the_storage_api_reach_the_referrers_api()
    {
        var subject = await _r.PushImageAsync("app", "1", "subject");
        var signature = await _r.PushImageAsync("app", "sig", "sig", subject: subject);
        var retype = new Dictionary<string, IReadOnlyList<string>> { [V2Properties.ArtifactType] = ["application/vnd.example.retyped"] };

        Assert.True((await _r.TreeOperations.SetPropertiesAsync(RegistryFixture.Admin, _r.V2Repository, "app/sig", retype, recursive: true, default)).Succeeded);

        var referrer = Assert.Single(await _r.Discovery.ReferrersAsync(Repo, "app", subject.Digest, "application/vnd.example.retyped", RegistryFixture.AllowAll, default));
        Assert.Equal(signature.Digest, referrer.Digest);
        await _r.AssertIndexConsistentAsync();

        Assert.True((await _r.TreeOperations.DeletePropertiesAsync(RegistryFixture.Admin, _r.V2Repository, "app/sig/manifest.json", [V2Properties.Subject], recursive: false, default)).Succeeded);
        Assert.Empty(await _r.Discovery.ReferrersAsync(Repo, "app", subject.Digest, null, RegistryFixture.AllowAll, default));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task Registry_properties_are_for_administrators_only()
    {
        await _r.PushImageAsync("app", "1", "one");
        var user = new Principal("someone", IsAdmin: false);

        var result = await _r.TreeOperations.SetPropertiesAsync(user, _r.V2Repository, "app/1/manifest.json",
            new Dictionary<string, IReadOnlyList<string>> { [V2Properties.Subject] = [Digest.OfSha256(new string('a', 64)).ToString()] }, recursive: false, default);

        Assert.Equal(OperationStatus.Forbidden, result.Status);
    }
}
