using Wharf.Core.Docker.V1;
using Wharf.Core.Tests.Support;

namespace Wharf.Core.Tests.Docker;

/// <summary>V1Collector (rest-api §3.7): the removal of unreachable images after the grace period, measured on the fake clock.</summary>
public sealed class V1CollectorTests : V1RoleTests
{
    private Task<int> RemoveUnreachableAsync() =>
        _r.V1.Collector.RemoveUnreachableImagesAsync(Repo, _r.Clock.GetUtcNow() - _r.Settings.GracePeriod, default);

    [Fact]
    public async Task An_untagged_image_is_removed_only_once_the_grace_period_has_passed()
    {
        await PublishAsync(Loose);

        _r.Clock.Advance(_r.Settings.GracePeriod);
        Assert.Equal(0, await RemoveUnreachableAsync());
        Assert.Equal(V1Outcome.Ok, (await _r.V1.Images.GetImageAsync(Repo, Loose, default)).Outcome);

        _r.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await RemoveUnreachableAsync());
        Assert.Equal(V1Outcome.ImageNotFound, (await _r.V1.Images.GetImageAsync(Repo, Loose, default)).Outcome);
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

        await _r.V1.Tags.DeleteTagAsync(Repo, Web, "1.0", RegistryFixture.AllowAll, default);
        Assert.Equal(2, await RemoveUnreachableAsync());
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task Images_an_index_announced_within_the_grace_period_lists_are_kept_until_it_ages()
    {
        await PublishAsync(Loose);
        _r.Clock.Advance(TimeSpan.FromHours(2));

        // A push start that announces the existing image (and will tag it) keeps it from the collector.
        await _r.V1.Repositories.AnnounceAsync(Repo, Web, [Loose], RegistryFixture.User, default);
        _r.Clock.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal(0, await RemoveUnreachableAsync());

        _r.Clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(1, await RemoveUnreachableAsync());
    }

    [Fact]
    public async Task A_push_start_that_announces_nothing_new_refreshes_an_aging_index()
    {
        await PublishAsync(Loose);
        await _r.V1.Repositories.AnnounceAsync(Repo, Web, [Loose], RegistryFixture.User, default);
        _r.Clock.Advance(TimeSpan.FromMinutes(50));

        await _r.V1.Repositories.AnnounceAsync(Repo, Web, [Loose], RegistryFixture.User, default);
        _r.Clock.Advance(TimeSpan.FromMinutes(50));

        Assert.Equal(0, await RemoveUnreachableAsync());
        Assert.Equal(RegistryFixture.Start.AddMinutes(50), (await _r.ItemAsync(Repo, V1Layout.Index(Web)))?.Modified);
    }
}
