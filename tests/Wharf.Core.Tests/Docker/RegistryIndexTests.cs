using Wharf.Core.Docker;
using Wharf.Core.Docker.V1;
using Wharf.Core.Docker.V2;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Tests.Support;
using Wharf.Core.Tree;

namespace Wharf.Core.Tests.Docker;

/// <summary>
/// The registry index kept by <see cref="IndexedMetadataStore"/>: any tree write through the
/// decorated store keeps it consistent, whoever makes it; a write that bypasses the decorator is
/// what <see cref="RegistryIndexCheck.CheckAsync"/> reports, and what
/// <see cref="RegistryIndexCheck.BackfillAsync"/> rebuilds (once) from trees written without it.
/// </summary>
public sealed class RegistryIndexTests : IAsyncLifetime
{
    private const string Repo = RegistryFixture.V2Repo;
    private static readonly V1RepositoryName Web = new("acme", "web");

    private RegistryFixture _r = null!;

    public async Task InitializeAsync() => _r = await RegistryFixture.CreateAsync();

    public async Task DisposeAsync() => await _r.DisposeAsync();

    /// <summary>Copies every item below <paramref name="from"/> to <paramref name="to"/> with its properties, as the storage API's copy does.</summary>
    private async Task CopyAsync(IMetadataStore store, string fromRepo, string from, string toRepo, string to)
    {
        var items = new List<(TreeItem Item, IReadOnlyDictionary<string, IReadOnlyList<string>> Properties)>();
        await using (var session = await _r.Store.OpenAsync(default))
        {
            foreach (var item in await session.Tree.ListDescendantsAsync(fromRepo, from, default))
            {
                items.Add((item, await session.Tree.GetPropertiesAsync(fromRepo, item.Path, default)));
            }
        }

        await RegistryFixture.WriteAsync(store, async tx =>
        {
            var now = _r.Clock.GetUtcNow();
            foreach (var (item, properties) in items)
            {
                var path = to + item.Path[from.Length..];
                if (item.IsFolder)
                {
                    await tx.Tree.EnsureFolderAsync(toRepo, path, RegistryFixture.User, now, default);
                    if (properties.Count > 0)
                    {
                        await tx.Tree.SetPropertiesAsync(toRepo, path, properties, default);
                    }
                }
                else
                {
                    await tx.Tree.PutFileAsync(toRepo, new NewFile(path, item.Sha256!, item.Size, item.MimeType!, properties), RegistryFixture.User, now, default);
                }
            }
        });
    }

    private async Task<IReadOnlyList<ConsistencyProblem>> ProblemsAsync() => (await _r.IndexCheck.CheckAsync(default)).Problems;

    private async Task PushV1TagAsync(string tag, string image)
    {
        var id = RegistryFixture.ImageIdOf(image);
        await _r.PublishV1ImageAsync(id, null, System.Text.Encoding.UTF8.GetBytes("layer of " + image));
        Assert.Equal(V1Outcome.Ok, await _r.V1.Repositories.AnnounceAsync(RegistryFixture.V1Repo, Web, [id], RegistryFixture.User, default));
        Assert.Equal(V1Outcome.Ok, await _r.V1.Tags.PutTagAsync(RegistryFixture.V1Repo, Web, tag, id, RegistryFixture.User, RegistryFixture.AllowAll, default));
    }

    [Fact]
    public async Task A_fresh_instance_is_consistent_and_the_check_counts_what_it_read()
    {
        await _r.PushImageAsync("app", "1", "one");
        await PushV1TagAsync("latest", "base");

        var report = await _r.IndexCheck.CheckAsync(default);

        Assert.Empty(report.Problems);
        Assert.Equal(2, report.Repositories);
        Assert.Equal(5 + 4 + 2, report.Files); // two uploads and a tag folder of three; an image of four, its index and tag
    }

