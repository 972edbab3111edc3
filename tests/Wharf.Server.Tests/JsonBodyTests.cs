using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>
/// Every endpoint that reads a JSON request body refuses text that is not valid UTF-8 or holds a
/// lone surrogate (escaped <c>\ud800</c> or raw bytes), and values of the wrong type, with its
/// protocol's 400; nothing is stored or changed and nothing unhandled reaches the log.
/// </summary>
public sealed class JsonBodyTests(WharfServer server) : IClassFixture<WharfServer>
{
    private const string Bad = "$BAD";

    /// <summary>JSON strings no reader can turn into text: escaped lone surrogates and raw invalid UTF-8.</summary>
    public static readonly TheoryData<string, byte[]> BadStrings = new()
    {
        { "escaped lone high surrogate", "\"a\\ud800b\""u8.ToArray() },
        { "escaped lone low surrogate", "\"\\udc00\""u8.ToArray() },
        { "escaped high surrogate before a non-surrogate escape", "\"\\ud800\\u0041\""u8.ToArray() },
        { "raw 0xFF byte", [(byte)'"', (byte)'a', 0xFF, (byte)'b', (byte)'"'] },
        { "raw encoded surrogate", [(byte)'"', 0xED, 0xA0, 0x80, (byte)'"'] },
        { "raw overlong encoding", [(byte)'"', 0xC0, 0xAF, (byte)'"'] },
        { "raw truncated sequence", [(byte)'"', (byte)'a', 0xE2, 0x82, (byte)'"'] },
    };

    private static readonly string ImageId = new('c', 64);

    private enum Protocol
    {
        Rest,
        V1,
    }

    /// <summary>One JSON-reading endpoint: a body template with <c>$BAD</c> where a string goes, bodies of wrong types, and a view of what it would change.</summary>
    private sealed record Endpoint(string Name, string Method, string Path, Protocol Protocol, string Template, string[] WrongTypes, string[] Probes);

