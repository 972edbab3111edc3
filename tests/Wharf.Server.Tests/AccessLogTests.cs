using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>
/// One <c>Wharf.Access</c> line per request, with the client (after trusted forwarded headers), the
/// user the gate authenticated, the request line with secrets redacted, the status, the body bytes
/// (sendfile included), the duration and the repository; and ASP.NET Core's own per-request
/// Information lines off by default, but back when configured.
/// </summary>
public sealed partial class AccessLogTests : IAsyncLifetime
{
    /// <summary>Default level Information (the fixture's is Warning): only Wharf's defaults keep framework lines out.</summary>
    private readonly WharfServer _server = new()
    {
        ExtraSettings = new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Information" },
    };

    public Task InitializeAsync() => _server.InitializeAsync();

    public Task DisposeAsync() => _server.DisposeAsync();

    internal sealed record AccessLine(string Time, string Client, string User, string Method, string Path, string Protocol, int Status, long Bytes, double DurationMs, string Repository);

    [GeneratedRegex("""^(\S+) (\S+) (\S+) "(\S+) (\S+) (\S+)" (\d+) (\d+) ([0-9.]+)ms (\S+)$""")]
    private static partial Regex LinePattern();

    [Fact]
    public async Task A_v2_pull_logs_client_user_request_status_bytes_duration_and_repository()
    {
        using var alice = _server.Client("alice", WharfServer.AlicePassword);
        var image = await V2Push.PushImageAsync(alice, "docker-v2-local", "team/app", "1.0");
        var mark = _server.Logs.Mark;
        using var request = new HttpRequestMessage(HttpMethod.Get, V2Push.Base("docker-v2-local") + "team/app/manifests/1.0");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(V2Push.OciManifest));
        using var response = await alice.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var line = await SingleLineAsync(mark, "/manifests/1.0");
        Assert.Equal("127.0.0.1", line.Client);
        Assert.Equal("alice", line.User);
        Assert.Equal("GET", line.Method);
        Assert.Equal("/artifactory/api/docker/docker-v2-local/v2/team/app/manifests/1.0", line.Path);
        Assert.Equal("HTTP/1.1", line.Protocol);
        Assert.Equal(200, line.Status);
        Assert.Equal(image.Manifest.Length, line.Bytes);
        Assert.InRange(line.DurationMs, 0, 30_000);
        Assert.Equal("docker-v2-local", line.Repository);
        var time = DateTimeOffset.Parse(line.Time, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(DateTimeOffset.UtcNow - time, TimeSpan.Zero, TimeSpan.FromMinutes(1));
        Assert.EndsWith("Z", line.Time, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Anonymous_invalid_and_gateless_requests_name_their_user_accordingly()
    {
        var mark = _server.Logs.Mark;
        using (var anonymous = _server.Client())
        using (await anonymous.GetAsync("/api/storage/docker-public?who=anonymous"))
        using (var nobody = _server.Client("nobody", "wrong-password-1"))
        using (await nobody.GetAsync("/api/storage/docker-public?who=nobody"))
        using (await anonymous.GetAsync("/api/system/ping"))
        using (await anonymous.GetAsync("/no/such/route"))
        {
        }

        var anonymousLine = await SingleLineAsync(mark, "who=anonymous");
        Assert.Equal(("anonymous", 200, "docker-public"), (anonymousLine.User, anonymousLine.Status, anonymousLine.Repository));
        var invalid = await SingleLineAsync(mark, "who=nobody");
        // Refused before the repository is resolved: the route's key is logged as sent (a valid key).
        Assert.Equal(("-", 401, "docker-public"), (invalid.User, invalid.Status, invalid.Repository));
        var ping = await SingleLineAsync(mark, "/api/system/ping");
        Assert.Equal(("-", 200, 2L), (ping.User, ping.Status, ping.Bytes));
        var unmatched = await SingleLineAsync(mark, "/no/such/route");
        Assert.Equal(404, unmatched.Status);
    }

    [Fact]
    public async Task Secrets_never_reach_the_log()
    {
        var mark = _server.Logs.Mark;
        using var alice = _server.Client("alice", WharfServer.AlicePassword);
        using (await alice.GetAsync("/api/search/artifact?name=x&access_token=tok-value-1&Password=pw-value-1&apiKey=key-value-1&repos=docker-local"))
        {
        }

        var line = await SingleLineAsync(mark, "/api/search/artifact");
        Assert.Equal("/api/search/artifact?name=x&access_token=REDACTED&Password=REDACTED&apiKey=REDACTED&repos=docker-local", line.Path);
        Assert.Equal("alice", line.User);
        var basic = alice.DefaultRequestHeaders.Authorization!.Parameter!;
        foreach (var secret in new[] { "tok-value-1", "pw-value-1", "key-value-1", WharfServer.AlicePassword, basic })
        {
            Assert.DoesNotContain(_server.Logs.Lines, l => l.Contains(secret, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task The_client_is_the_forwarded_one_from_a_trusted_proxy_and_the_peer_otherwise()
    {
        var mark = _server.Logs.Mark;
        using var client = _server.Client();
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/api/system/ping?from=proxy"))
        {
            request.Headers.Add("X-Forwarded-For", "203.0.113.9");
            using var response = await client.SendAsync(request);
        }

        Assert.Equal("203.0.113.9", (await SingleLineAsync(mark, "/api/system/ping?from=proxy")).Client);

        var distrusting = new WharfServer
        {
            ExtraSettings = new Dictionary<string, string?> { ["Wharf:Http:TrustedProxies"] = "127.0.0.99/32" },
        };
        await distrusting.InitializeAsync();
        try
        {
            using var other = distrusting.ClientFrom(IPAddress.Parse("127.0.0.3"));
            using (var request = new HttpRequestMessage(HttpMethod.Get, "/api/system/ping?from=peer"))
            {
                request.Headers.Add("X-Forwarded-For", "203.0.113.9");
                using var response = await other.SendAsync(request);
            }

            Assert.Equal("127.0.0.3", (await SingleLineAsync(distrusting.Logs, 0, "/api/system/ping?from=peer")).Client);
        }
        finally
        {
            await distrusting.DisposeAsync();
        }
    }

    [Fact]
    public async Task Bytes_sent_with_sendfile_are_counted()
    {
        using var alice = _server.Client("alice", WharfServer.AlicePassword);
        var blob = RandomNumberGenerator.GetBytes(3 << 20);
        var digest = await V2Push.PushBlobAsync(alice, "docker-v2-local", "big/app", blob);
        var mark = _server.Logs.Mark;
        using (var response = await alice.GetAsync(V2Push.Base("docker-v2-local") + "big/app/blobs/" + digest))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.True(response.Headers.ConnectionClose, "a blob of 3 MiB goes out with sendfile");
            Assert.Equal(blob, await response.Content.ReadAsByteArrayAsync());
        }

        var line = await SingleLineAsync(mark, "/blobs/" + digest);
        Assert.Equal((200, blob.LongLength, "docker-v2-local", "alice"), (line.Status, line.Bytes, line.Repository, line.User));
    }

    [Fact]
    public async Task Framework_information_lines_are_off_by_default()
    {
        using var alice = _server.Client("alice", WharfServer.AlicePassword);
        using (await alice.GetAsync("/api/repositories"))
        using (await alice.GetAsync("/api/system/ping"))
        {
        }

        await SingleLineAsync(_server.Logs, 0, "/api/repositories");
        var framework = _server.Logs.Entries.Where(e => e.Level < LogLevel.Warning && IsFramework(e.Category) && e.Category != "Microsoft.Hosting.Lifetime").ToList();
        Assert.True(framework.Count == 0, "framework lines below Warning:" + string.Concat(framework.Select(e => Environment.NewLine + e)));
    }

    [Fact]
    public async Task Log_levels_are_overridable_per_category()
    {
        var verbose = new WharfServer
        {
            ExtraSettings = new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Information",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Information",
                ["Logging:LogLevel:Wharf.Access"] = "Warning",
            },
        };
        await verbose.InitializeAsync();
        try
        {
            using var client = verbose.Client();
            using (await client.GetAsync("/api/system/ping"))
            {
            }

            await Eventually(() => verbose.Logs.Entries.Any(e => e.Category.StartsWith("Microsoft.AspNetCore.", StringComparison.Ordinal) && e.Level == LogLevel.Information));
            Assert.DoesNotContain(verbose.Logs.Entries, e => e.Category == "Wharf.Access");
        }
        finally
        {
            await verbose.DisposeAsync();
        }
    }

    private static bool IsFramework(string category) =>
        category.StartsWith("Microsoft.", StringComparison.Ordinal) || category.StartsWith("System.", StringComparison.Ordinal);

    private Task<AccessLine> SingleLineAsync(int mark, string pathContains) => SingleLineAsync(_server.Logs, mark, pathContains);

    /// <summary>
    /// The one access line since <paramref name="mark"/> whose path ends with or contains the given
    /// text (the line is written when the response is done, which for sendfile is after the client closed).
    /// </summary>
    private static async Task<AccessLine> SingleLineAsync(CollectingLoggerProvider logs, int mark, string pathContains)
    {
        List<AccessLine> lines = [];
        await Eventually(() =>
        {
            lines = [.. AccessLines(logs, mark).Where(l => l.Path.Contains(pathContains, StringComparison.Ordinal))];
            return lines.Count > 0;
        });
        return Assert.Single(lines);
    }

    private static IEnumerable<AccessLine> AccessLines(CollectingLoggerProvider logs, int mark)
    {
        foreach (var entry in logs.Entries.Skip(mark).Where(e => e.Category == "Wharf.Access"))
        {
            Assert.Equal(LogLevel.Information, entry.Level);
            var match = LinePattern().Match(entry.Message);
            Assert.True(match.Success, "not an access line: " + entry.Message);
            var g = match.Groups;
            yield return new AccessLine(
                g[1].Value, g[2].Value, g[3].Value, g[4].Value, g[5].Value, g[6].Value,
                int.Parse(g[7].Value, System.Globalization.CultureInfo.InvariantCulture),
                long.Parse(g[8].Value, System.Globalization.CultureInfo.InvariantCulture),
                double.Parse(g[9].Value, System.Globalization.CultureInfo.InvariantCulture),
                g[10].Value);
        }
    }

    internal static Task Eventually(Func<bool> condition) => Eventually(() => Task.FromResult(condition()));

    internal static async Task Eventually(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold within 20 s");
            await Task.Delay(20);
        }
    }
}
