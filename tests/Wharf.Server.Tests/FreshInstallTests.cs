using System.Net;
using System.Text.Json;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>Routes that summarise stored content answer on an empty data directory too.</summary>
public sealed class FreshInstallTests
{
    [Fact]
    public async Task The_storage_summary_answers_before_anything_is_stored()
    {
        var server = new WharfServer();
        await server.InitializeAsync();
        try
        {
            using var admin = server.Admin();
            foreach (var path in new[] { "/api/system/storage", "/artifactory/api/system/storage" })
            {
                using var response = await admin.GetAsync(path);
                var body = await response.Content.ReadAsStringAsync();
                server.Logs.AssertNoServerErrors();
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {body}");
                var summary = JsonDocument.Parse(body).RootElement;
                Assert.Equal(0, summary.GetProperty("binaries").GetProperty("count").GetInt64());
                Assert.Equal(0, summary.GetProperty("binaries").GetProperty("bytes").GetInt64());
                Assert.Equal(0, summary.GetProperty("binaries").GetProperty("reclaimableBytes").GetInt64());
                Assert.All(summary.GetProperty("repositories").EnumerateArray(), r => Assert.Equal(0, r.GetProperty("usedBytes").GetInt64()));
            }
        }
        finally
        {
            await server.DisposeAsync();
        }
    }
}
