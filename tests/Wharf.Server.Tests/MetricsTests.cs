using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>
/// <c>GET /metrics</c> (rest-api §7.4): administrators only unless <c>Wharf:Metrics:AllowAnonymous</c>;
/// valid Prometheus text; and the registry, HTTP, storage and cleanup series move with what happens.
/// </summary>
public sealed partial class MetricsTests : IAsyncLifetime
{
    private const string Repo = "docker-v2-local";
    private const string ManifestRoute = "/artifactory/api/docker/{repoKey}/v2/{name}/manifests/{reference}";

    private readonly WharfServer _server = new();

    public Task InitializeAsync() => _server.InitializeAsync();

    public Task DisposeAsync() => _server.DisposeAsync();

    [Fact]
    public async Task Only_administrators_read_the_metrics_by_default()
    {
        using (var anonymous = _server.Client())
        using (var response = await anonymous.GetAsync("/metrics"))
        {
            await SystemOpsTests.AssertRestErrorAsync(response, HttpStatusCode.Unauthorized);
            Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Basic");
        }

        using (var alice = _server.Client("alice", WharfServer.AlicePassword))
        using (var response = await alice.GetAsync("/metrics"))
        {
            await SystemOpsTests.AssertRestErrorAsync(response, HttpStatusCode.Forbidden);
        }

        using (var admin = _server.Admin())
        using (var response = await admin.GetAsync("/metrics"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
            Parse(await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task Bad_credentials_are_401_even_where_anyone_may_read()
    {
        var open = new WharfServer { ExtraSettings = new Dictionary<string, string?> { ["Wharf:Metrics:AllowAnonymous"] = "true" } };
        await open.InitializeAsync();
        try
        {
            (string? User, string? Password, string? Authorization)[] cases =
            [
                ("admin", "wrong-password-1", null),
                ("nobody", "wrong-password-1", null),
                (null, null, "Bearer not-a-token"),
                (null, null, "Basic !!!"),
            ];
            foreach (var server in new[] { _server, open })
            {
                foreach (var (user, password, authorization) in cases)
                {
                    using var client = server.Client(user, password);
                    if (authorization is not null)
                    {
                        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", authorization);
                    }

                    using var response = await client.GetAsync("/metrics");
                    await SystemOpsTests.AssertRestErrorAsync(response, HttpStatusCode.Unauthorized);
                }
            }
        }
        finally
        {
            await open.DisposeAsync();
        }
    }

    [Fact]
    public async Task With_AllowAnonymous_anyone_reads_the_metrics()
    {
        var open = new WharfServer { ExtraSettings = new Dictionary<string, string?> { ["Wharf:Metrics:AllowAnonymous"] = "true" } };
        await open.InitializeAsync();
        try
        {
            foreach (var client in new[] { open.Client(), open.Client("alice", WharfServer.AlicePassword), open.Admin() })
            {
                using (client)
                using (var response = await client.GetAsync("/metrics"))
                {
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    var text = await response.Content.ReadAsStringAsync();
                    Parse(text);
                    Assert.Contains("# TYPE wharf_http_requests_total counter\n", text, StringComparison.Ordinal);
                }
            }
        }
        finally
        {
            await open.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_v2_push_and_pull_move_the_registry_http_and_storage_series()
    {
        using var alice = _server.Client("alice", WharfServer.AlicePassword);
        using var anonymous = _server.Client();
        using (var refused = await V2Push.PostBlobAsync(anonymous, Repo, "team/app", [1, 2, 3]))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        var image = await V2Push.PushImageAsync(alice, Repo, "team/app", "1.0");
        using (var pull = new HttpRequestMessage(HttpMethod.Get, V2Push.Base(Repo) + "team/app/manifests/1.0"))
        {
            pull.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(V2Push.OciManifest));
            using var response = await alice.SendAsync(pull);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using (var blob = await alice.GetAsync(V2Push.Base(Repo) + "team/app/blobs/" + image.LayerDigest))
        {
            Assert.Equal(image.Layer, await blob.Content.ReadAsByteArrayAsync());
        }

        using (var missing = await alice.GetAsync(V2Push.Base(Repo) + "team/app/manifests/2.0"))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        var configSize = System.Text.Json.JsonDocument.Parse(image.Manifest).RootElement.GetProperty("config").GetProperty("size").GetInt64();
        var samples = await ScrapeAsync(_server, s => s.ContainsKey($"wharf_http_requests_total{{method=\"GET\",route=\"{ManifestRoute}\",status=\"404\"}}"));
        Assert.Equal(1, samples[$"wharf_docker_pushes_total{{repo=\"{Repo}\"}}"]);
        Assert.Equal(1, samples[$"wharf_docker_pulls_total{{repo=\"{Repo}\"}}"]);
        Assert.Equal(1, samples["wharf_registry_operations_total{protocol=\"v2\",operation=\"manifest_put\",outcome=\"ok\"}"]);
        Assert.Equal(1, samples["wharf_registry_operations_total{protocol=\"v2\",operation=\"manifest_get\",outcome=\"not_found\"}"]);
        Assert.Equal(2, samples["wharf_registry_operations_total{protocol=\"v2\",operation=\"upload_start_post\",outcome=\"ok\"}"]);
        Assert.Equal(1, samples["wharf_registry_operations_total{protocol=\"v2\",operation=\"upload_start_post\",outcome=\"denied\"}"]);
        Assert.Equal(configSize + image.Layer.Length, samples[$"wharf_blob_upload_bytes_total{{repo=\"{Repo}\"}}"]);
        Assert.Equal(image.Layer.Length, samples[$"wharf_blob_download_bytes_total{{repo=\"{Repo}\"}}"]);
        Assert.Equal(1, samples[$"wharf_http_requests_total{{method=\"PUT\",route=\"{ManifestRoute}\",status=\"201\"}}"]);
        Assert.Equal(1, samples[$"wharf_http_requests_total{{method=\"GET\",route=\"{ManifestRoute}\",status=\"404\"}}"]);
        Assert.Equal(2, samples[$"wharf_http_request_duration_seconds_count{{method=\"GET\",route=\"{ManifestRoute}\"}}"]);
        Assert.Equal(2, samples[$"wharf_http_request_duration_seconds_bucket{{method=\"GET\",route=\"{ManifestRoute}\",le=\"+Inf\"}}"]);
        Assert.InRange(samples[$"wharf_repository_artifacts{{repo=\"{Repo}\"}}"], 3, 100);
        Assert.InRange(samples[$"wharf_repository_bytes{{repo=\"{Repo}\"}}"], image.Manifest.Length + configSize + image.Layer.Length, double.MaxValue);
        Assert.Equal(0, samples["wharf_repository_artifacts{repo=\"docker-public\"}"]);
        Assert.InRange(samples["wharf_blobstore_bytes"], image.Manifest.Length + configSize + image.Layer.Length, double.MaxValue);

        // No raw path became a label: every route is a pattern or "unmatched".
        Assert.All(samples.Keys.Where(k => k.StartsWith("wharf_http_requests_total", StringComparison.Ordinal)),
            k => Assert.DoesNotContain("team/app", k, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_v1_push_and_pull_count_as_well()
    {
        using (var docker = new DockerV1Client(_server.BaseAddress, "/v1/", DockerVersion.V1_12, AuthStyle.BasicEverywhere, "alice", WharfServer.AlicePassword))
        {
            var chain = TestImage.Chain(DockerVersion.V1_12, 2);
            await docker.PushAsync("library/web", "1.0", chain);
            Assert.Equal(chain.Select(i => i.Id), (await docker.PullAsync("library/web", "1.0")).Select(i => i.Id));
        }

        var samples = await ScrapeAsync(_server, s => s.ContainsKey("wharf_docker_pulls_total{repo=\"docker-local\"}"));
        Assert.Equal(1, samples["wharf_docker_pushes_total{repo=\"docker-local\"}"]);
        Assert.Equal(1, samples["wharf_docker_pulls_total{repo=\"docker-local\"}"]);
        Assert.Equal(2, samples["wharf_registry_operations_total{protocol=\"v1\",operation=\"image_layer_put\",outcome=\"ok\"}"]);
        Assert.Equal(1, samples["wharf_http_requests_total{method=\"PUT\",route=\"/v1/repositories/{name}/tags/{tag}\",status=\"200\"}"]);
        Assert.True(samples["wharf_blob_upload_bytes_total{repo=\"docker-local\"}"] >= 2 * 4096);
    }

    [Fact]
    public async Task Cleanup_runs_are_counted_by_job()
    {
        var before = await ScrapeAsync(_server);
        Assert.Equal(0, before["wharf_cleanup_runs_total{job=\"gc\"}"]);
        using var admin = _server.Admin();
        using (var response = await admin.PostAsync("/api/system/cleanup", null))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var after = await ScrapeAsync(_server);
        foreach (var job in new[] { "gc", "uploads", "empty_folders", "v1_images" })
        {
            Assert.Equal(1, after[$"wharf_cleanup_runs_total{{job=\"{job}\"}}"]);
        }
    }

    /// <summary>
    /// Scrapes as admin until <paramref name="ready"/> holds: a request is counted once its response
    /// is done, which the client may see a moment before the server has finished with it.
    /// </summary>
    private static async Task<Dictionary<string, double>> ScrapeAsync(WharfServer server, Func<Dictionary<string, double>, bool>? ready = null)
    {
        using var admin = server.Admin();
        Dictionary<string, double> samples = [];
        await AccessLogTests.Eventually(async () =>
        {
            using var response = await admin.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            samples = Parse(await response.Content.ReadAsStringAsync());
            return ready?.Invoke(samples) ?? true;
        });
        return samples;
    }

    [GeneratedRegex("""^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)( .*)?$""")]
    private static partial Regex CommentLine();

    [GeneratedRegex("""^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})? (\S+)( -?[0-9]+)?$""")]
    private static partial Regex SampleLine();

    /// <summary>
    /// Parses the text exposition format 0.0.4 strictly: every line a HELP or TYPE comment or a
    /// sample, each sample of a family whose TYPE came first, values numbers or ±Inf/NaN. Samples by
    /// their name and labels as written.
    /// </summary>
    internal static Dictionary<string, double> Parse(string text)
    {
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n').Where(l => l.Length > 0))
        {
            if (line.StartsWith('#'))
            {
                var comment = CommentLine().Match(line);
                Assert.True(comment.Success, "bad comment line: " + line);
                if (comment.Groups[1].Value == "TYPE")
                {
                    Assert.Contains(comment.Groups[3].Value.Trim(), new[] { "counter", "gauge", "histogram", "summary", "untyped" });
                    Assert.True(types.TryAdd(comment.Groups[2].Value, comment.Groups[3].Value.Trim()), "TYPE given twice: " + line);
                }

                continue;
            }

            var sample = SampleLine().Match(line);
            Assert.True(sample.Success, "bad sample line: " + line);
            var name = sample.Groups[1].Value;
            var family = types.ContainsKey(name) ? name : Regex.Replace(name, "_(bucket|sum|count)$", "");
            Assert.True(types.ContainsKey(family), "sample without a TYPE: " + line);
            var raw = sample.Groups[3].Value;
            var value = raw switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                _ => double.Parse(raw, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            Assert.True(samples.TryAdd(name + sample.Groups[2].Value, value), "sample given twice: " + line);
        }

        return samples;
    }
}