    private static readonly Endpoint[] Endpoints =
    [
        new("create user", "PUT", "/api/security/users/jb-user", Protocol.Rest, "{\"email\":$BAD,\"password\":\"jb-secret-1\"}",
            ["{\"email\":5,\"password\":\"jb-secret-1\"}", "{\"email\":\"a@b\",\"password\":\"jb-secret-1\",\"admin\":\"maybe\"}", "{\"email\":\"a@b\",\"password\":\"jb-secret-1\",\"groups\":\"readers\"}", "[]", "\"user\"", "null"],
            ["/api/security/users/jb-user"]),
        new("update user", "POST", "/api/security/users/alice", Protocol.Rest, "{\"email\":$BAD}",
            ["{\"email\":[]}", "{\"disabled\":{}}", "7"],
            ["/api/security/users/alice"]),
        new("create group", "PUT", "/api/security/groups/jb-group", Protocol.Rest, "{\"description\":$BAD}",
            ["{\"userNames\":\"alice\"}", "{\"autoJoin\":3}", "[1]"],
            ["/api/security/groups/jb-group"]),
        new("update group", "POST", "/api/security/groups/readers", Protocol.Rest, "{\"userNames\":[$BAD]}",
            ["{\"userNames\":[1]}", "{\"description\":false}"],
            ["/api/security/groups/readers"]),
        new("permission target", "PUT", "/api/security/permissions/jb-target", Protocol.Rest, "{\"repositories\":[$BAD],\"includesPattern\":\"**\"}",
            ["{\"repositories\":\"docker-local\"}", "{\"principals\":{\"users\":{\"alice\":\"r\"}}}", "{\"includesPattern\":[]}"],
            ["/api/security/permissions/jb-target"]),
        new("permission target principal name", "PUT", "/api/security/permissions/jb-target", Protocol.Rest, "{\"repositories\":[\"docker-local\"],\"principals\":{\"users\":{$BAD:[\"r\"]}}}",
            [],
            ["/api/security/permissions/jb-target"]),
        new("anonymous access", "PUT", "/api/security/anonymousAccess", Protocol.Rest, "{\"enabled\":$BAD}",
            ["{\"enabled\":1}", "{\"enabled\":[]}", "{}"],
            ["/api/security/anonymousAccess"]),
        new("create repository", "PUT", "/api/repositories/jb-repo", Protocol.Rest, "{\"key\":\"jb-repo\",\"rclass\":\"local\",\"packageType\":\"docker\",\"description\":$BAD}",
            ["{\"key\":5}", "{\"key\":\"jb-repo\",\"packageType\":\"docker\",\"description\":5}", "{\"key\":\"jb-repo\",\"packageType\":\"docker\",\"maxUniqueTags\":\"lots\"}", "{\"key\":\"jb-repo\",\"packageType\":\"docker\",\"propertySets\":\"a\"}", "[]"],
            ["/api/repositories/jb-repo"]),
        new("create repository, bad field name", "PUT", "/api/repositories/jb-repo", Protocol.Rest, "{\"key\":\"jb-repo\",\"packageType\":\"docker\",$BAD:1}",
            [],
            ["/api/repositories/jb-repo"]),
        new("update repository", "POST", "/api/repositories/docker-v2-local", Protocol.Rest, "{\"notes\":$BAD}",
            ["{\"notes\":5}", "{\"blackedOut\":\"perhaps\"}", "{\"registryPort\":\"x\"}", "\"x\""],
            ["/api/repositories/docker-v2-local"]),
        new("promote V1", "POST", "/api/docker/docker-local/v1/promote", Protocol.Rest, "{\"targetRepo\":\"docker-public\",\"dockerRepository\":$BAD}",
            ["{\"targetRepo\":5,\"dockerRepository\":\"a/b\"}", "{\"targetRepo\":\"docker-public\",\"dockerRepository\":\"a/b\",\"copy\":\"maybe\"}"],
            ["/api/storage/docker-public/repositories?list&deep=1"]),
        new("promote V2", "POST", "/api/docker/docker-v2-local/v2/promote", Protocol.Rest, "{\"targetRepo\":\"docker-v2-local\",\"dockerRepository\":\"a/b\",\"targetTag\":$BAD}",
            ["{\"targetRepo\":\"docker-v2-local\",\"dockerRepository\":[\"a/b\"]}"],
            ["/api/storage/docker-v2-local?list&deep=1"]),
        new("migrate", "POST", "/api/docker/docker-local/v1/migrate", Protocol.Rest, "{\"targetRepo\":\"docker-v2-local\",\"tag\":$BAD}",
            ["{\"targetRepo\":\"docker-v2-local\",\"overwrite\":[]}", "{\"tag\":7}"],
            ["/api/storage/docker-v2-local?list&deep=1"]),
        new("V1 image JSON", "PUT", $"/v1/images/{ImageId}/json", Protocol.V1, $"{{\"id\":\"{ImageId}\",\"comment\":$BAD}}",
            [$"{{\"id\":\"{ImageId}\",\"parent\":5}}", "{\"id\":5}", "[]"],
            [$"/v1/images/{ImageId}/json"]),
        new("V1 image JSON, bad field name", "PUT", $"/v1/images/{ImageId}/json", Protocol.V1, $"{{\"id\":\"{ImageId}\",$BAD:1}}",
            [],
            [$"/v1/images/{ImageId}/json"]),
        new("V1 push start image list", "PUT", "/v1/repositories/acme/jb/", Protocol.V1, $"[{{\"id\":\"{ImageId}\",\"Tag\":$BAD}}]",
            ["[{\"id\":5}]", "{\"id\":\"x\"}", "[\"x\"]"],
            ["/api/storage/docker-local/repositories/acme?list&deep=1"]),
        new("V1 tag", "PUT", "/v1/repositories/acme/jb/tags/latest", Protocol.V1, Bad,
            ["5", "[\"x\"]", "{}"],
            ["/v1/repositories/acme/jb/tags"]),
    ];

