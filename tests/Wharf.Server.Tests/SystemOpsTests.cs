using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>
/// <c>GET /api/system/version</c> (signed-in users) and <c>GET /api/system/ping</c>, whose health
/// check answers 503 while the storage folder or the database is gone and 200 again once it is back.
/// </summary>
public sealed partial class SystemOpsTests : IAsyncLifetime
{
    private readonly WharfServer _server = new();

    public Task InitializeAsync() => _server.InitializeAsync();

    public Task DisposeAsync() => _server.DisposeAsync();

    [GeneratedRegex("^[0-9a-f]{7,40}$|^unknown$")]
    private static partial Regex Revision();

    [Theory]
    [InlineData("/api/system/version")]
    [InlineData("/artifactory/api/system/version")]
    public async Task The_version_names_this_build_for_any_signed_in_user(string path)
    {
        using var alice = _server.Client("alice", WharfServer.AlicePassword);
        using var response = await alice.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        Assert.Matches("^[0-9]+\\.[0-9]+\\.[0-9]+", root.GetProperty("version").GetString());
        Assert.Matches(Revision(), root.GetProperty("revision").GetString());
        Assert.Equal(["docker"], root.GetProperty("addons").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal("Apache-2.0", root.GetProperty("license").GetString());

        using var admin = _server.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync(path)).StatusCode);
    }

    [Theory]
    [InlineData(null, null, null)]
    [InlineData("alice", "wrong-password-1", null)]
    [InlineData("nobody", "wrong-password-1", null)]
    [InlineData(null, null, "Bearer not-a-token")]
    [InlineData(null, null, "Basic !!!not-base64")]
    public async Task The_version_refuses_anonymous_and_bad_credentials_with_401_in_the_rest_envelope(string? user, string? password, string? authorization)
    {
        using var client = _server.Client(user, password);
        if (authorization is not null)
        {
            client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", authorization);
        }

        using var response = await client.GetAsync("/api/system/version");
        await AssertRestErrorAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Basic");
    }

    [Fact]
    public async Task Ping_answers_503_while_the_storage_folder_is_gone_and_200_once_it_is_back()
    {
        using var client = _server.Client();
        await AssertPingAsync(client, HttpStatusCode.OK, "OK");
        var storage = Path.Combine(_server.DataDir, "storage");
        var aside = storage + ".aside";

        // Renamed away (as an unmounted or moved volume looks).
        Directory.Move(storage, aside);
        try
        {
            await AssertPingAsync(client, HttpStatusCode.ServiceUnavailable, "Storage is unavailable.");

            // A file where the folder was: nothing can be created in it, even by root.
            await File.WriteAllTextAsync(storage, "not a folder");
            await AssertPingAsync(client, HttpStatusCode.ServiceUnavailable, "Storage is unavailable.");
            File.Delete(storage);
        }
        finally
        {
            Directory.Move(aside, storage);
        }

        await AssertPingAsync(client, HttpStatusCode.OK, "OK");
        Assert.Empty(Directory.EnumerateFiles(storage, ".health-probe*"));
        _server.Logs.AssertNoServerErrors();
    }

    [Fact]
    public async Task Ping_answers_503_while_the_database_is_gone_and_200_once_it_is_back()
    {
        using var client = _server.Client();
        var database = Path.Combine(_server.DataDir, "wharf.db");
        var aside = database + ".aside";
        await AssertPingAsync(client, HttpStatusCode.OK, "OK", "/artifactory/api/system/ping");
        File.Move(database, aside);
        try
        {
            await AssertPingAsync(client, HttpStatusCode.ServiceUnavailable, "Database is unavailable.", "/artifactory/api/system/ping");
            Assert.False(File.Exists(database), "the health check must not create an empty database in its place");
        }
        finally
        {
            File.Move(aside, database);
        }

        await AssertPingAsync(client, HttpStatusCode.OK, "OK", "/artifactory/api/system/ping");
    }

    [Fact]
    public async Task Ping_needs_no_credentials_and_ignores_them()
    {
        using var nobody = _server.Client("nobody", "wrong-password-1");
        await AssertPingAsync(nobody, HttpStatusCode.OK, "OK");
    }

    /// <summary>Pings until the answer is the expected one (the health check is cached for a second), then checks it whole.</summary>
    private static async Task AssertPingAsync(HttpClient client, HttpStatusCode status, string body, string path = "/api/system/ping")
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            using var response = await client.GetAsync(path);
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == status || DateTime.UtcNow > deadline)
            {
                Assert.Equal(status, response.StatusCode);
                Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
                Assert.Equal(body, text);
                return;
            }

            await Task.Delay(100);
        }
    }

    internal static async Task AssertRestErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = Assert.Single(json.RootElement.GetProperty("errors").EnumerateArray());
        Assert.Equal((int)status, error.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
    }
}