    [Fact]
    public async Task A_tag_folder_copied_through_the_store_becomes_a_tag_of_the_target_image()
    {
        var pushed = await _r.PushImageAsync("app", "1", "one");

        await CopyAsync(_r.Store, Repo, "app/1", Repo, "copy/stable");

        Assert.Equal(["stable"], await _r.Discovery.ListTagsAsync(Repo, "copy", RegistryFixture.AllowAll, default));
        Assert.Equal(pushed.Digest, (await _r.Manifests.GetManifestAsync(Repo, "copy", "stable", RegistryFixture.AllowAll, default))?.Digest);
        Assert.NotNull(await _r.Blobs.FindBlobAsync(Repo, "copy", pushed.Layer, RegistryFixture.AllowAll, default));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task A_tag_folder_copied_into_another_v2_repository_is_indexed_there()
    {
        var other = await _r.CreateRepositoryAsync(new("other-v2", DockerApiVersion.V2));
        await _r.PushImageAsync("app", "1", "one");

        await CopyAsync(_r.Store, Repo, "app/1", other.Key, "app/1");

        Assert.Equal(["app"], await _r.Discovery.CatalogAsync(other.Key, RegistryFixture.AllowAll, default));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task A_v2_tag_folder_copied_into_a_v1_repository_means_nothing_to_the_v2_index_there()
    {
        await _r.PushImageAsync("app", "1", "one");

        await CopyAsync(_r.Store, Repo, "app", RegistryFixture.V1Repo, "app");

        Assert.Empty(await _r.Discovery.CatalogAsync(RegistryFixture.V1Repo, RegistryFixture.AllowAll, default));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task A_folder_deleted_through_the_store_is_forgotten_with_everything_below_it()
    {
        await _r.PushImageAsync("team/app", "1", "one");
        await _r.PushImageAsync("team/app/sub", "2", "two");
        await _r.PushImageAsync("other", "3", "three");

        await RegistryFixture.WriteAsync(_r.Store, tx => tx.Tree.DeleteAsync(Repo, "team", default));

        Assert.Null(await _r.Discovery.ListTagsAsync(Repo, "team/app", RegistryFixture.AllowAll, default));
        Assert.Equal(["other"], await _r.Discovery.CatalogAsync(Repo, RegistryFixture.AllowAll, default));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task A_property_set_on_a_manifest_through_the_store_changes_what_the_referrers_api_answers()
    {
        var subject = await _r.PushImageAsync("app", "1", "subject");
        var referrer = await _r.PushImageAsync("app", "sig", "sig", artifactType: "application/vnd.example.old", subject: subject);

        await RegistryFixture.WriteAsync(_r.Store, tx => tx.Tree.SetPropertiesAsync(
            Repo, "app/sig/manifest.json", new Dictionary<string, IReadOnlyList<string>> { [V2Properties.ArtifactType] = ["application/vnd.example.new"] }, default));

        var listed = Assert.Single(await _r.Discovery.ReferrersAsync(Repo, "app", subject.Digest, "application/vnd.example.new", RegistryFixture.AllowAll, default));
        Assert.Equal(referrer.Digest, listed.Digest);
        Assert.Empty(await _r.Discovery.ReferrersAsync(Repo, "app", subject.Digest, "application/vnd.example.old", RegistryFixture.AllowAll, default));
        await _r.AssertIndexConsistentAsync();

        await RegistryFixture.WriteAsync(_r.Store, tx => tx.Tree.DeletePropertiesAsync(Repo, "app/sig/manifest.json", [V2Properties.Subject], default));

        Assert.Empty(await _r.Discovery.ReferrersAsync(Repo, "app", subject.Digest, null, RegistryFixture.AllowAll, default));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task A_manifest_touched_through_the_store_keeps_its_row_in_step()
    {
        await _r.PushImageAsync("app", "1", "one");
        _r.Clock.Advance(TimeSpan.FromHours(2));

        await RegistryFixture.WriteAsync(_r.Store, tx => tx.Tree.TouchAsync(Repo, "app/1/manifest.json", "someone", _r.Clock.GetUtcNow(), default));

        Assert.Equal(_r.Clock.GetUtcNow(), (await _r.ItemAsync(Repo, "app/1/manifest.json"))?.Modified);
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task V1_tag_and_image_writes_through_the_store_keep_the_v1_index_in_step()
    {
        await PushV1TagAsync("1.0", "base");
        await CopyAsync(_r.Store, RegistryFixture.V1Repo, "repositories/acme/web/1.0", RegistryFixture.V1Repo, "repositories/acme/web/copied");

        var tags = await _r.V1.Tags.ListTagsAsync(RegistryFixture.V1Repo, Web, RegistryFixture.AllowAll, default);
        Assert.Equal(["1.0", "copied"], tags!.Select(t => t.Tag).Order(StringComparer.Ordinal));
        await _r.AssertIndexConsistentAsync();

        await RegistryFixture.WriteAsync(_r.Store, tx => tx.Tree.DeleteAsync(RegistryFixture.V1Repo, V1Layout.ImageFolder(RegistryFixture.ImageIdOf("base")), default));

        Assert.Equal(V1Outcome.ImageNotFound, (await _r.V1.Images.GetImageAsync(RegistryFixture.V1Repo, RegistryFixture.ImageIdOf("base"), default)).Outcome);
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task A_manifest_written_past_the_index_is_reported_as_missing_from_it()
    {
        await _r.PushImageAsync("app", "1", "one");

        await CopyAsync(_r.Inner, Repo, "app/1", Repo, "app/forged");

        var problems = await ProblemsAsync();
        Assert.Contains(problems, p => p.Path == "app/forged/manifest.json" && p.Problem.StartsWith("the index lacks", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Path.StartsWith("app/forged/sha256__", StringComparison.Ordinal));
        Assert.All(problems, p => Assert.Equal(Repo, p.Repo));
    }

    [Fact]
    public async Task A_manifest_deleted_past_the_index_is_reported_as_held_by_it_only()
    {
        await _r.PushImageAsync("app", "1", "one");

        await RegistryFixture.WriteAsync(_r.Inner, tx => tx.Tree.DeleteAsync(Repo, "app/1/manifest.json", default));

        var problem = Assert.Single(await ProblemsAsync());
        Assert.Equal("app/1/manifest.json", problem.Path);
        Assert.Contains("the tree does not", problem.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_property_changed_past_the_index_is_reported_as_a_difference()
    {
        await _r.PushImageAsync("app", "1", "one", artifactType: "application/vnd.example.a");

        await RegistryFixture.WriteAsync(_r.Inner, tx => tx.Tree.SetPropertiesAsync(
            Repo, "app/1/manifest.json", new Dictionary<string, IReadOnlyList<string>> { [V2Properties.ArtifactType] = ["application/vnd.example.b"] }, default));

        var problem = Assert.Single(await ProblemsAsync());
        Assert.Equal("app/1/manifest.json", problem.Path);
        Assert.StartsWith("the index holds", problem.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_v1_tag_deleted_past_the_index_is_reported()
    {
        await PushV1TagAsync("1.0", "base");

        await RegistryFixture.WriteAsync(_r.Inner, tx => tx.Tree.DeleteAsync(RegistryFixture.V1Repo, V1Layout.Tag(Web, "1.0"), default));

        var problem = Assert.Single(await ProblemsAsync());
        Assert.Equal((RegistryFixture.V1Repo, V1Layout.Tag(Web, "1.0")), (problem.Repo, problem.Path));
    }

    [Fact]
    public async Task Content_missing_from_the_store_is_reported_for_every_file_naming_it()
    {
        var pushed = await _r.PushImageAsync("app", "1", "one");

        File.Delete(Assert.Single(_r.StoredFiles("blobs"), f => f.EndsWith(pushed.Layer.Hex, StringComparison.Ordinal)));

        var problems = await ProblemsAsync();
        Assert.Equal(
            [$"app/1/sha256__{pushed.Layer.Hex}", $"app/_uploads/sha256__{pushed.Layer.Hex}"],
            problems.Select(p => p.Path).Order(StringComparer.Ordinal));
        Assert.All(problems, p => Assert.Contains("is not stored", p.Problem, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_backfill_reads_trees_written_without_the_index_into_a_consistent_one_and_runs_once()
    {
        var pushed = await _r.PushImageAsync("app", "1", "one");
        await PushV1TagAsync("1.0", "base");
        var rawV2 = await _r.CreateRepositoryAsync(new("raw-v2", DockerApiVersion.V2));
        var rawV1 = await _r.CreateRepositoryAsync(new("raw-v1", DockerApiVersion.V1));
        await CopyAsync(_r.Inner, Repo, "", rawV2.Key, "");
        await CopyAsync(_r.Inner, RegistryFixture.V1Repo, "", rawV1.Key, "");
        var before = await ProblemsAsync();
        Assert.NotEmpty(before);
        Assert.All(before, p => Assert.StartsWith("raw-", p.Repo, StringComparison.Ordinal));
        Assert.Null(await _r.Discovery.ListTagsAsync(rawV2.Key, "app", RegistryFixture.AllowAll, default));

        Assert.True(await _r.IndexCheck.BackfillAsync(default) > 0);

        await _r.AssertIndexConsistentAsync();
        Assert.Equal(["1"], await _r.Discovery.ListTagsAsync(rawV2.Key, "app", RegistryFixture.AllowAll, default));
        Assert.Equal(pushed.Digest, (await _r.Manifests.GetManifestAsync(rawV2.Key, "app", "1", RegistryFixture.AllowAll, default))?.Digest);
        Assert.Equal(RegistryFixture.ImageIdOf("base"), await _r.V1.Tags.GetTagAsync(rawV1.Key, Web, "1.0", RegistryFixture.AllowAll, default));
        Assert.Equal(V1Outcome.Ok, (await _r.V1.Images.GetImageAsync(rawV1.Key, RegistryFixture.ImageIdOf("base"), default)).Outcome);

        // Once done, it is not done again: a later write past the index stays reported.
        await CopyAsync(_r.Inner, Repo, "app/1", rawV2.Key, "app/late");
        Assert.Equal(0, await _r.IndexCheck.BackfillAsync(default));
        Assert.Contains(await ProblemsAsync(), p => p.Path == "app/late/manifest.json");
    }

    [Fact]
    public async Task The_backfill_replaces_index_rows_no_tree_supports()
    {
        await _r.PushImageAsync("app", "1", "one");
        await RegistryFixture.WriteAsync(_r.Inner, tx => tx.Tree.DeleteAsync(Repo, "app/1", default));
        Assert.NotEmpty(await ProblemsAsync());

        await _r.IndexCheck.BackfillAsync(default);

        await _r.AssertIndexConsistentAsync();
        Assert.Equal([], await _r.Discovery.ListTagsAsync(Repo, "app", RegistryFixture.AllowAll, default));
    }
}