    [Theory]
    [MemberData(nameof(BadStrings))]
    public async Task Invalid_text_in_a_JSON_body_is_the_protocols_400_everywhere(string what, byte[] value)
    {
        using var admin = server.Admin();
        var mark = server.Logs.Mark;
        foreach (var endpoint in Endpoints)
        {
            var body = Fill(endpoint.Template, value);
            await AssertRefusedAsync(admin, endpoint, body, $"{endpoint.Name} with {what}");
        }

        server.Logs.AssertNoServerErrors(mark);
    }

    [Fact]
    public async Task Values_of_the_wrong_type_are_the_protocols_400_everywhere()
    {
        using var admin = server.Admin();
        var mark = server.Logs.Mark;
        foreach (var endpoint in Endpoints)
        {
            foreach (var wrong in endpoint.WrongTypes)
            {
                await AssertRefusedAsync(admin, endpoint, Encoding.UTF8.GetBytes(wrong), $"{endpoint.Name} with {wrong}");
            }
        }

        server.Logs.AssertNoServerErrors(mark);
    }

    [Fact]
    public async Task Valid_text_beyond_ascii_is_accepted()
    {
        // The refusals above are about broken text, not about text outside ASCII: a surrogate pair,
        // escaped or raw, and other non-ASCII characters are ordinary strings.
        using var admin = server.Admin();
        var description = "\"caf\u00e9 \\ud83d\\ude00 \u2603 \ud83d\udc33\"";
        using var created = await SendAsync(admin, "PUT", "/api/repositories/jb-unicode", Encoding.UTF8.GetBytes(
            "{\"key\":\"jb-unicode\",\"rclass\":\"local\",\"packageType\":\"docker\",\"description\":" + description + "}"));
        Assert.True(created.StatusCode == HttpStatusCode.OK, await created.Content.ReadAsStringAsync());
        var stored = JsonDocument.Parse(await admin.GetStringAsync("/api/repositories/jb-unicode")).RootElement.GetProperty("description").GetString();
        Assert.Equal("caf\u00e9 \ud83d\ude00 \u2603 \ud83d\udc33", stored);
    }

    private async Task AssertRefusedAsync(HttpClient admin, Endpoint endpoint, byte[] body, string because)
    {
        var before = await SnapshotAsync(admin, endpoint);
        using var response = await SendAsync(admin, endpoint.Method, endpoint.Path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{because}: expected 400, got {(int)response.StatusCode} {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = JsonDocument.Parse(text).RootElement;
        if (endpoint.Protocol == Protocol.V1)
        {
            Assert.True(error.GetProperty("error").GetString() is { Length: > 0 }, because);
        }
        else
        {
            var entry = error.GetProperty("errors")[0];
            Assert.Equal(400, entry.GetProperty("status").GetInt32());
            Assert.True(entry.GetProperty("message").GetString() is { Length: > 0 }, because);
        }

        Assert.Equal(before, await SnapshotAsync(admin, endpoint));
    }

    /// <summary>What the endpoint could change: its resources as GET answers them, and the stored files.</summary>
    private async Task<string> SnapshotAsync(HttpClient admin, Endpoint endpoint)
    {
        var parts = new List<string>();
        foreach (var probe in endpoint.Probes)
        {
            using var response = await admin.GetAsync(probe);
            var text = await response.Content.ReadAsStringAsync();

            // A listing's root carries the time it was made; only what is listed matters here.
            parts.Add($"{probe} {(int)response.StatusCode} {(probe.Contains("?list", StringComparison.Ordinal) ? Listings.WithoutTimes(text) : text)}");
        }

        parts.AddRange(server.StoredFiles());
        return string.Join('\n', parts);
    }

    internal static Task<HttpResponseMessage> SendAsync(HttpClient client, string method, string path, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = content });
    }

    /// <summary>The template's UTF-8 bytes with <c>$BAD</c> replaced by <paramref name="value"/> (raw bytes, not re-encoded).</summary>
    internal static byte[] Fill(string template, byte[] value)
    {
        var at = template.IndexOf(Bad, StringComparison.Ordinal);
        return [.. Encoding.UTF8.GetBytes(template[..at]), .. value, .. Encoding.UTF8.GetBytes(template[(at + Bad.Length)..])];
    }
}
