using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Wharf.Server.Tests.Support;
using static Wharf.Server.Tests.V1ConformanceTests;

namespace Wharf.Server.Tests;

/// <summary>Password guessing is slowed; logins and changes are audited; secrets never reach a log.</summary>
public sealed class LoginDefenseTests(WharfServer server) : IClassFixture<WharfServer>
{
    [Fact]
    public async Task Repeated_failures_for_one_user_are_slowed_and_a_flood_gets_429()
    {
        using var admin = server.Admin();
        await admin.PutAsync("/api/security/users/victim", Json("{\"email\":\"v@x\",\"password\":\"victim-secret-1\"}"));
        using var guesser = server.Client("victim", "guess");
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await guesser.GetAsync("/v1/users/")).StatusCode);
        }

        // The bucket is empty: further attempts wait for refills, one per two seconds. The first
        // refill may come at any moment (and up to two may have come during the first ten), but four guesses need at least
        // two more ticks, so they cannot take less than one full period.
        var clock = Stopwatch.StartNew();
        for (var i = 11; i <= 14; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client("victim", "guess-" + i).GetAsync("/v1/users/")).StatusCode);
        }

        Assert.True(clock.Elapsed > TimeSpan.FromSeconds(1.9), $"guesses 11 to 14 took {clock.Elapsed}");

        // More waiting attempts than the queue holds: the surplus is refused at once.
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(4));
        var flood = Enumerable.Range(0, 30).Select(async i =>
        {
            try
            {
                using var response = await server.Client("victim", "flood-" + i).GetAsync("/v1/users/", cancel.Token);
                return (int)response.StatusCode;
            }
            catch (OperationCanceledException)
            {
                return 0;
            }
        });
        var statuses = await Task.WhenAll(flood);
        Assert.Contains(429, statuses);

        // Other users are not slowed by it.
        clock.Restart();
        Assert.Equal(HttpStatusCode.OK, (await server.Client("alice", WharfServer.AlicePassword).GetAsync("/v1/users/")).StatusCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"alice waited {clock.Elapsed}");
    }

    [Fact]
    public async Task Logins_and_changes_are_audited_and_no_secret_is_ever_logged()
    {
        using var admin = server.Admin();
        const string password = "logged-never-1";
        await admin.PutAsync("/api/security/users/quinn", Json($"{{\"email\":\"q@x\",\"password\":\"{password}\"}}"));
        using var quinn = server.Client("quinn", password);
        Assert.Equal(HttpStatusCode.OK, (await quinn.GetAsync("/v1/users/")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client("quinn", "wrong-" + password).GetAsync("/v1/users/")).StatusCode);
        var key = JsonDocument.Parse(await (await quinn.PostAsync("/api/security/apiKey", null)).Content.ReadAsStringAsync()).RootElement.GetProperty("apiKey").GetString()!;
        using var tokenResponse = await quinn.PostAsync("/api/security/token", new StringContent("expires_in=60", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"));
        var token = JsonDocument.Parse(await tokenResponse.Content.ReadAsStringAsync()).RootElement.GetProperty("access_token").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await server.Client("quinn", key).GetAsync("/v1/users/")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client("quinn", key + "x").GetAsync("/v1/users/")).StatusCode);
        await admin.PutAsync("/api/security/permissions/quinn-target", Json("{\"repositories\":[\"ANY\"],\"principals\":{\"users\":{\"quinn\":[\"r\"]}}}"));

        var lines = server.Logs.Lines;
        foreach (var secret in new[] { password, "wrong-" + password, key, token, WharfServer.AdminPassword, WharfServer.AlicePassword })
        {
            Assert.DoesNotContain(lines, l => l.Contains(secret, StringComparison.Ordinal));
        }

        Assert.Contains(lines, l => l.Contains("audit login.ok quinn", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("audit login.failed quinn", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("audit user.create quinn", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("audit apiKey.create quinn", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("audit token.create quinn", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("audit permission.create quinn-target", StringComparison.Ordinal));
    }
}
