using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>
/// Every base URL Wharf builds is a valid absolute http(s) URL, whatever a trusted proxy forwards
/// or a client sends as its Host: a forwarded scheme other than http/https, or a forwarded host and
/// port that form no valid authority, is ignored as if it had not been sent (the connection's own
/// scheme and host take its place), and IPv6 literals are bracketed. Before, the scheme, the port
/// and the IPv6 listener answered 500 (a UriFormatException building the V2 challenge's service).
/// </summary>
public sealed class PublicUrlTests : IAsyncLifetime
{
    private const string Challenge = "/artifactory/api/docker/docker-v2-local/v2/";

    /// <summary>Loopback is trusted by default, so the tests' own connections are a trusted proxy's.</summary>
    private readonly WharfServer _trusting = new();

    /// <summary>Listens on the IPv6 loopback only.</summary>
    private readonly WharfServer _ipv6 = new() { ExtraSettings = new Dictionary<string, string?> { ["urls"] = "http://[::1]:0" } };

    public async Task InitializeAsync()
    {
        await _trusting.InitializeAsync();
        await _ipv6.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await _trusting.DisposeAsync();
        await _ipv6.DisposeAsync();
    }

    [Theory]
    [InlineData("X-Forwarded-Proto: 1http", "http://{own}")]
    [InlineData("X-Forwarded-Proto: ftp", "http://{own}")]
    [InlineData("X-Forwarded-Proto: HTTPS", "https://127.0.0.1")]
    [InlineData("X-Forwarded-Host: exa_mple.com:99999", "http://{own}")]
    [InlineData("X-Forwarded-Host: repo.example.com:0", "http://{own}")]
    [InlineData("X-Forwarded-Proto: https|X-Forwarded-Host: exa_mple.com:99999", "https://127.0.0.1")]
    [InlineData("X-Forwarded-Proto: https|X-Forwarded-Host: exa_mple.com:99999|X-Forwarded-Port: 8443", "https://127.0.0.1:8443")]
    [InlineData("X-Forwarded-Host: exa_mple.com", "http://exa_mple.com")]
    [InlineData("X-Forwarded-Host: repo.example.com:8443", "http://repo.example.com:8443")]
    [InlineData("X-Forwarded-Proto: 1http|X-Forwarded-Host: repo.example.com", "http://repo.example.com")]
    [InlineData("X-Forwarded-Host: [::1]:8443", "http://[::1]:8443")]
    [InlineData("X-Forwarded-Host: repo.example.com|X-Forwarded-Port: 99999", "http://repo.example.com")]
    [InlineData("X-JFrog-Override-Base-Url: https://o.example.com/art?x=1", "http://{own}")]
    [InlineData("X-JFrog-Override-Base-Url: https://user@o.example.com/art", "http://{own}")]
    [InlineData("X-JFrog-Override-Base-Url: https://o.example.com/art#top", "http://{own}")]
    public async Task Forwarded_values_that_form_no_valid_url_give_way_to_the_connections_own(string headers, string expectedBase)
    {
        var mark = _trusting.Logs.Mark;
        var own = _trusting.BaseAddress.Authority;
        var expected = expectedBase.Replace("{own}", own, StringComparison.Ordinal) + "/artifactory";
        var lines = headers.Split('|');
        var challenge = await RawAsync(_trusting, $"GET {Challenge} HTTP/1.0", [$"Host: {own}", .. lines]);
        Assert.True(challenge.Status == 401, $"{headers}: {challenge.Status}");
        var (realm, service) = RealmAndService(challenge.Headers["WWW-Authenticate"]);
        Assert.Equal($"{expected}/api/docker/docker-v2-local/v2/token", realm);
        var authority = new Uri(expected).Authority;
        Assert.Equal(authority, service);

        var storage = await RawAsync(_trusting, "GET /api/storage/docker-local/ HTTP/1.0", [$"Host: {own}", Basic(), .. lines]);
        Assert.Equal(200, storage.Status);
        Assert.Equal($"{expected}/api/storage/docker-local", JsonDocument.Parse(storage.Body).RootElement.GetProperty("uri").GetString());
        _trusting.Logs.AssertNoServerErrors(mark);
    }

