using Wharf.Core.Naming;
using Wharf.Core.WebServer;

namespace Wharf.Core.Tests.WebServer;

/// <summary>Host names and labels as the web-server configuration and the subdomain method check them (rest-api §2.3, §7.2).</summary>
public sealed class WebServerNamesTests
{
    [Theory]
    [InlineData("docker-local", true)]
    [InlineData("a", true)]
    [InlineData("0team", true)]
    [InlineData("team.images", false)]
    [InlineData("trailing-", false)]
    [InlineData("-leading", false)]
    [InlineData("under_score", false)]
    [InlineData("", false)]
    public void A_label_is_letters_digits_and_inner_hyphens(string label, bool valid) => Assert.Equal(valid, DnsName.IsLabel(label));

    [Fact]
    public void A_label_and_a_name_have_their_rfc_1123_lengths()
    {
        Assert.True(DnsName.IsLabel(new string('a', 63)));
        Assert.False(DnsName.IsLabel(new string('a', 64)));
        var longest = string.Join('.', Enumerable.Repeat(new string('a', 63), 3)) + "." + new string('b', 61);
        Assert.Equal(253, longest.Length);
        Assert.True(DnsName.IsName(longest));
        Assert.False(DnsName.IsName(longest + "b"));
    }

    [Theory]
    [InlineData("repo.example.com", true)]
    [InlineData("localhost", true)]
    [InlineData("Repo.Example.COM", true)]
    [InlineData("repo.example.com.", false)]
    [InlineData(".example.com", false)]
    [InlineData("a..b", false)]
    [InlineData("*.example.com", false)]
    [InlineData("repo example.com", false)]
    [InlineData(null, false)]
    public void A_name_is_labels_joined_by_dots(string? name, bool valid) => Assert.Equal(valid, DnsName.IsName(name));

    [Theory]
    [InlineData("127.0.0.1", "127.0.0.1")]
    [InlineData("::1", "[::1]")]
    [InlineData("[::1]", "[::1]")]
    [InlineData("wharf.internal", "wharf.internal")]
    public void The_upstream_host_is_written_as_a_url_authority(string host, string authority)
    {
        var config = new WebServerConfiguration { ArtifactoryServerName = host };
        Assert.Empty(config.Problems());
        Assert.Equal(authority, config.UpstreamHost);
    }

    [Fact]
    public void Only_the_subdomain_method_asks_keys_to_be_labels()
    {
        var subdomain = new WebServerConfiguration { ServerName = "repo.example.com", DockerReverseProxyMethod = DockerAccessMethod.Subdomain };
        Assert.Null(subdomain.KeyProblem("docker-local"));
        Assert.Contains("'team.images.repo.example.com'", subdomain.KeyProblem("team.images"), StringComparison.Ordinal);
        Assert.Null((subdomain with { DockerReverseProxyMethod = DockerAccessMethod.PortPerRepo }).KeyProblem("team.images"));
    }
}
