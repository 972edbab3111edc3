using Wharf.Core.Docker.V1;
using Wharf.Core.Naming;
using Wharf.Core.Tests.Support;

namespace Wharf.Core.Tests.Docker;

/// <summary>V1Images (docker-v1-protocol §6.4, §9): JSON, layer and checksum uploads, published whole when the checksum verifies; a complete image is immutable.</summary>
public sealed class V1ImageTests : V1RoleTests
{
    [Fact]
    public async Task Json_layer_and_checksum_publish_the_image_folder_whole()
    {
        var json = RegistryFixture.V1ImageJson(Base, null);
        Assert.Equal(V1Outcome.Ok, await _r.V1.Images.PutImageJsonAsync(Repo, Base, json, default));
        Assert.Equal(V1Outcome.Ok, await _r.V1.Images.PutLayerAsync(Repo, Base, new MemoryStream(LayerOf(Base)), default));
        Assert.Equal(V1Outcome.ImageUploading, (await _r.V1.Images.GetImageAsync(Repo, Base, default)).Outcome);
        Assert.Null(await _r.ItemAsync(Repo, V1Layout.ImageFolder(Base)));

        var checksum = RegistryFixture.PayloadChecksum(json, LayerOf(Base));
        Assert.Equal(V1Outcome.Ok, await _r.V1.Images.PutChecksumAsync(Repo, Base, checksum, "tarsum.v1+sha256:abc", RegistryFixture.User, default));

        var (outcome, image) = await _r.V1.Images.GetImageAsync(Repo, Base, default);
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
        await _r.V1.Images.PutImageJsonAsync(Repo, Base, json, default);
        await _r.V1.Images.PutLayerAsync(Repo, Base, new MemoryStream(LayerOf(Base)), default);

        Assert.Equal(V1Outcome.ChecksumMismatch, await _r.V1.Images.PutChecksumAsync(Repo, Base, "sha256:" + new string('0', 64), null, RegistryFixture.User, default));
        Assert.Equal(V1Outcome.ImageUploading, (await _r.V1.Images.GetImageAsync(Repo, Base, default)).Outcome);

        Assert.Equal(V1Outcome.Ok, await _r.V1.Images.PutChecksumAsync(Repo, Base, RegistryFixture.PayloadChecksum(json, LayerOf(Base)), null, RegistryFixture.User, default));
    }

    [Fact]
    public async Task A_checksum_before_the_layer_is_a_mismatch_and_a_layer_before_the_json_is_unknown()
    {
        await _r.V1.Images.PutImageJsonAsync(Repo, Base, RegistryFixture.V1ImageJson(Base, null), default);

        Assert.Equal(V1Outcome.ChecksumMismatch, await _r.V1.Images.PutChecksumAsync(Repo, Base, "sha256:" + new string('0', 64), null, RegistryFixture.User, default));
        Assert.Equal(V1Outcome.ImageNotFound, await _r.V1.Images.PutLayerAsync(Repo, Child, new MemoryStream(LayerOf(Child)), default));
    }

    [Fact]
    public async Task Image_json_that_does_not_describe_the_image_is_refused()
    {
        Assert.Equal(V1Outcome.InvalidJson, await _r.V1.Images.PutImageJsonAsync(Repo, Base, "[1]"u8.ToArray(), default));
        Assert.Equal(V1Outcome.MissingId, await _r.V1.Images.PutImageJsonAsync(Repo, Base, "{}"u8.ToArray(), default));
        Assert.Equal(V1Outcome.IdMismatch, await _r.V1.Images.PutImageJsonAsync(Repo, Base, RegistryFixture.V1ImageJson(Child, null), default));
        Assert.Equal(V1Outcome.UnknownParent, await _r.V1.Images.PutImageJsonAsync(Repo, Child, RegistryFixture.V1ImageJson(Child, Base), default));
        Assert.Equal(V1Outcome.UnknownParent, await _r.V1.Images.PutImageJsonAsync(Repo, Base, RegistryFixture.V1ImageJson(Base, Base), default));
        Assert.Equal(V1Outcome.ImageNotFound, (await _r.V1.Images.GetImageAsync(Repo, Base, default)).Outcome);
    }

    [Fact]
    public async Task A_complete_image_is_immutable()
    {
        await PublishAsync(Base);

        Assert.Equal(V1Outcome.ImageExists, await _r.V1.Images.PutImageJsonAsync(Repo, Base, RegistryFixture.V1ImageJson(Base, null), default));
        Assert.Equal(V1Outcome.ImageExists, await _r.V1.Images.PutLayerAsync(Repo, Base, new MemoryStream("other"u8.ToArray()), default));
        Assert.Equal(V1Outcome.CannotSetChecksum, await _r.V1.Images.PutChecksumAsync(Repo, Base, "sha256:" + new string('0', 64), null, RegistryFixture.User, default));
    }

    [Fact]
    public async Task A_child_may_name_a_parent_still_uploading_and_tags_reach_the_whole_ancestry()
    {
        await _r.V1.Images.PutImageJsonAsync(Repo, Base, RegistryFixture.V1ImageJson(Base, null), default);
        Assert.Equal(V1Outcome.Ok, await _r.V1.Images.PutImageJsonAsync(Repo, Child, RegistryFixture.V1ImageJson(Child, Base), default));
        await _r.V1.Images.PutLayerAsync(Repo, Base, new MemoryStream(LayerOf(Base)), default);
        await _r.V1.Images.PutChecksumAsync(Repo, Base, RegistryFixture.PayloadChecksum(RegistryFixture.V1ImageJson(Base, null), LayerOf(Base)), null, RegistryFixture.User, default);
        await _r.V1.Images.PutLayerAsync(Repo, Child, new MemoryStream(LayerOf(Child)), default);
        await _r.V1.Images.PutChecksumAsync(Repo, Child, RegistryFixture.PayloadChecksum(RegistryFixture.V1ImageJson(Child, Base), LayerOf(Child)), null, RegistryFixture.User, default);
        await PublishAsync(Loose);

        Assert.Equal(V1Outcome.Ok, await TagAsync("1.0", Child));

        Assert.Equal(new[] { Base, Child }.Order(StringComparer.Ordinal), (await ReachableAsync()).Order(StringComparer.Ordinal));
        Assert.Empty(await ReachableAsync(new HashSet<string> { V1Layout.Tag(Web, "1.0") }));
        Assert.True(await _r.V1.Repositories.RepositoryReachesImageAsync(Repo, Web, Base, includeTagAncestry: true, default));
        Assert.False(await _r.V1.Repositories.RepositoryReachesImageAsync(Repo, Web, Base, includeTagAncestry: false, default));
        await _r.AssertIndexConsistentAsync();
    }
}
