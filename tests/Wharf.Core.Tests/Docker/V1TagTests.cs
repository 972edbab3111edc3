using Wharf.Core.Docker.V1;
using Wharf.Core.Metadata;
using Wharf.Core.Tests.Support;

namespace Wharf.Core.Tests.Docker;

/// <summary>V1Tags (docker-v1-protocol §6.5): tags set, read, moved and deleted with the rights a hand edit would need, and the unique-tag limit.</summary>
public sealed class V1TagTests : V1RoleTests
{
    private async Task<IReadOnlyList<string>> TagNamesAsync() =>
        [.. (await _r.V1.Tags.ListTagsAsync(Repo, Web, RegistryFixture.AllowAll, default))!.Select(t => t.Tag).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task Tags_are_set_read_moved_and_deleted()
    {
        await PublishAsync(Base);
        await PublishAsync(Child, Base);

        Assert.Null(await _r.V1.Tags.ListTagsAsync(Repo, Web, RegistryFixture.AllowAll, default));
        Assert.Equal(V1Outcome.Ok, await TagAsync("1.0", Base));
        Assert.Equal(V1Outcome.Ok, await TagAsync("latest", Base));
        Assert.Equal(V1Outcome.Ok, await TagAsync("latest", Child));

        Assert.Equal(["1.0", "latest"], await TagNamesAsync());
        Assert.Equal(Child, await _r.V1.Tags.GetTagAsync(Repo, Web, "latest", RegistryFixture.AllowAll, default));
        Assert.Equal(V1Outcome.Ok, await _r.V1.Tags.DeleteTagAsync(Repo, Web, "1.0", RegistryFixture.AllowAll, default));
        Assert.Equal(V1Outcome.TagNotFound, await _r.V1.Tags.DeleteTagAsync(Repo, Web, "1.0", RegistryFixture.AllowAll, default));
        Assert.Equal(["latest"], await TagNamesAsync());
        Assert.Null(await _r.ItemAsync(Repo, V1Layout.TagFolder(Web, "1.0")));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task A_tag_needs_a_complete_image_a_valid_name_and_the_rights_a_hand_edit_would()
    {
        await PublishAsync(Base);
        await PublishAsync(Child, Base);
        await _r.V1.Images.PutImageJsonAsync(Repo, Loose, RegistryFixture.V1ImageJson(Loose, null), default);

        Assert.Equal(V1Outcome.ImageNotFound, await TagAsync("1.0", Loose));
        Assert.Equal(V1Outcome.InvalidTag, await TagAsync("_index_images.json", Base));
        Assert.Equal(V1Outcome.Denied, await TagAsync("1.0", Child, RegistryFixture.Refusing(AccessActions.Read, p => p.StartsWith(V1Layout.ImageFolder(Base), StringComparison.Ordinal))));
        Assert.Equal(V1Outcome.Ok, await TagAsync("1.0", Base));
        Assert.Equal(V1Outcome.Denied, await TagAsync("1.0", Child, RegistryFixture.Refusing(AccessActions.Delete, _ => true)));
        Assert.Equal(Base, await _r.V1.Tags.GetTagAsync(Repo, Web, "1.0", RegistryFixture.AllowAll, default));
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
}
