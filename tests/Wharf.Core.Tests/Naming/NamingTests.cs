using Wharf.Core.Naming;

namespace Wharf.Core.Tests.Naming;

public sealed class NamingTests
{
    [Theory]
    [InlineData("web", "library", "web")]
    [InlineData("library/web", "library", "web")]
    [InlineData("acme/web", "acme", "web")]
    [InlineData("a/b/c", "a", "b/c")]
    [InlineData("a__b/x---y.z", "a__b", "x---y.z")]
    public void V1_names_normalise_single_components_into_library(string raw, string ns, string repo)
    {
        Assert.True(V1RepositoryName.TryParse(raw, out var name));
        Assert.Equal(ns, name.Namespace);
        Assert.Equal(repo, name.Repository);
        Assert.Equal($"{ns}/{repo}", name.FullName);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Acme/web")]
    [InlineData("acme/Web")]
    [InlineData("acme//web")]
    [InlineData("/acme/web")]
    [InlineData("acme/web/")]
    [InlineData("acme/../web")]
    [InlineData("..")]
    [InlineData("acme/./web")]
    [InlineData("acme/%2e%2e/web")]
    [InlineData("acme%2fweb")]
    [InlineData("acme/web tool")]
    [InlineData("acme/tags")]
    [InlineData("acme/web/images")]
    [InlineData("json")]
    [InlineData("acme\\web")]
    [InlineData("acme/tag.json")]
    [InlineData("acme/_index_images.json/web")]
    public void V1_names_outside_the_grammar_are_rejected(string raw) =>
        Assert.False(V1RepositoryName.TryParse(raw, out _));

    [Fact]
    public void V1_names_are_limited_to_255_characters()
    {
        Assert.True(V1RepositoryName.TryParse("a/" + new string('b', 253), out _));
        Assert.False(V1RepositoryName.TryParse("a/" + new string('b', 254), out _));
    }

    [Theory]
    [InlineData("latest", true)]
    [InlineData("1.0", true)]
    [InlineData("_x", true)]
    [InlineData("UPPER-case.9", true)]
    [InlineData("-bad", false)]
    [InlineData(".bad", false)]
    [InlineData("a/b", false)]
    [InlineData("", false)]
    [InlineData("a b", false)]
    public void Tags_follow_the_docker_grammar(string tag, bool valid) => Assert.Equal(valid, TagName.IsValid(tag));

    [Fact]
    public void Tags_are_at_most_128_characters()
    {
        Assert.True(TagName.IsValid(new string('a', 128)));
        Assert.False(TagName.IsValid(new string('a', 129)));
    }

    [Theory]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true)]
    [InlineData("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", false)]
    [InlineData("0123456789abcdef", false)]
    [InlineData("../../../../etc/passwd", false)]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg", false)]
    public void Image_ids_are_64_lower_case_hex(string id, bool valid) => Assert.Equal(valid, ImageId.IsValid(id));

    [Theory]
    [InlineData("", "")]
    [InlineData("/", "")]
    [InlineData("a/b/c", "a/b/c")]
    [InlineData("/a/b/", "a/b")]
    [InlineData(".images/x/json.json", ".images/x/json.json")]
    public void Item_paths_normalise(string raw, string expected)
    {
        Assert.True(ItemPath.TryNormalize(raw, out var path));
        Assert.Equal(expected, path);
    }

    [Theory]
    [InlineData("a/../b")]
    [InlineData("..")]
    [InlineData("a//b")]
    [InlineData("a/./b")]
    [InlineData("a/%2e%2e/b")]
    [InlineData("a\\b")]
    [InlineData("a/\u0000/b")]
    [InlineData("a/.../b")]
    public void Item_paths_refuse_traversal(string raw) => Assert.False(ItemPath.TryNormalize(raw, out _));

    [Theory]
    [InlineData("docker-local", true)]
    [InlineData("docker.prod", true)]
    [InlineData("Docker-local", false)]
    [InlineData("docker_local", false)]
    [InlineData("-docker", false)]
    [InlineData("docker-cache", false)]
    [InlineData("api", false)]
    [InlineData("v2", false)]
    [InlineData("", false)]
    public void Repository_keys_follow_the_rules(string key, bool valid) => Assert.Equal(valid, RepositoryKey.IsValid(key));

    [Theory]
    [InlineData("team/app", true)]
    [InlineData("team/manifest.jsonx", true)]
    [InlineData("team/my.manifest.json", true)]
    [InlineData("team/sha256_x", true)]
    [InlineData("team/sha384__x", true)]
    [InlineData("manifest.json", false)]
    [InlineData("team/app/latest/manifest.json", false)]
    [InlineData("team/list.manifest.json/app", false)]
    [InlineData("team/sha256__0123", false)]
    [InlineData("sha512__ab/app", false)]
    [InlineData("team/_uploads", false)]
    public void V2_image_names_have_no_component_named_like_a_tree_file(string name, bool valid) => Assert.Equal(valid, V2Name.IsValidName(name));

    [Theory]
    [InlineData("latest", true)]
    [InlineData("_UPLOADS", true)]
    [InlineData("Manifest.json", true)]
    [InlineData("sha256_x", true)]
    [InlineData("_uploads", false)]
    [InlineData("manifest.json", false)]
    [InlineData("list.manifest.json", false)]
    [InlineData("sha256__0123", false)]
    [InlineData("sha512__", false)]
    public void V2_tags_are_neither_the_uploads_folder_nor_a_tree_file_name(string tag, bool valid) => Assert.Equal(valid, V2Name.IsValidTag(tag));
}
