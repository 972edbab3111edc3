using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Wharf.Server.Tests.Support;

/// <summary>Helpers shared by the tests that issue and use access tokens.</summary>
public static class CredentialHelpers
{
    public static StringContent Form(string body) => new(body, Encoding.UTF8, "application/x-www-form-urlencoded");

    /// <summary>POSTs a token request and returns the whole answer, failing the test unless it is 200.</summary>
    public static async Task<JsonElement> TokenResponseAsync(HttpClient client, string form)
    {
        using var response = await client.PostAsync("/api/security/token", Form(form));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement;
    }

    public static async Task<string> TokenAsync(HttpClient client, string form) =>
        (await TokenResponseAsync(client, form)).GetProperty("access_token").GetString()!;

    public static HttpClient Bearer(this WharfServer server, string token)
    {
        var client = server.Client();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}
