using Wharf.Core.Docker.V2;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Security;
using Wharf.Core.Tests.Support;

namespace Wharf.Core.Tests.Docker;

/// <summary>V2Discovery: tags lists, the catalog and the referrers API, answered from the registry index.</summary>
public sealed class V2DiscoveryTests : IAsyncLifetime
{
    private const string Repo = RegistryFixture.V2Repo;
    private const string Signature = "application/vnd.example.signature";
    private const string Sbom = "application/vnd.example.sbom";

    private RegistryFixture _r = null!;

    public async Task InitializeAsync() => _r = await RegistryFixture.CreateAsync();

    public async Task DisposeAsync() => await _r.DisposeAsync();

    private ValueTask<IReadOnlyList<string>?> TagsAsync(string image, ItemAccess? access = null) =>
        _r.Discovery.ListTagsAsync(Repo, image, access ?? RegistryFixture.AllowAll, default);

    [Fact]
    public async Task Tags_are_listed_in_lexical_order_without_digest_folders()
    {
        await _r.PushImageAsync("app", "v2", "two");
        await _r.PushImageAsync("app", "v10", "ten");
        await _r.PushImageAsync("app", "latest", "latest");
        await _r.PushImageAsync("app", "digest", "untagged");

        Assert.Equal(["latest", "v10", "v2"], await TagsAsync("app"));
    }

    [Fact]
    public async Task Tags_of_a_nested_image_are_not_those_of_its_parent()
    {
        await _r.PushImageAsync("team", "1", "parent");
        await _r.PushImageAsync("team/app", "2", "child");

        Assert.Equal(["1"], await TagsAsync("team"));
        Assert.Equal(["2"], await TagsAsync("team/app"));
    }

    [Fact]
    public async Task Only_tags_the_caller_may_read_are_listed()
    {
        await _r.PushImageAsync("app", "public", "one");
        await _r.PushImageAsync("app", "secret", "two");
        var cannotReadSecret = RegistryFixture.Refusing(AccessActions.Read, p => p.StartsWith("app/secret/", StringComparison.Ordinal));

        Assert.Equal(["public"], await TagsAsync("app", cannotReadSecret));
    }

    [Fact]
    public async Task An_image_whose_last_tag_is_gone_lists_no_tags_rather_than_being_unknown()
    {
        await _r.PushImageAsync("app", "1", "one");

        await _r.Manifests.DeleteManifestAsync(Repo, "app", "1", RegistryFixture.AllowAll, default);

        var tags = await TagsAsync("app");
        Assert.NotNull(tags);
        Assert.Empty(tags);
        Assert.DoesNotContain("app", await _r.Discovery.CatalogAsync(Repo, RegistryFixture.AllowAll, default));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task An_image_holding_only_uploaded_blobs_lists_no_tags_and_an_unknown_image_none_at_all()
    {
        await _r.PushBlobAsync("uploads-only", "bytes"u8.ToArray());

        Assert.Equal([], await TagsAsync("uploads-only"));
        Assert.Null(await TagsAsync("never-pushed"));
    }

    [Fact]
    public async Task The_catalog_lists_tagged_images_in_lexical_order()
    {
        await _r.PushImageAsync("zeta", "1", "z");
        await _r.PushImageAsync("alpha/nested", "1", "an");
        await _r.PushImageAsync("alpha", "1", "a");
        await _r.PushImageAsync("digest-only", "digest", "d");
        await _r.PushBlobAsync("blob-only", "bytes"u8.ToArray());

        Assert.Equal(["alpha", "alpha/nested", "zeta"], await _r.Discovery.CatalogAsync(Repo, RegistryFixture.AllowAll, default));
    }

    [Fact]
    public async Task The_catalog_lists_an_image_the_caller_may_read_through_one_manifest_only()
    {
        await _r.PushImageAsync("open", "1", "o");
        await _r.PushImageAsync("partly", "hidden", "h");
        await _r.PushImageAsync("partly", "shown", "s");
        await _r.PushImageAsync("closed", "1", "c");
        var access = RegistryFixture.Refusing(AccessActions.Read, p =>
            p == "partly" || p.StartsWith("partly/hidden/", StringComparison.Ordinal) || p.StartsWith("closed", StringComparison.Ordinal));

        Assert.Equal(["open", "partly"], await _r.Discovery.CatalogAsync(Repo, access, default));
    }

    [Fact]
    public async Task Referrers_are_the_manifests_whose_subject_is_the_digest_filtered_by_artifact_type()
    {
        var subject = await _r.PushImageAsync("app", "1", "subject");
        var signature = await _r.PushImageAsync("app", "digest", "sig", artifactType: Signature, subject: subject);
        var sbom = await _r.PushImageAsync("app", "digest", "sbom", artifactType: Sbom, subject: subject);
        await _r.PushImageAsync("app", "digest", "unrelated", artifactType: Signature);

        var all = await _r.Discovery.ReferrersAsync(Repo, "app", subject.Digest, null, RegistryFixture.AllowAll, default);
        var signatures = await _r.Discovery.ReferrersAsync(Repo, "app", subject.Digest, Signature, RegistryFixture.AllowAll, default);

        Assert.Equal(
            new[] { signature.Digest, sbom.Digest }.OrderBy(d => d.ToString(), StringComparer.Ordinal),
            all.Select(d => d.Digest).OrderBy(d => d.ToString(), StringComparer.Ordinal));
        var only = Assert.Single(signatures);
        Assert.Equal(signature.Digest, only.Digest);
        Assert.Equal(Signature, only.ArtifactType);
        Assert.Equal(signature.Manifest.Length, only.Size);
        Assert.Empty(await _r.Discovery.ReferrersAsync(Repo, "app", subject.Digest, "application/vnd.none", RegistryFixture.AllowAll, default));
        await _r.AssertIndexConsistentAsync();
    }

    [Fact]
    public async Task A_referrer_pushed_before_its_subject_is_listed_and_one_stored_twice_once()
    {
        var absent = Digest.OfSha256(Sha256Hex.Of("subject not pushed yet"u8));
        var subject = new PushedImage(absent, new byte[42], absent, absent);
        var signature = await _r.PushImageAsync("app", "sig-tag", "sig", artifactType: Signature, subject: subject);
        Assert.Equal(V2Outcome.Created, (await _r.Manifests.PutManifestAsync(
            _r.V2Repository, "app", signature.Digest.ToString(), signature.Manifest, Manifests.OciManifest, RegistryFixture.User, RegistryFixture.AllowAll, default)).Outcome);

        var referrers = await _r.Discovery.ReferrersAsync(Repo, "app", absent, null, RegistryFixture.AllowAll, default);

        Assert.Equal(signature.Digest, Assert.Single(referrers).Digest);
    }

    [Fact]
    public async Task Referrers_the_caller_may_not_read_or_of_another_image_are_not_listed()
    {
        var subject = await _r.PushImageAsync("app", "1", "subject");
        await _r.PushImageAsync("app", "hidden", "sig", artifactType: Signature, subject: subject);
        await _r.PushImageAsync("other", "1", "other sig", artifactType: Signature, subject: subject);
        var cannotReadHidden = RegistryFixture.Refusing(AccessActions.Read, p => p.StartsWith("app/hidden/", StringComparison.Ordinal));

        Assert.Empty(await _r.Discovery.ReferrersAsync(Repo, "app", subject.Digest, null, cannotReadHidden, default));
        Assert.Single(await _r.Discovery.ReferrersAsync(Repo, "app", subject.Digest, null, RegistryFixture.AllowAll, default));
    }
}
