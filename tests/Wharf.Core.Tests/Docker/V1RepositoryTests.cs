using Wharf.Core.Docker.V1;
using Wharf.Core.Tests.Support;

namespace Wharf.Core.Tests.Docker;

/// <summary>V1Repositories (docker-v1-protocol §6.3, §6.5): the index a push start announces, what a token for the repository covers, and deleting a repository.</summary>
public sealed class V1RepositoryTests : V1RoleTests
{
    [Fact]
    public async Task The_index_lists_announced_images_once_in_order()
    {
        Assert.Null(await _r.V1.Repositories.GetIndexAsync(Repo, Web, default));

        await _r.V1.Repositories.AnnounceAsync(Repo, Web, [Base, Child], RegistryFixture.User, default);
        await _r.V1.Repositories.AnnounceAsync(Repo, Web, [Child, Loose], RegistryFixture.User, default);

        Assert.Equal([Base, Child, Loose], await _r.V1.Repositories.GetIndexAsync(Repo, Web, default));
        Assert.True(await _r.V1.Repositories.RepositoryReachesImageAsync(Repo, Web, Loose, includeTagAncestry: false, default));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task Deleting_a_repository_removes_its_tags_and_index_and_keeps_the_images()
    {
        await PublishAsync(Base);
        await _r.V1.Repositories.AnnounceAsync(Repo, Web, [Base], RegistryFixture.User, default);
        await TagAsync("1.0", Base);

        Assert.Equal(V1Outcome.Ok, await _r.V1.Repositories.DeleteRepositoryAsync(Repo, Web, RegistryFixture.AllowAll, default));

        Assert.Null(await _r.V1.Repositories.GetIndexAsync(Repo, Web, default));
        Assert.Empty(await ReachableAsync());
        Assert.Equal(V1Outcome.Ok, (await _r.V1.Images.GetImageAsync(Repo, Base, default)).Outcome);
        Assert.Equal(V1Outcome.RepositoryNotFound, await _r.V1.Repositories.DeleteRepositoryAsync(Repo, Web, RegistryFixture.AllowAll, default));
        await _r.AssertIndexConsistentAsync();
    }
}