    /// <summary>A Host header no URL can hold (Kestrel checks its characters, not its port's range) falls back to the address the request arrived on.</summary>
    [Fact]
    public async Task A_host_header_that_forms_no_valid_url_gives_way_to_the_local_address()
    {
        var mark = _trusting.Logs.Mark;
        var response = await RawAsync(_trusting, $"GET {Challenge} HTTP/1.0", ["Host: exa_mple.com:99999"]);
        Assert.Equal(401, response.Status);
        Assert.Equal(($"http://{_trusting.BaseAddress.Authority}/artifactory/api/docker/docker-v2-local/v2/token", _trusting.BaseAddress.Authority), RealmAndService(response.Headers["WWW-Authenticate"]));

        _trusting.Logs.AssertNoServerErrors(mark);
    }

    /// <summary>HTTP/1.0 may come without Host: the local address is used, an IPv6 one in brackets (RFC 3986 §3.2.2).</summary>
    [Fact]
    public async Task Without_a_host_header_an_ipv6_listener_names_itself_in_brackets()
    {
        var mark = _ipv6.Logs.Mark;
        var own = _ipv6.BaseAddress.Authority;
        Assert.StartsWith("[::1]:", own, StringComparison.Ordinal);

        var challenge = await RawAsync(_ipv6, $"GET {Challenge} HTTP/1.0", []);
        Assert.Equal(401, challenge.Status);
        Assert.Equal(($"http://{own}/artifactory/api/docker/docker-v2-local/v2/token", own), RealmAndService(challenge.Headers["WWW-Authenticate"]));

        var storage = await RawAsync(_ipv6, "GET /api/storage/docker-local/ HTTP/1.0", [Basic()]);
        Assert.Equal(200, storage.Status);
        Assert.Equal($"http://{own}/artifactory/api/storage/docker-local", JsonDocument.Parse(storage.Body).RootElement.GetProperty("uri").GetString());

        // docker 1.x connects to X-Docker-Endpoints as host:port.
        var pushStart = await RawAsync(_ipv6, "PUT /v1/repositories/acme/ipv6/ HTTP/1.0", [Basic(), "X-Docker-Token: true", "Content-Type: application/json", "Content-Length: 2"], "[]");
        Assert.Equal(200, pushStart.Status);
        Assert.Equal(own, pushStart.Headers["X-Docker-Endpoints"]);
        _ipv6.Logs.AssertNoServerErrors(mark);
    }

    private static string Basic() => "Authorization: " + WharfServer.Basic("admin", WharfServer.AdminPassword);

    private static (string Realm, string Service) RealmAndService(string challenge)
    {
        string Quoted(string name)
        {
            var start = challenge.IndexOf(name + "=\"", StringComparison.Ordinal) + name.Length + 2;
            return challenge[start..challenge.IndexOf('"', start)];
        }

        return (Quoted("realm"), Quoted("service"));
    }

    private sealed record RawResponse(int Status, Dictionary<string, string> Headers, string Body);

    /// <summary>One request written as given (HTTP/1.0: no chunks, the connection closed after it), for headers HttpClient would not send.</summary>
    private static async Task<RawResponse> RawAsync(WharfServer server, string requestLine, IEnumerable<string> headers, string body = "")
    {
        using var client = new TcpClient(server.BaseAddress.Host.Trim('[', ']') == "::1" ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork);
        await client.ConnectAsync(IPAddress.Parse(server.BaseAddress.Host.Trim('[', ']')), server.BaseAddress.Port);
        var stream = client.GetStream();
        var text = requestLine + "\r\n" + string.Concat(headers.Append("Connection: close").Select(h => h + "\r\n")) + "\r\n" + body;
        await stream.WriteAsync(Encoding.ASCII.GetBytes(text));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var response = await reader.ReadToEndAsync();
        var split = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = response[..split].Split("\r\n");
        var parsed = head.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0], p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
        return new RawResponse(int.Parse(head[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), parsed, response[(split + 4)..]);
    }
}
