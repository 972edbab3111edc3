using System.Security.Cryptography;
using System.Text;
using Wharf.Core.Docker.V2;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Security;
using Wharf.Core.Tests.Support;

namespace Wharf.Core.Tests.Docker;

/// <summary>V2Manifests: push by tag and by digest, the checks on what a manifest names, re-push, get and delete.</summary>
public sealed class V2ManifestTests : IAsyncLifetime
{
    private const string Repo = RegistryFixture.V2Repo;
    private const string Oci = Manifests.OciManifest;

    private RegistryFixture _r = null!;

    public async Task InitializeAsync() => _r = await RegistryFixture.CreateAsync();

    public async Task DisposeAsync() => await _r.DisposeAsync();

    private Task<(V2Outcome Outcome, Digest? Digest, Digest? Subject, string Message)> PutAsync(string image, string reference, byte[] manifest, ItemAccess? access = null) =>
        _r.Manifests.PutManifestAsync(_r.V2Repository, image, reference, manifest, Oci, RegistryFixture.User, access ?? RegistryFixture.AllowAll, default);

    private ValueTask<StoredManifest?> GetAsync(string image, string reference) =>
        _r.Manifests.GetManifestAsync(Repo, image, reference, RegistryFixture.AllowAll, default);

    [Fact]
    public async Task A_manifest_pushed_by_tag_is_stored_in_the_tag_folder_with_the_blobs_it_names()
    {
        var pushed = await _r.PushImageAsync("team/app", "1.0", "one");

        Assert.Equal(
            ["manifest.json", $"sha256__{pushed.Config.Hex}", $"sha256__{pushed.Layer.Hex}"],
            (await _r.ChildrenAsync(Repo, "team/app/1.0")).Order(StringComparer.Ordinal));
        var properties = await _r.PropertiesAsync(Repo, "team/app/1.0/manifest.json");
        Assert.Equal(["1.0"], properties[V2Properties.Manifest]);
        Assert.Equal([pushed.Digest.ToString()], properties[V2Properties.ManifestDigest]);
        Assert.Equal(["team/app"], properties[V2Properties.RepoName]);
        Assert.Equal(["one"], properties[V2Properties.LabelPrefix + "layer"]);
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task A_manifest_pushed_by_tag_answers_by_tag_and_by_digest_with_its_bytes()
    {
        var pushed = await _r.PushImageAsync("app", "latest", "one");

        var byTag = await GetAsync("app", "latest");
        var byDigest = await GetAsync("app", pushed.Digest.ToString());

        Assert.NotNull(byTag);
        Assert.Equal(pushed.Digest, byTag.Digest);
        Assert.Equal(Oci, byTag.MediaType);
        Assert.Equal(pushed.Manifest, await _r.Manifests.ReadManifestAsync(byTag, default));
        Assert.Equal(byTag, byDigest);
        Assert.Null(await GetAsync("app", "other"));
        Assert.Null(await GetAsync("other", "latest"));
    }

    [Fact]
    public async Task A_manifest_pushed_by_digest_lives_in_its_digest_folder_and_has_no_tag()
    {
        var pushed = await _r.PushImageAsync("app", "digest", "one");

        var stored = await GetAsync("app", pushed.Digest.ToString());
        Assert.Equal($"app/{pushed.Digest}/manifest.json", stored?.Path);
        Assert.Equal(["_uploads", pushed.Digest.ToString()], await _r.ChildrenAsync(Repo, "app"));
        Assert.Equal([], await _r.Discovery.ListTagsAsync(Repo, "app", RegistryFixture.AllowAll, default));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task A_manifest_pushed_under_a_digest_that_is_not_its_own_is_refused()
    {
        var pushed = await _r.PushImageAsync("app", "1", "one");
        var other = Digest.OfSha256(Sha256Hex.Of("something else"u8));

        var (outcome, _, _, _) = await PutAsync("app", other.ToString(), pushed.Manifest);

        Assert.Equal(V2Outcome.DigestInvalid, outcome);
        Assert.Null(await _r.ItemAsync(Repo, $"app/{other}"));
    }

    [Fact]
    public async Task A_manifest_naming_a_blob_the_image_does_not_hold_is_refused_with_nothing_written()
    {
        var config = await _r.PushBlobAsync("app", "{}"u8.ToArray());
        var missing = Digest.OfSha256(Sha256Hex.Of("never pushed"u8));
        var manifest = RegistryFixture.ManifestJson(config, 2, missing, 12);

        var (outcome, _, _, message) = await PutAsync("app", "1", manifest);

        Assert.Equal(V2Outcome.ManifestBlobUnknown, outcome);
        Assert.Contains(missing.ToString(), message, StringComparison.Ordinal);
        Assert.Null(await _r.ItemAsync(Repo, "app/1"));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task A_manifest_naming_a_blob_of_another_image_only_is_refused()
    {
        var config = await _r.PushBlobAsync("app", "{}"u8.ToArray());
        var layer = await _r.PushBlobAsync("elsewhere", "layer"u8.ToArray());

        var (outcome, _, _, _) = await PutAsync("app", "1", RegistryFixture.ManifestJson(config, 2, layer, 5));

        Assert.Equal(V2Outcome.ManifestBlobUnknown, outcome);
    }

    [Fact]
    public async Task A_descriptor_whose_size_is_not_the_stored_size_is_refused()
    {
        var config = await _r.PushBlobAsync("app", "{}"u8.ToArray());
        var layer = await _r.PushBlobAsync("app", "layer"u8.ToArray());

        var (outcome, _, _, message) = await PutAsync("app", "1", RegistryFixture.ManifestJson(config, 2, layer, 6));

        Assert.Equal(V2Outcome.ManifestInvalid, outcome);
        Assert.Contains("layers[0]", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_schema_1_manifest_is_unsupported_and_bad_json_is_invalid()
    {
        var schema1 = """{"schemaVersion":1,"name":"app","tag":"1","fsLayers":[]}"""u8.ToArray();

        Assert.Equal(V2Outcome.ManifestUnsupported, (await PutAsync("app", "1", schema1)).Outcome);
        Assert.Equal(V2Outcome.ManifestInvalid, (await PutAsync("app", "1", "{not json"u8.ToArray())).Outcome);
    }

    [Fact]
    public async Task Pushing_the_same_manifest_again_changes_nothing_not_even_times()
    {
        var pushed = await _r.PushImageAsync("app", "1", "one");
        var before = await _r.ItemAsync(Repo, "app/1/manifest.json");
        _r.Clock.Advance(TimeSpan.FromDays(3));

        var (outcome, digest, _, _) = await PutAsync("app", "1", pushed.Manifest);

        Assert.Equal(V2Outcome.Created, outcome);
        Assert.Equal(pushed.Digest, digest);
        Assert.Equal(before, await _r.ItemAsync(Repo, "app/1/manifest.json"));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task Pushing_other_content_to_a_tag_replaces_its_manifest_and_blob_names()
    {
        var first = await _r.PushImageAsync("app", "1", "one");
        var second = await _r.PushImageAsync("app", "1", "two");

        Assert.Equal(second.Digest, (await GetAsync("app", "1"))?.Digest);
        Assert.Null(await GetAsync("app", first.Digest.ToString()));
        Assert.DoesNotContain($"sha256__{first.Layer.Hex}", await _r.ChildrenAsync(Repo, "app/1"));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task Replacing_a_tag_with_other_content_needs_delete_permission_there()
    {
        var first = await _r.PushImageAsync("app", "1", "one");
        var config = await _r.PushBlobAsync("app", "{\"v\":2}"u8.ToArray());
        var layer = await _r.PushBlobAsync("app", "layer 2"u8.ToArray());
        var cannotDelete = RegistryFixture.Refusing(AccessActions.Delete, _ => true);

        var (outcome, _, _, _) = await PutAsync("app", "1", RegistryFixture.ManifestJson(config, 7, layer, 7), cannotDelete);

        Assert.Equal(V2Outcome.Denied, outcome);
        Assert.Equal(first.Digest, (await GetAsync("app", "1"))?.Digest);
        Assert.Equal(V2Outcome.Created, (await PutAsync("app", "1", first.Manifest, cannotDelete)).Outcome);
    }

    [Fact]
    public async Task A_push_the_caller_may_not_deploy_is_denied()
    {
        var config = await _r.PushBlobAsync("app", "{}"u8.ToArray());
        var layer = await _r.PushBlobAsync("app", "layer"u8.ToArray());
        var cannotDeploy = RegistryFixture.Refusing(AccessActions.Deploy, p => p.StartsWith("app/1/", StringComparison.Ordinal));

        Assert.Equal(V2Outcome.Denied, (await PutAsync("app", "1", RegistryFixture.ManifestJson(config, 2, layer, 5), cannotDeploy)).Outcome);
        Assert.Null(await _r.ItemAsync(Repo, "app/1"));
    }

    [Fact]
    public async Task A_manifest_readable_nowhere_is_unknown_to_the_caller()
    {
        var pushed = await _r.PushImageAsync("app", "1", "one");
        var cannotRead = RegistryFixture.Refusing(AccessActions.Read, _ => true);

        Assert.Null(await _r.Manifests.GetManifestAsync(Repo, "app", "1", cannotRead, default));
        Assert.Null(await _r.Manifests.GetManifestAsync(Repo, "app", pushed.Digest.ToString(), cannotRead, default));
        Assert.Equal(V2Outcome.ManifestUnknown, await _r.Manifests.DeleteManifestAsync(Repo, "app", "1", cannotRead, default));
    }

    [Fact]
    public async Task Deleting_by_tag_removes_that_tag_folder_only()
    {
        var pushed = await _r.PushImageAsync("app", "1", "one");
        Assert.Equal(V2Outcome.Created, (await PutAsync("app", "2", pushed.Manifest)).Outcome);

        Assert.Equal(V2Outcome.Ok, await _r.Manifests.DeleteManifestAsync(Repo, "app", "1", RegistryFixture.AllowAll, default));

        Assert.Null(await _r.ItemAsync(Repo, "app/1"));
        Assert.Equal(pushed.Digest, (await GetAsync("app", "2"))?.Digest);
        Assert.Equal(["2"], await _r.Discovery.ListTagsAsync(Repo, "app", RegistryFixture.AllowAll, default));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task Deleting_or_moving_a_tag_leaves_the_nested_image_that_shares_its_folder()
    {
        // Tag "b" of image "a" and the image "a/b" share the folder a/b/.
        await _r.PushImageAsync("a", "b", "tag b of a");
        var nested = await _r.PushImageAsync("a/b", "1", "image a/b");
        await _r.PushImageAsync("a", "b", "tag b of a, moved");

        Assert.Equal(V2Outcome.Ok, await _r.Manifests.DeleteManifestAsync(Repo, "a", "b", RegistryFixture.AllowAll, default));

        Assert.Equal([], await _r.Discovery.ListTagsAsync(Repo, "a", RegistryFixture.AllowAll, default));
        Assert.Equal(nested.Digest, (await GetAsync("a/b", "1"))?.Digest);
        Assert.Equal(["1", "_uploads"], await _r.ChildrenAsync(Repo, "a/b"));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task Deleting_by_digest_removes_every_folder_holding_that_manifest()
    {
        var pushed = await _r.PushImageAsync("app", "1", "one");
        Assert.Equal(V2Outcome.Created, (await PutAsync("app", "2", pushed.Manifest)).Outcome);
        Assert.Equal(V2Outcome.Created, (await PutAsync("app", pushed.Digest.ToString(), pushed.Manifest)).Outcome);
        var kept = await _r.PushImageAsync("app", "3", "three");

        Assert.Equal(V2Outcome.Ok, await _r.Manifests.DeleteManifestAsync(Repo, "app", pushed.Digest.ToString(), RegistryFixture.AllowAll, default));

        Assert.Null(await GetAsync("app", pushed.Digest.ToString()));
        Assert.Equal(["3"], await _r.Discovery.ListTagsAsync(Repo, "app", RegistryFixture.AllowAll, default));
        Assert.Equal(kept.Digest, (await GetAsync("app", "3"))?.Digest);
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task Deleting_a_manifest_that_is_not_there_is_unknown()
    {
        await _r.PushImageAsync("app", "1", "one");

        Assert.Equal(V2Outcome.ManifestUnknown, await _r.Manifests.DeleteManifestAsync(Repo, "app", "2", RegistryFixture.AllowAll, default));
        Assert.Equal(V2Outcome.ManifestUnknown, await _r.Manifests.DeleteManifestAsync(Repo, "app", Digest.OfSha256(Sha256Hex.Of("x"u8)).ToString(), RegistryFixture.AllowAll, default));
    }

    [Fact]
    public async Task Deleting_a_tag_needs_delete_permission_on_each_of_its_files()
    {
        var pushed = await _r.PushImageAsync("app", "1", "one");
        var cannotDeleteLayer = RegistryFixture.Refusing(AccessActions.Delete, p => p.EndsWith(pushed.Layer.Hex, StringComparison.Ordinal));

        Assert.Equal(V2Outcome.Denied, await _r.Manifests.DeleteManifestAsync(Repo, "app", "1", cannotDeleteLayer, default));

        Assert.NotNull(await GetAsync("app", "1"));
    }

    [Fact]
    public async Task An_index_naming_manifests_of_the_image_is_stored_as_a_list_manifest()
    {
        var amd = await _r.PushImageAsync("app", "digest", "amd64");
        var arm = await _r.PushImageAsync("app", "digest", "arm64");
        var index = Encoding.UTF8.GetBytes($$"""
            {"schemaVersion":2,"mediaType":"{{Manifests.OciIndex}}","manifests":[
             {"mediaType":"{{Oci}}","digest":"{{amd.Digest}}","size":{{amd.Manifest.Length}}},
             {"mediaType":"{{Oci}}","digest":"{{arm.Digest}}","size":{{arm.Manifest.Length}}}]}
            """);

        var (outcome, digest, _, message) = await _r.Manifests.PutManifestAsync(_r.V2Repository, "app", "multi", index, Manifests.OciIndex, RegistryFixture.User, RegistryFixture.AllowAll, default);

        Assert.True(outcome == V2Outcome.Created, message);
        Assert.NotNull(await _r.ItemAsync(Repo, "app/multi/list.manifest.json"));
        Assert.Equal(Manifests.OciIndex, (await GetAsync("app", "multi"))?.MediaType);
        Assert.Equal(Digest.OfSha256(Sha256Hex.Of(index)), digest);
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task A_manifest_pushed_by_a_sha512_digest_is_known_by_it_in_its_own_folder()
    {
        var pushed = await _r.PushImageAsync("app", "1", "one");
        var sha512 = new Digest(Digest.Sha512, Convert.ToHexStringLower(SHA512.HashData(pushed.Manifest)));

        var (outcome, digest, _, _) = await PutAsync("app", sha512.ToString(), pushed.Manifest);

        Assert.Equal(V2Outcome.Created, outcome);
        Assert.Equal(sha512, digest);
        var stored = await GetAsync("app", sha512.ToString());
        Assert.Equal((sha512, $"app/{sha512}/manifest.json"), (stored?.Digest, stored?.Path));
        await _r.AssertIndexConsistentAsync();

        Assert.Equal(V2Outcome.Ok, await _r.Manifests.DeleteManifestAsync(Repo, "app", sha512.ToString(), RegistryFixture.AllowAll, default));
        Assert.Null(await GetAsync("app", sha512.ToString()));
        Assert.Equal(pushed.Digest, (await GetAsync("app", "1"))?.Digest);
        await _r.AssertIndexConsistentAsync();
    }
}
