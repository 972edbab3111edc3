using System.Net;
using System.Text;
using System.Text.Json;

namespace Wharf.Server.Tests.Support;

/// <summary>Request bodies and answer checks shared by the registry tests.</summary>
public static class RegistryHttp
{
    public static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>Asserts a V2 error answer: the status and, when given, the OCI error code; disposes the response.</summary>
    public static async Task AssertV2ErrorAsync(HttpResponseMessage response, HttpStatusCode status, string? code, string? what = null)
    {
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == status, $"{what ?? $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}"}: expected {status}, got {response.StatusCode}: {body}");
            if (code is not null)
            {
                Assert.Equal(code, JsonDocument.Parse(body).RootElement.GetProperty("errors")[0].GetProperty("code").GetString());
            }
        }
    }

    /// <summary>Asserts <c>400 NAME_INVALID</c>.</summary>
    public static Task AssertNameInvalidAsync(HttpResponseMessage response, string what) =>
        AssertV2ErrorAsync(response, HttpStatusCode.BadRequest, "NAME_INVALID", what);

    /// <summary>A repository's whole tree as the storage API lists it, without the times that change on every request.</summary>
    public static async Task<string> TreeAsync(HttpClient admin, string repo) =>
        Listings.WithoutTimes(await admin.GetStringAsync($"/api/storage/{repo}?list&deep=1&listFolders=1"));
}
