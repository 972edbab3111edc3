using System.Diagnostics;
using System.Net;
using Wharf.Server.Auth;
using Wharf.Server.Tests.Support;
using Xunit.Abstractions;
using static Wharf.Server.Tests.V1ConformanceTests;

namespace Wharf.Server.Tests;

/// <summary>
/// A flood of wrong passwords for one user from many addresses cannot starve the server of CPU:
/// password checks run a few at a time, and a source that logged in as that user before, or a
/// login for a user nobody is guessing at, goes ahead of the flood. Without the gate the owner's
/// login here took over 20 s on a loaded 2-core machine; with it, well under a second: the 3 s
/// bound leaves room for a slow CI machine without letting a queue behind the flood pass.
/// </summary>
public sealed class LoginFloodTests(WharfServer server, ITestOutputHelper output) : IClassFixture<WharfServer>
{
    /// <summary>Sources of the flood: 127.0.1.1 … 127.0.1.150, each one guessing in a loop.</summary>
    private const int Sources = 150;

    [Fact]
    public async Task The_owner_from_a_known_address_and_other_users_log_in_promptly_during_a_distributed_flood()
    {
        using var admin = server.Admin();
        using var created = await admin.PutAsync("/api/security/users/flooded", Json("{\"email\":\"f@x\",\"password\":\"flooded-secret-1\"}"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        // The owner logs in from 127.0.0.1 once, before the flood.
        var first = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.OK, (await server.Client("flooded", "flooded-secret-1").GetAsync("/v1/users/")).StatusCode);
        output.WriteLine($"first login {first.Elapsed}");

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var attempts = 0;
        var flood = Enumerable.Range(1, Sources).Select(i => Task.Run(async () =>
        {
            using var client = server.ClientFrom(IPAddress.Parse($"127.0.1.{i}"), "flooded", "guess-" + i);
            var statuses = new List<int>();
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await client.GetAsync("/v1/users/", stop.Token);
                    statuses.Add((int)response.StatusCode);
                    Interlocked.Increment(ref attempts);
                }
                catch (Exception e) when (e is OperationCanceledException or HttpRequestException)
                {
                    statuses.Add(0);
                }
            }

            return statuses;
        })).ToList();

        // Let the flood fill every queue, then log in while it goes on.
        await Task.Delay(TimeSpan.FromSeconds(4));
        var during = Volatile.Read(ref attempts);

        // Another login form of the same password, so the login cache does not answer for the hasher.
        using var owner = server.Client("FLOODED", "flooded-secret-1");
        var clock = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync("/v1/users/")).StatusCode);
        var ownerTook = clock.Elapsed;

        // alice has never logged in from 127.0.0.9, and nobody is guessing her password.
        using var alice = server.ClientFrom(IPAddress.Parse("127.0.0.9"), "alice", WharfServer.AlicePassword);
        clock.Restart();
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync("/v1/users/")).StatusCode);
        var aliceTook = clock.Elapsed;
        var stillFlooding = Volatile.Read(ref attempts) > during;

        await stop.CancelAsync();
        var statuses = (await Task.WhenAll(flood)).SelectMany(s => s).ToList();
        output.WriteLine($"owner {ownerTook}, alice {aliceTook}, flood: " + string.Join(", ", statuses.GroupBy(s => s).Select(g => $"{g.Count()} x {g.Key}")));
        Assert.True(stillFlooding, "the flood had stopped before the logins were measured");
        Assert.True(ownerTook < TimeSpan.FromSeconds(3), $"the owner waited {ownerTook} during the flood");
        Assert.True(aliceTook < TimeSpan.FromSeconds(3), $"alice waited {aliceTook} during the flood");
        Assert.DoesNotContain(200, statuses);

        // More sources than the queue holds: the surplus was refused, not queued (on up to 9 processors).
        if (Sources > PasswordCheckGate.QueuePerThread * Environment.ProcessorCount)
        {
            Assert.Contains(429, statuses);
        }
    }
}
