using Wharf.Core.Docker.V2;
using Wharf.Core.Metadata;
using Wharf.Core.Tests.Support;

namespace Wharf.Core.Tests.Docker;

/// <summary>
/// The repository policies a manifest push applies (rest-api §2.2): dockerTagRetention keeps
/// replaced manifests as revisions, maxUniqueTags drops an image's oldest tags by creation time.
/// Times come from the fake clock, advanced between pushes so that "oldest" is unambiguous.
/// </summary>
public sealed class V2TagPolicyTests : IAsyncLifetime
{
    private RegistryFixture _r = null!;
    private RepositoryConfig _retaining = null!;
    private RepositoryConfig _limited = null!;

    public async Task InitializeAsync()
    {
        _r = await RegistryFixture.CreateAsync();
        _retaining = await _r.CreateRepositoryAsync(new("retaining", DockerApiVersion.V2) { DockerTagRetention = 2 });
        _limited = await _r.CreateRepositoryAsync(new("limited", DockerApiVersion.V2) { MaxUniqueTags = 2 });
    }

    public async Task DisposeAsync() => await _r.DisposeAsync();

    private async Task<PushedImage> PushAsync(RepositoryConfig repository, string tag, string content)
    {
        var pushed = await _r.PushImageAsync("app", tag, content, repository);
        _r.Clock.Advance(TimeSpan.FromMinutes(1));
        await _r.AssertIndexConsistentAsync();
        return pushed;
    }

    private async Task<IReadOnlyList<string>?> TagsAsync(RepositoryConfig repository) =>
        await _r.Discovery.ListTagsAsync(repository.Key, "app", RegistryFixture.AllowAll, default);

    private async Task<IReadOnlyList<string>> RetainedForAsync(RepositoryConfig repository, PushedImage revision) =>
        (await _r.PropertiesAsync(repository.Key, $"app/{revision.Digest}/manifest.json")).GetValueOrDefault(V2Properties.RetainedFor) ?? [];

    [Fact]
    public async Task A_moved_tag_keeps_its_replaced_manifest_as_a_revision_in_its_digest_folder()
    {
        var first = await PushAsync(_retaining, "latest", "one");
        var second = await PushAsync(_retaining, "latest", "two");

        Assert.Equal(second.Digest, (await _r.Manifests.GetManifestAsync(_retaining.Key, "app", "latest", RegistryFixture.AllowAll, default))?.Digest);
        var revision = await _r.Manifests.GetManifestAsync(_retaining.Key, "app", first.Digest.ToString(), RegistryFixture.AllowAll, default);
        Assert.Equal($"app/{first.Digest}/manifest.json", revision?.Path);
        Assert.Equal(["latest"], await RetainedForAsync(_retaining, first));
        Assert.Contains($"sha256__{first.Layer.Hex}", await _r.ChildrenAsync(_retaining.Key, $"app/{first.Digest}"));
        Assert.Equal(["latest"], await TagsAsync(_retaining));
    }

    [Fact]
    public async Task The_next_move_prunes_the_oldest_revision_beyond_the_retention()
    {
        var first = await PushAsync(_retaining, "latest", "one");
        var second = await PushAsync(_retaining, "latest", "two");
        await PushAsync(_retaining, "latest", "three");

        Assert.Null(await _r.ItemAsync(_retaining.Key, $"app/{first.Digest}"));
        Assert.Null(await _r.Manifests.GetManifestAsync(_retaining.Key, "app", first.Digest.ToString(), RegistryFixture.AllowAll, default));
        Assert.Equal(["latest"], await RetainedForAsync(_retaining, second));
    }

    [Fact]
    public async Task A_revision_pushed_by_digest_is_marked_rather_than_copied_and_survives_the_pruning()
    {
        var first = await _r.PushImageAsync("app", "digest", "one", _retaining);
        Assert.Equal(V2Outcome.Created, (await _r.Manifests.PutManifestAsync(
            _retaining, "app", "latest", first.Manifest, Manifests.OciManifest, RegistryFixture.User, RegistryFixture.AllowAll, default)).Outcome);
        _r.Clock.Advance(TimeSpan.FromMinutes(1));

        await PushAsync(_retaining, "latest", "two");
        Assert.Equal(["latest"], await RetainedForAsync(_retaining, first));
        await PushAsync(_retaining, "latest", "three");

        Assert.Empty(await RetainedForAsync(_retaining, first));
        Assert.NotNull(await _r.Manifests.GetManifestAsync(_retaining.Key, "app", first.Digest.ToString(), RegistryFixture.AllowAll, default));
    }

    /// <summary>
    /// The mirror of the test above, pushed in the other order: the push by digest finds the
    /// manifest already in <c>sha256:&lt;hex&gt;/</c> (a revision retention created, whose
    /// <c>docker.manifest</c> is the tag) and answers Created without claiming the folder, so the
    /// next move of the tag prunes the manifest the client has just pushed by digest.
    /// </summary>
    [Fact]
    public async Task A_manifest_pushed_by_digest_onto_a_retained_revision_survives_the_pruning()
    {
        var first = await PushAsync(_retaining, "latest", "one");
        await PushAsync(_retaining, "latest", "two");
        Assert.Equal(["latest"], await RetainedForAsync(_retaining, first));
        Assert.Equal(V2Outcome.Created, (await _r.Manifests.PutManifestAsync(
            _retaining, "app", first.Digest.ToString(), first.Manifest, Manifests.OciManifest, RegistryFixture.User, RegistryFixture.AllowAll, default)).Outcome);
        _r.Clock.Advance(TimeSpan.FromMinutes(1));

        await PushAsync(_retaining, "latest", "three");

        Assert.NotNull(await _r.Manifests.GetManifestAsync(_retaining.Key, "app", first.Digest.ToString(), RegistryFixture.AllowAll, default));
    }

