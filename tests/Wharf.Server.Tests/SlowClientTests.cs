using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>
/// Clients that send too slowly are cut off (issue #10): a request body below the minimum data
/// rate after its grace period, and request headers not complete within their timeout.
/// </summary>
public sealed class SlowClientTests : IAsyncLifetime
{
    /// <summary>Long enough for a server with no limits to have shown that it keeps the connection.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly WharfServer _server = new()
    {
        ExtraSettings = new Dictionary<string, string?>
        {
            ["Wharf:Http:MinRequestBodyBytesPerSecond"] = "100",
            ["Wharf:Http:MinRequestBodyGraceSeconds"] = "2",
            ["Wharf:Http:RequestHeadersTimeoutSeconds"] = "2",
        },
    };

    public Task InitializeAsync() => _server.InitializeAsync();

    public Task DisposeAsync() => _server.DisposeAsync();

    [Fact]
    public async Task A_patch_that_trickles_one_byte_every_two_seconds_is_cut_off()
    {
        using var admin = _server.Admin();
        using var started = await admin.PostAsync("/artifactory/api/docker/docker-v2-local/v2/slow/app/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var head = $"PATCH {started.Headers.Location} HTTP/1.1\r\nHost: {_server.BaseAddress.Authority}\r\n"
            + $"Authorization: {WharfServer.Basic("admin", WharfServer.AdminPassword)}\r\n"
            + "Content-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n";
        var closedAfter = await TrickleAsync(head, TimeSpan.FromSeconds(2));
        Assert.True(closedAfter < Patience, $"still open after {closedAfter}");
    }

    [Fact]
    public async Task An_unfinished_token_request_is_cut_off()
    {
        var head = $"POST /api/security/token HTTP/1.1\r\nHost: {_server.BaseAddress.Authority}\r\n"
            + $"Authorization: {WharfServer.Basic("alice", WharfServer.AlicePassword)}\r\n"
            + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nexpires_in=";
        var closedAfter = await TrickleAsync(head, TimeSpan.FromSeconds(1));
        Assert.True(closedAfter < Patience, $"still open after {closedAfter}");
    }

    [Fact]
    public async Task Headers_that_never_finish_are_cut_off()
    {
        var head = $"GET /api/repositories HTTP/1.1\r\nHost: {_server.BaseAddress.Authority}\r\nX-Slow: ";
        var closedAfter = await TrickleAsync(head, TimeSpan.FromSeconds(0.5));
        Assert.True(closedAfter < Patience, $"still open after {closedAfter}");
    }

    /// <summary>
    /// Sends <paramref name="head"/>, then one byte per <paramref name="interval"/>, until the server
    /// closes the connection or <see cref="Patience"/> runs out; returns how long that took.
    /// </summary>
    private async Task<TimeSpan> TrickleAsync(string head, TimeSpan interval)
    {
        using var client = new TcpClient(AddressFamily.InterNetwork);
        await client.ConnectAsync(IPAddress.Loopback, _server.BaseAddress.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        var clock = Stopwatch.StartNew();
        var closed = DrainAsync(stream);
        while (clock.Elapsed < Patience && !closed.IsCompleted)
        {
            await Task.WhenAny(closed, Task.Delay(interval));
            try
            {
                await stream.WriteAsync("1"u8.ToArray());
            }
            catch (IOException)
            {
                break;
            }
        }

        await Task.WhenAny(closed, Task.Delay(TimeSpan.FromSeconds(1)));
        return closed.IsCompleted ? clock.Elapsed : Patience;
    }

    /// <summary>Reads whatever the server answers until it closes the connection.</summary>
    private static async Task DrainAsync(NetworkStream stream)
    {
        var buffer = new byte[4096];
        try
        {
            while (await stream.ReadAsync(buffer) > 0)
            {
            }
        }
        catch (IOException)
        {
        }
    }
}
