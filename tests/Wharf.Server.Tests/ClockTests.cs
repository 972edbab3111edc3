using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Wharf.Server.Tests.Support;
using static Wharf.Server.Tests.V1ConformanceTests;

namespace Wharf.Server.Tests;

/// <summary>One clock everywhere: tokens are issued and checked by the server's injected clock, never the system's.</summary>
public sealed class ClockTests
{
    private const string V2 = "/artifactory/api/docker/docker-v2-local/v2";

    [Theory]
    [InlineData(2)]
    [InlineData(-2)]
    public async Task Registry_and_v1_tokens_live_by_the_servers_clock(int hours)
    {
        var clock = new ShiftedClock(TimeSpan.FromHours(hours));
        var server = new WharfServer { Clock = clock };
        await server.InitializeAsync();
        try
        {
            using var alice = server.Client("alice", WharfServer.AlicePassword);
            var issued = JsonDocument.Parse(await alice.GetStringAsync(V2 + "/token")).RootElement;
            using var bearer = server.Client();
            bearer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", issued.GetProperty("token").GetString());
            Assert.Equal(HttpStatusCode.OK, (await bearer.GetAsync(V2 + "/")).StatusCode);

            using var announce = new HttpRequestMessage(HttpMethod.Put, "/v1/repositories/clock/app/") { Content = Json("[]") };
            announce.Headers.Add("X-Docker-Token", "true");
            using var announced = await alice.SendAsync(announce);
            Assert.Equal(HttpStatusCode.OK, announced.StatusCode);
            using var v1 = server.Client();
            v1.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Token " + announced.Headers.GetValues("X-Docker-Token").Single());
            Assert.Equal(HttpStatusCode.NoContent, (await v1.PutAsync("/v1/repositories/clock/app/images", Json("[]"))).StatusCode);

            // An hour and a minute later by the server's clock, both have expired, whatever the system's says.
            clock.Offset += TimeSpan.FromMinutes(61);
            Assert.Equal(HttpStatusCode.Unauthorized, (await bearer.GetAsync(V2 + "/")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await v1.PutAsync("/v1/repositories/clock/app/images", Json("[]"))).StatusCode);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }
}
