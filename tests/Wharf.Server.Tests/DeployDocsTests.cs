using System.Diagnostics;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>
/// docs/production.md and deploy/ stay true: scripts/verify-deploy.sh checks the systemd unit
/// (<c>systemd-analyze verify</c>) and the example environment file, and runs the blocks the doc
/// marks with <c>&lt;!-- verify: … --&gt;</c> for real in a temporary folder: publish, Wharf as
/// the unit starts it, <c>certificate create</c>, the web-server settings, the generated NGINX
/// file under a private nginx, and the TLS checks through it.
/// </summary>
public sealed class DeployDocsTests
{
    [Fact]
    public async Task The_production_guide_runs_as_written()
    {
        var root = NodeClientTests.RepositoryRoot();
        var start = new ProcessStartInfo("bash", [Path.Combine(root, "scripts", "verify-deploy.sh")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = root,
        };

        // Three distinct free loopback ports for Wharf (8081), docker-local's port (8082) and HTTPS (443).
        var ports = new HashSet<int>();
        while (ports.Count < 3)
        {
            ports.Add(WebServers.FreePort());
        }

        var (wharf, v1, ssl) = (ports.ElementAt(0), ports.ElementAt(1), ports.ElementAt(2));
        start.Environment["WHARF_PORT"] = wharf.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["WHARF_V1_PORT"] = v1.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["WHARF_SSL_PORT"] = ssl.ToString(System.Globalization.CultureInfo.InvariantCulture);

        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, $"scripts/verify-deploy.sh failed:\n{output}");
        Assert.Contains("verify-deploy: OK", output, StringComparison.Ordinal);
    }
}
