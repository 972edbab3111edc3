using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Wharf.Server.Hosting;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>
/// <c>X-Forwarded-*</c> and the JFrog base-URL overrides shape the URLs Wharf emits only when the
/// connection's peer is a trusted proxy (<c>Wharf:Http:TrustedProxies</c>, loopback by default);
/// from anyone else they are ignored.
/// </summary>
public sealed class ForwardedHeadersTests : IAsyncLifetime
{
    private const string Challenge = "/artifactory/api/docker/docker-v2-local/v2/";

    /// <summary>Trusts the default, loopback: the tests' own connections come from 127.0.0.1.</summary>
    private readonly WharfServer _trusting = new();

    /// <summary>Trusts only an address the tests never connect from.</summary>
    private readonly WharfServer _distrusting = new()
    {
        ExtraSettings = new Dictionary<string, string?> { ["Wharf:Http:TrustedProxies"] = "127.0.0.99/32" },
    };

    public async Task InitializeAsync()
    {
        await _trusting.InitializeAsync();
        await _distrusting.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await _trusting.DisposeAsync();
        await _distrusting.DisposeAsync();
    }

    [Fact]
    public async Task From_a_trusted_proxy_forwarded_headers_shape_the_challenge_and_uris()
    {
        Assert.Equal(
            ("https://repo.example.com:8443/artifactory/api/docker/docker-v2-local/v2/token", "repo.example.com:8443"),
            await ChallengeAsync(_trusting, ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "repo.example.com"), ("X-Forwarded-Port", "8443")));
        Assert.Equal(
            ("https://edge.example.com/artifactory/api/docker/docker-v2-local/v2/token", "edge.example.com"),
            await ChallengeAsync(_trusting, ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "edge.example.com")));
        Assert.Equal(
            ("https://override.example.com/art/api/docker/docker-v2-local/v2/token", "override.example.com"),
            await ChallengeAsync(_trusting, ("X-Artifactory-Override-Base-Url", "https://override.example.com/art/"), ("X-Forwarded-Proto", "http")));
        Assert.Equal("https://jfrog.example.com/artifactory/api/storage/docker-local", await StorageUriAsync(_trusting, ("X-JFrog-Override-Base-Url", "https://jfrog.example.com/artifactory")));
        Assert.Equal("https://repo.example.com/artifactory/api/storage/docker-local", await StorageUriAsync(_trusting, ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "repo.example.com")));
    }

    [Fact]
    public async Task From_an_untrusted_peer_forwarded_headers_are_ignored()
    {
        var own = _distrusting.BaseAddress.Authority;
        var expected = ($"http://{own}/artifactory/api/docker/docker-v2-local/v2/token", own);
        Assert.Equal(expected, await ChallengeAsync(_distrusting, ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "evil.example.com"), ("X-Forwarded-Port", "8443")));
        Assert.Equal(expected, await ChallengeAsync(_distrusting, ("X-Artifactory-Override-Base-Url", "https://evil.example.com/artifactory")));
        Assert.Equal(expected, await ChallengeAsync(_distrusting, ("X-JFrog-Override-Base-Url", "https://evil.example.com/artifactory"), ("X-Forwarded-For", "203.0.113.9")));
        Assert.Equal($"http://{own}/artifactory/api/storage/docker-local", await StorageUriAsync(_distrusting, ("X-JFrog-Override-Base-Url", "https://evil.example.com/artifactory")));
        Assert.Equal($"http://{own}/artifactory/api/storage/docker-local", await StorageUriAsync(_distrusting, ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "evil.example.com")));
    }

    /// <summary>ASP.NET Core's forwarded-headers middleware trusts exactly the configured proxies (not its own loopback defaults).</summary>
    [Fact]
    public void The_forwarded_headers_middleware_knows_only_the_configured_proxies()
    {
        var options = _distrusting.Services.GetRequiredService<IOptions<ForwardedHeadersOptions>>().Value;
        Assert.Empty(options.KnownProxies);
        Assert.Equal([System.Net.IPNetwork.Parse("127.0.0.99/32")], options.KnownIPNetworks);

        var defaults = _trusting.Services.GetRequiredService<IOptions<ForwardedHeadersOptions>>().Value;
        Assert.Equal([System.Net.IPNetwork.Parse("127.0.0.0/8"), System.Net.IPNetwork.Parse("::1/128")], defaults.KnownIPNetworks);
    }

    [Fact]
    public async Task Trusted_proxies_that_are_not_addresses_or_networks_stop_the_start()
    {
        var error = await Assert.ThrowsAsync<WharfApp.InvalidSettingsException>(() => WharfApp.BuildAsync([], builder =>
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["urls"] = "http://127.0.0.1:0",
                ["Wharf:DataDir"] = Path.Combine(Path.GetTempPath(), "wharf-never-" + Guid.NewGuid().ToString("N")),
                ["Wharf:Http:TrustedProxies"] = "127.0.0.1, proxy.example.com,10.0.0.0/33, 10.1.2.3/8,,",
            })));
        var problem = Assert.Single(error.Problems);
        Assert.Contains("Wharf:Http:TrustedProxies", problem, StringComparison.Ordinal);
        Assert.Contains("'proxy.example.com'", problem, StringComparison.Ordinal);
        Assert.Contains("'10.0.0.0/33'", problem, StringComparison.Ordinal);
        Assert.DoesNotContain("'127.0.0.1'", problem, StringComparison.Ordinal);
        Assert.DoesNotContain("'10.1.2.3/8'", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void The_default_trusts_loopback_only()
    {
        Assert.Equal("127.0.0.0/8,::1", new WharfOptions().Http.TrustedProxies);
        Assert.Empty(new WharfOptions().Validate());
        Assert.Empty(new WharfOptions { Http = new HttpOptions { TrustedProxies = "" } }.Validate());
    }

    /// <summary>The realm and service of an anonymous V2 challenge sent with <paramref name="headers"/>.</summary>
    private static async Task<(string Realm, string Service)> ChallengeAsync(WharfServer server, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Challenge);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var client = server.Client();
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var parameter = response.Headers.WwwAuthenticate.Single().Parameter!;
        return (Quoted(parameter, "realm"), Quoted(parameter, "service"));
    }

    private static async Task<string> StorageUriAsync(WharfServer server, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/storage/docker-local/");
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var admin = server.Admin();
        using var response = await admin.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("uri").GetString()!;
    }

    private static string Quoted(string parameter, string name)
    {
        var start = parameter.IndexOf(name + "=\"", StringComparison.Ordinal) + name.Length + 2;
        return parameter[start..parameter.IndexOf('"', start)];
    }
}
