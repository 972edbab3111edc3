using System.Text;
using Wharf.Core.Docker.V1;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Security;
using Wharf.Core.Tests.Support;

namespace Wharf.Core.Tests.Docker;

/// <summary>
/// V1Registry (docker-v1-protocol §6–§9): image publication, the index and tags, reachability,
/// and the removal of unreachable images after the grace period, measured on the fake clock.
/// </summary>
public sealed class V1RegistryTests : IAsyncLifetime
{
    private const string Repo = RegistryFixture.V1Repo;
    private static readonly V1RepositoryName Web = new("acme", "web");
    private static readonly string Base = RegistryFixture.ImageIdOf("base");
    private static readonly string Child = RegistryFixture.ImageIdOf("child");
    private static readonly string Loose = RegistryFixture.ImageIdOf("loose");

    private RegistryFixture _r = null!;

    public async Task InitializeAsync() => _r = await RegistryFixture.CreateAsync();

    public async Task DisposeAsync() => await _r.DisposeAsync();

    private static byte[] LayerOf(string id) => Encoding.UTF8.GetBytes("layer " + id);

    private Task PublishAsync(string id, string? parent = null) => _r.PublishV1ImageAsync(id, parent, LayerOf(id));

    private Task<V1Outcome> TagAsync(string tag, string id, ItemAccess? access = null, int maxUniqueTags = 0) =>
        _r.V1.PutTagAsync(Repo, Web, tag, id, RegistryFixture.User, access ?? RegistryFixture.AllowAll, default, maxUniqueTags);

    private async Task<IReadOnlyList<string>> TagNamesAsync() =>
        [.. (await _r.V1.ListTagsAsync(Repo, Web, RegistryFixture.AllowAll, default))!.Select(t => t.Tag).Order(StringComparer.Ordinal)];

    private async Task<IReadOnlyCollection<string>> ReachableAsync(IReadOnlySet<string>? ignoredTagFiles = null)
    {
        await using var session = await _r.Store.OpenAsync(default);
        return (await V1Registry.ReachableImagesAsync(session, Repo, ignoredTagFiles ?? new HashSet<string>(), default)).Keys;
    }

    private Task<int> RemoveUnreachableAsync() =>
        _r.V1.RemoveUnreachableImagesAsync(Repo, _r.Clock.GetUtcNow() - _r.Settings.GracePeriod, default);