    [Fact]
    public async Task A_revision_the_caller_may_not_deploy_refuses_the_move_and_keeps_the_tag()
    {
        var first = await PushAsync(_retaining, "latest", "one");
        var config = await _r.PushBlobAsync("app", "{\"v\":2}"u8.ToArray(), _retaining.Key);
        var layer = await _r.PushBlobAsync("app", "two"u8.ToArray(), _retaining.Key);
        var cannotDeployRevisions = RegistryFixture.Refusing(AccessActions.Deploy, p => p.StartsWith("app/sha256:", StringComparison.Ordinal));

        var (outcome, _, _, _) = await _r.Manifests.PutManifestAsync(
            _retaining, "app", "latest", RegistryFixture.ManifestJson(config, 7, layer, 3), Manifests.OciManifest, RegistryFixture.User, cannotDeployRevisions, default);

        Assert.Equal(V2Outcome.Denied, outcome);
        Assert.Equal(first.Digest, (await _r.Manifests.GetManifestAsync(_retaining.Key, "app", "latest", RegistryFixture.AllowAll, default))?.Digest);
        Assert.Null(await _r.ItemAsync(_retaining.Key, $"app/{first.Digest}"));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task Without_retention_a_moved_tag_keeps_no_revision()
    {
        var first = await PushAsync(_r.V2Repository, "latest", "one");
        await PushAsync(_r.V2Repository, "latest", "two");

        Assert.Null(await _r.Manifests.GetManifestAsync(RegistryFixture.V2Repo, "app", first.Digest.ToString(), RegistryFixture.AllowAll, default));
    }

    [Fact]
    public async Task A_new_tag_beyond_max_unique_tags_drops_the_oldest_by_creation_time()
    {
        await PushAsync(_limited, "b-first", "1");
        await PushAsync(_limited, "a-second", "2");
        await PushAsync(_limited, "c-third", "3");

        Assert.Equal(["a-second", "c-third"], await TagsAsync(_limited));
        Assert.Null(await _r.ItemAsync(_limited.Key, "app/b-first"));
    }

    [Fact]
    public async Task Latest_counts_like_any_other_tag()
    {
        await PushAsync(_limited, "latest", "1");
        await PushAsync(_limited, "1.0", "2");
        await PushAsync(_limited, "2.0", "3");

        Assert.Equal(["1.0", "2.0"], await TagsAsync(_limited));
    }

    [Fact]
    public async Task Pushing_the_same_manifest_again_keeps_the_tags_creation_time()
    {
        var oldest = await PushAsync(_limited, "one", "1");
        await PushAsync(_limited, "two", "2");
        Assert.Equal(V2Outcome.Created, (await _r.Manifests.PutManifestAsync(
            _limited, "app", "one", oldest.Manifest, Manifests.OciManifest, RegistryFixture.User, RegistryFixture.AllowAll, default)).Outcome);
        _r.Clock.Advance(TimeSpan.FromMinutes(1));

        await PushAsync(_limited, "three", "3");

        Assert.Equal(["three", "two"], await TagsAsync(_limited));
    }

    [Fact]
    public async Task A_tag_moved_to_other_content_counts_as_created_when_moved()
    {
        await PushAsync(_limited, "one", "1");
        await PushAsync(_limited, "two", "2");
        await PushAsync(_limited, "one", "1 again, other content");

        Assert.Equal(["one", "two"], await TagsAsync(_limited));
        await PushAsync(_limited, "three", "3");

        Assert.Equal(["one", "three"], await TagsAsync(_limited));
    }

    [Fact]
    public async Task Pushes_by_digest_do_not_count_as_tags()
    {
        await PushAsync(_limited, "one", "1");
        await PushAsync(_limited, "digest", "2");
        await PushAsync(_limited, "digest", "3");
        await PushAsync(_limited, "two", "4");

        Assert.Equal(["one", "two"], await TagsAsync(_limited));
    }

    [Fact]
    public async Task A_tag_that_would_drop_one_the_caller_may_not_delete_is_denied_whole()
    {
        await PushAsync(_limited, "one", "1");
        await PushAsync(_limited, "two", "2");
        var config = await _r.PushBlobAsync("app", "{\"v\":3}"u8.ToArray(), _limited.Key);
        var layer = await _r.PushBlobAsync("app", "three"u8.ToArray(), _limited.Key);
        var cannotDeleteOne = RegistryFixture.Refusing(AccessActions.Delete, p => p.StartsWith("app/one/", StringComparison.Ordinal));

        var (outcome, _, _, message) = await _r.Manifests.PutManifestAsync(
            _limited, "app", "three", RegistryFixture.ManifestJson(config, 7, layer, 5), Manifests.OciManifest, RegistryFixture.User, cannotDeleteOne, default);

        Assert.Equal(V2Outcome.Denied, outcome);
        Assert.Contains("maxUniqueTags", message, StringComparison.Ordinal);
        Assert.Equal(["one", "two"], await TagsAsync(_limited));
        await _r.AssertIndexConsistentAsync();
    }
}
