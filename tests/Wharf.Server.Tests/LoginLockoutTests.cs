using System.Diagnostics;
using System.Net;
using Wharf.Server.Tests.Support;
using static Wharf.Server.Tests.V1ConformanceTests;

namespace Wharf.Server.Tests;

/// <summary>Throttling slows the guessing source, never the account: nobody can lock a user out.</summary>
public sealed class LoginLockoutTests(WharfServer server) : IClassFixture<WharfServer>
{
    [Fact]
    public async Task A_flood_of_wrong_passwords_from_one_address_does_not_lock_the_user_out_from_another()
    {
        using var admin = server.Admin();
        Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync("/api/security/users/target", Json("{\"email\":\"t@x\",\"password\":\"target-secret-1\"}"))).StatusCode);

        // 40 concurrent wrong passwords from 127.0.0.1, left running while the owner logs in.
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var flood = Enumerable.Range(0, 40).Select(async i =>
        {
            try
            {
                using var response = await server.Client("target", "guess-" + i).GetAsync("/v1/users/", stop.Token);
                return (int)response.StatusCode;
            }
            catch (OperationCanceledException)
            {
                return 0;
            }
        }).ToList();
        await Task.Delay(500);

        // The owner, from 127.0.0.2, is let in promptly on V1 and on REST routes.
        using var owner = server.ClientFrom(IPAddress.Parse("127.0.0.2"), "target", "target-secret-1");
        var clock = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync("/v1/users/")).StatusCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"the owner waited {clock.Elapsed} on V1");

        // A REST route from a third address, with the password cache out of play (another login form).
        using var rest = server.ClientFrom(IPAddress.Parse("127.0.0.3"), "TARGET", "target-secret-1");
        clock.Restart();
        Assert.Equal(HttpStatusCode.OK, (await rest.GetAsync("/api/security/apiKey")).StatusCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"the owner waited {clock.Elapsed} on REST");

        // The flooding address itself is slowed (the queued guesses are still waiting) and refused.
        await stop.CancelAsync();
        var statuses = await Task.WhenAll(flood);
        Assert.Contains(429, statuses);
        Assert.DoesNotContain(200, statuses);
    }
}