    [Fact]
    public async Task Json_layer_and_checksum_publish_the_image_folder_whole()
    {
        var json = RegistryFixture.V1ImageJson(Base, null);
        Assert.Equal(V1Outcome.Ok, await _r.V1.PutImageJsonAsync(Repo, Base, json, default));
        Assert.Equal(V1Outcome.Ok, await _r.V1.PutLayerAsync(Repo, Base, new MemoryStream(LayerOf(Base)), default));
        Assert.Equal(V1Outcome.ImageUploading, (await _r.V1.GetImageAsync(Repo, Base, default)).Outcome);
        Assert.Null(await _r.ItemAsync(Repo, V1Layout.ImageFolder(Base)));

        var checksum = RegistryFixture.PayloadChecksum(json, LayerOf(Base));
        Assert.Equal(V1Outcome.Ok, await _r.V1.PutChecksumAsync(Repo, Base, checksum, "tarsum.v1+sha256:abc", RegistryFixture.User, default));

        var (outcome, image) = await _r.V1.GetImageAsync(Repo, Base, default);
        Assert.Equal(V1Outcome.Ok, outcome);
        Assert.Equal(Sha256Hex.Of(LayerOf(Base)), image!.LayerSha256);
        Assert.Equal(checksum, image.PayloadChecksum);
        Assert.Equal(json, await _r.Content.ReadAllBytesAsync(image.JsonSha256, default));
        Assert.Equal(["_checksum.json", "ancestry.json", "json.json", "layer.tar"], await _r.ChildrenAsync(Repo, V1Layout.ImageFolder(Base)));
        var folder = await _r.PropertiesAsync(Repo, V1Layout.ImageFolder(Base));
        Assert.Equal([Base], folder[DockerProperties.ImageId]);
        Assert.Equal(["tarsum.v1+sha256:abc"], folder[DockerProperties.TarSum]);
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task A_wrong_checksum_leaves_the_image_uploading_until_the_right_one_comes()
    {
        var json = RegistryFixture.V1ImageJson(Base, null);
        await _r.V1.PutImageJsonAsync(Repo, Base, json, default);
        await _r.V1.PutLayerAsync(Repo, Base, new MemoryStream(LayerOf(Base)), default);

        Assert.Equal(V1Outcome.ChecksumMismatch, await _r.V1.PutChecksumAsync(Repo, Base, "sha256:" + new string('0', 64), null, RegistryFixture.User, default));
        Assert.Equal(V1Outcome.ImageUploading, (await _r.V1.GetImageAsync(Repo, Base, default)).Outcome);

        Assert.Equal(V1Outcome.Ok, await _r.V1.PutChecksumAsync(Repo, Base, RegistryFixture.PayloadChecksum(json, LayerOf(Base)), null, RegistryFixture.User, default));
    }

    [Fact]
    public async Task A_checksum_before_the_layer_is_a_mismatch_and_a_layer_before_the_json_is_unknown()
    {
        await _r.V1.PutImageJsonAsync(Repo, Base, RegistryFixture.V1ImageJson(Base, null), default);

        Assert.Equal(V1Outcome.ChecksumMismatch, await _r.V1.PutChecksumAsync(Repo, Base, "sha256:" + new string('0', 64), null, RegistryFixture.User, default));
        Assert.Equal(V1Outcome.ImageNotFound, await _r.V1.PutLayerAsync(Repo, Child, new MemoryStream(LayerOf(Child)), default));
    }

    [Fact]
    public async Task Image_json_that_does_not_describe_the_image_is_refused()
    {
        Assert.Equal(V1Outcome.InvalidJson, await _r.V1.PutImageJsonAsync(Repo, Base, "[1]"u8.ToArray(), default));
        Assert.Equal(V1Outcome.MissingId, await _r.V1.PutImageJsonAsync(Repo, Base, "{}"u8.ToArray(), default));
        Assert.Equal(V1Outcome.IdMismatch, await _r.V1.PutImageJsonAsync(Repo, Base, RegistryFixture.V1ImageJson(Child, null), default));
        Assert.Equal(V1Outcome.UnknownParent, await _r.V1.PutImageJsonAsync(Repo, Child, RegistryFixture.V1ImageJson(Child, Base), default));
        Assert.Equal(V1Outcome.UnknownParent, await _r.V1.PutImageJsonAsync(Repo, Base, RegistryFixture.V1ImageJson(Base, Base), default));
        Assert.Equal(V1Outcome.ImageNotFound, (await _r.V1.GetImageAsync(Repo, Base, default)).Outcome);
    }

    [Fact]
    public async Task A_complete_image_is_immutable()
    {
        await PublishAsync(Base);

        Assert.Equal(V1Outcome.ImageExists, await _r.V1.PutImageJsonAsync(Repo, Base, RegistryFixture.V1ImageJson(Base, null), default));
        Assert.Equal(V1Outcome.ImageExists, await _r.V1.PutLayerAsync(Repo, Base, new MemoryStream("other"u8.ToArray()), default));
        Assert.Equal(V1Outcome.CannotSetChecksum, await _r.V1.PutChecksumAsync(Repo, Base, "sha256:" + new string('0', 64), null, RegistryFixture.User, default));
    }

    [Fact]
    public async Task A_child_may_name_a_parent_still_uploading_and_tags_reach_the_whole_ancestry()
    {
        await _r.V1.PutImageJsonAsync(Repo, Base, RegistryFixture.V1ImageJson(Base, null), default);
        Assert.Equal(V1Outcome.Ok, await _r.V1.PutImageJsonAsync(Repo, Child, RegistryFixture.V1ImageJson(Child, Base), default));
        await _r.V1.PutLayerAsync(Repo, Base, new MemoryStream(LayerOf(Base)), default);
        await _r.V1.PutChecksumAsync(Repo, Base, RegistryFixture.PayloadChecksum(RegistryFixture.V1ImageJson(Base, null), LayerOf(Base)), null, RegistryFixture.User, default);
        await _r.V1.PutLayerAsync(Repo, Child, new MemoryStream(LayerOf(Child)), default);
        await _r.V1.PutChecksumAsync(Repo, Child, RegistryFixture.PayloadChecksum(RegistryFixture.V1ImageJson(Child, Base), LayerOf(Child)), null, RegistryFixture.User, default);
        await PublishAsync(Loose);

        Assert.Equal(V1Outcome.Ok, await TagAsync("1.0", Child));

        Assert.Equal(new[] { Base, Child }.Order(StringComparer.Ordinal), (await ReachableAsync()).Order(StringComparer.Ordinal));
        Assert.Empty(await ReachableAsync(new HashSet<string> { V1Layout.Tag(Web, "1.0") }));
        Assert.True(await _r.V1.RepositoryReachesImageAsync(Repo, Web, Base, includeTagAncestry: true, default));
        Assert.False(await _r.V1.RepositoryReachesImageAsync(Repo, Web, Base, includeTagAncestry: false, default));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task The_index_lists_announced_images_once_in_order()
    {
        Assert.Null(await _r.V1.GetIndexAsync(Repo, Web, default));

        await _r.V1.AnnounceAsync(Repo, Web, [Base, Child], RegistryFixture.User, default);
        await _r.V1.AnnounceAsync(Repo, Web, [Child, Loose], RegistryFixture.User, default);

        Assert.Equal([Base, Child, Loose], await _r.V1.GetIndexAsync(Repo, Web, default));
        Assert.True(await _r.V1.RepositoryReachesImageAsync(Repo, Web, Loose, includeTagAncestry: false, default));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task Tags_are_set_read_moved_and_deleted()
    {
        await PublishAsync(Base);
        await PublishAsync(Child, Base);

        Assert.Null(await _r.V1.ListTagsAsync(Repo, Web, RegistryFixture.AllowAll, default));
        Assert.Equal(V1Outcome.Ok, await TagAsync("1.0", Base));
        Assert.Equal(V1Outcome.Ok, await TagAsync("latest", Base));
        Assert.Equal(V1Outcome.Ok, await TagAsync("latest", Child));

        Assert.Equal(["1.0", "latest"], await TagNamesAsync());
        Assert.Equal(Child, await _r.V1.GetTagAsync(Repo, Web, "latest", RegistryFixture.AllowAll, default));
        Assert.Equal(V1Outcome.Ok, await _r.V1.DeleteTagAsync(Repo, Web, "1.0", RegistryFixture.AllowAll, default));
        Assert.Equal(V1Outcome.TagNotFound, await _r.V1.DeleteTagAsync(Repo, Web, "1.0", RegistryFixture.AllowAll, default));
        Assert.Equal(["latest"], await TagNamesAsync());
        Assert.Null(await _r.ItemAsync(Repo, V1Layout.TagFolder(Web, "1.0")));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task A_tag_needs_a_complete_image_a_valid_name_and_the_rights_a_hand_edit_would()
    {
        await PublishAsync(Base);
        await PublishAsync(Child, Base);
        await _r.V1.PutImageJsonAsync(Repo, Loose, RegistryFixture.V1ImageJson(Loose, null), default);

        Assert.Equal(V1Outcome.ImageNotFound, await TagAsync("1.0", Loose));
        Assert.Equal(V1Outcome.InvalidTag, await TagAsync("_index_images.json", Base));
        Assert.Equal(V1Outcome.Denied, await TagAsync("1.0", Child, RegistryFixture.Refusing(AccessActions.Read, p => p.StartsWith(V1Layout.ImageFolder(Base), StringComparison.Ordinal))));
        Assert.Equal(V1Outcome.Ok, await TagAsync("1.0", Base));
        Assert.Equal(V1Outcome.Denied, await TagAsync("1.0", Child, RegistryFixture.Refusing(AccessActions.Delete, _ => true)));
        Assert.Equal(Base, await _r.V1.GetTagAsync(Repo, Web, "1.0", RegistryFixture.AllowAll, default));
    }

    [Fact]
    public async Task Max_unique_tags_drops_the_oldest_tags_but_never_latest()
    {
        await PublishAsync(Base);
        foreach (var tag in new[] { "latest", "1", "2", "3" })
        {
            Assert.Equal(V1Outcome.Ok, await TagAsync(tag, Base, maxUniqueTags: 2));
            _r.Clock.Advance(TimeSpan.FromMinutes(1));
        }

        Assert.Equal(["3", "latest"], await TagNamesAsync());
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task Deleting_a_repository_removes_its_tags_and_index_and_keeps_the_images()
    {
        await PublishAsync(Base);
        await _r.V1.AnnounceAsync(Repo, Web, [Base], RegistryFixture.User, default);
        await TagAsync("1.0", Base);

        Assert.Equal(V1Outcome.Ok, await _r.V1.DeleteRepositoryAsync(Repo, Web, RegistryFixture.AllowAll, default));

        Assert.Null(await _r.V1.GetIndexAsync(Repo, Web, default));
        Assert.Empty(await ReachableAsync());
        Assert.Equal(V1Outcome.Ok, (await _r.V1.GetImageAsync(Repo, Base, default)).Outcome);
        Assert.Equal(V1Outcome.RepositoryNotFound, await _r.V1.DeleteRepositoryAsync(Repo, Web, RegistryFixture.AllowAll, default));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task An_untagged_image_is_removed_only_once_the_grace_period_has_passed()
    {
        await PublishAsync(Loose);

        _r.Clock.Advance(_r.Settings.GracePeriod);
        Assert.Equal(0, await RemoveUnreachableAsync());
        Assert.Equal(V1Outcome.Ok, (await _r.V1.GetImageAsync(Repo, Loose, default)).Outcome);

        _r.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await RemoveUnreachableAsync());
        Assert.Equal(V1Outcome.ImageNotFound, (await _r.V1.GetImageAsync(Repo, Loose, default)).Outcome);
        Assert.Null(await _r.ItemAsync(Repo, V1Layout.ImageFolder(Loose)));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task Images_a_tag_reaches_are_kept_however_old_and_freed_when_the_tag_goes()
    {
        await PublishAsync(Base);
        await PublishAsync(Child, Base);
        await TagAsync("1.0", Child);
        _r.Clock.Advance(TimeSpan.FromDays(30));

        Assert.Equal(0, await RemoveUnreachableAsync());

        await _r.V1.DeleteTagAsync(Repo, Web, "1.0", RegistryFixture.AllowAll, default);
        Assert.Equal(2, await RemoveUnreachableAsync());
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task Images_an_index_announced_within_the_grace_period_lists_are_kept_until_it_ages()
    {
        await PublishAsync(Loose);
        _r.Clock.Advance(TimeSpan.FromHours(2));

        // A push start that announces the existing image (and will tag it) keeps it from the collector.
        await _r.V1.AnnounceAsync(Repo, Web, [Loose], RegistryFixture.User, default);
        _r.Clock.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal(0, await RemoveUnreachableAsync());

        _r.Clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(1, await RemoveUnreachableAsync());
    }

    [Fact]
    public async Task A_push_start_that_announces_nothing_new_refreshes_an_aging_index()
    {
        await PublishAsync(Loose);
        await _r.V1.AnnounceAsync(Repo, Web, [Loose], RegistryFixture.User, default);
        _r.Clock.Advance(TimeSpan.FromMinutes(50));

        await _r.V1.AnnounceAsync(Repo, Web, [Loose], RegistryFixture.User, default);
        _r.Clock.Advance(TimeSpan.FromMinutes(50));

        Assert.Equal(0, await RemoveUnreachableAsync());
        Assert.Equal(RegistryFixture.Start.AddMinutes(50), (await _r.ItemAsync(Repo, V1Layout.Index(Web)))?.Modified);
    }
}
