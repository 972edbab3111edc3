using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>
/// A second, independent client: the V1 client of the npm package docker-registry-client 3.4.0,
/// run through node against a real Wharf. The test command installs it (tests/node-client).
/// </summary>
public sealed class NodeClientTests(WharfServer server) : IClassFixture<WharfServer>
{
    [Fact]
    public async Task Docker_registry_client_reads_what_docker_pushed()
    {
        var chain = TestImage.Chain(DockerVersion.V1_9, 3, layerBytes: 200_000);
        using (var docker = new DockerV1Client(server.BaseAddress, "/v1/", DockerVersion.V1_9, AuthStyle.BasicOnIndexThenToken, "alice", WharfServer.AlicePassword))
        {
            await docker.PushAsync("nodecheck/web", "1.0", chain);
        }

        var folder = Path.Combine(RepositoryRoot(), "tests", "node-client");
        Assert.True(Directory.Exists(Path.Combine(folder, "node_modules", "docker-registry-client")),
            "run the README's test command (it runs npm ci in tests/node-client) before this test");
        var start = new ProcessStartInfo("node", "v1-client.js")
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["WHARF_HOST"] = server.BaseAddress.Authority;
        start.Environment["WHARF_REPO"] = "nodecheck/web";
        start.Environment["WHARF_TAG"] = "1.0";
        start.Environment["WHARF_USER"] = "alice";
        start.Environment["WHARF_PASSWORD"] = WharfServer.AlicePassword;
        start.Environment["WHARF_IDS"] = JsonSerializer.Serialize(chain.Select(i => i.Id));
        start.Environment["WHARF_LAYER_SHA256"] = JsonSerializer.Serialize(chain.Select(i => Convert.ToHexStringLower(SHA256.HashData(i.Layer))));
        start.Environment["WHARF_JSON_SHA256"] = JsonSerializer.Serialize(chain.Select(i => Convert.ToHexStringLower(SHA256.HashData(i.Json))));
        foreach (var proxy in new[] { "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" })
        {
            start.Environment.Remove(proxy);
        }

        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"node client failed:\n{await stdout}\n{await stderr}");
        Assert.Contains("all checks passed", await stdout, StringComparison.Ordinal);
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Wharf.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Wharf.slnx not found above " + AppContext.BaseDirectory);
    }
}
