using Microsoft.Extensions.Configuration;
using Wharf.Server.Hosting;

namespace Wharf.Server.Tests;

public sealed class SettingsTests
{
    [Fact]
    public async Task Invalid_settings_stop_the_start_with_every_problem_listed()
    {
        var error = await Assert.ThrowsAsync<WharfApp.InvalidSettingsException>(() => WharfApp.BuildAsync([], builder =>
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["urls"] = "http://127.0.0.1:0",
                ["Wharf:DataDir"] = Path.Combine(Path.GetTempPath(), "wharf-never-" + Guid.NewGuid().ToString("N")),
                ["Wharf:BaseUrl"] = "ftp://nope",
                ["Wharf:Admin:Password"] = "short",
                ["Wharf:Docker:DefaultRepository"] = "Not_A_Key",
                ["Wharf:Docker:TokenLifetimeSeconds"] = "5",
            })));
        Assert.Equal(4, error.Problems.Count);
        Assert.Contains("Wharf:BaseUrl", error.Message, StringComparison.Ordinal);
        Assert.Contains("Wharf:Admin:Password", error.Message, StringComparison.Ordinal);
        Assert.Contains("Wharf:Docker:DefaultRepository", error.Message, StringComparison.Ordinal);
        Assert.Contains("Wharf:Docker:TokenLifetimeSeconds", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Slow_client_limits_are_checked()
    {
        var problems = new WharfOptions { Http = new HttpOptions { MinRequestBodyBytesPerSecond = -1, MinRequestBodyGraceSeconds = 1, RequestHeadersTimeoutSeconds = 0 } }.Validate();
        Assert.Equal(3, problems.Count);
        Assert.All(problems, p => Assert.StartsWith("Wharf:Http:", p, StringComparison.Ordinal));
        Assert.Empty(new WharfOptions { Http = new HttpOptions { MinRequestBodyBytesPerSecond = 0 } }.Validate());
    }

    [Fact]
    public void Defaults_are_valid_and_name_docker_local_on_port_8081()
    {
        var options = new WharfOptions();
        Assert.Empty(options.Validate());
        Assert.Equal("./data", options.DataDir);
        Assert.Equal("docker-local", options.Docker.DefaultRepository);
        Assert.Equal("http://127.0.0.1:8081", WharfApp.DefaultUrl);
    }
}
