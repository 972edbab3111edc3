using System.Collections.Concurrent;
using System.Net;
using Wharf.Core.Storage;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>
/// Cleanup runs online (rest-api §3.7): 200 pushes sharing layers run while tags are deleted and
/// the collector sweeps in a loop. No push may fail, every surviving tag must pull byte-identical,
/// and afterwards no unreferenced blob may outlive the grace period.
/// </summary>
public sealed class CleanupRaceTests : IAsyncLifetime
{
    private const double GraceSeconds = 4;
    private const int Pushes = 200;
    private const int Parallelism = 8;

    private readonly WharfServer _server = new()
    {
        ExtraSettings = new Dictionary<string, string?>
        {
            ["Wharf:Cleanup:GracePeriodSeconds"] = GraceSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Wharf:Cleanup:EmptyFolderMinAgeSeconds"] = "0",
            ["Wharf:Cleanup:EmptyFolderPruneIntervalMinutes"] = "0",
            ["Wharf:Cleanup:GarbageCollectionIntervalMinutes"] = "0",
        },
    };

    public Task InitializeAsync() => _server.InitializeAsync();

    public Task DisposeAsync() => _server.DisposeAsync();

    [Fact]
    public async Task Pushes_deletes_and_sweeps_together_never_lose_a_referenced_blob()
    {
        // Shared content: one base and eight middle images, pushed once under seed tags that the
        // delete loop removes too, so the shared images lose and regain references during the run.
        var root = TestImage.Chain(DockerVersion.V1_12, 1, layerBytes: 64 * 1024)[0];
        var middles = Enumerable.Range(0, 8).Select(_ => TestImage.Chain(DockerVersion.V1_12, 1, layerBytes: 32 * 1024, parent: root)[0]).ToList();
        // Every tenth push sends this same chain under a new name and is deleted at once, so its
        // images and blobs become unreferenced, are collected, and come back with the next one.
        var recycled = TestImage.Chain(DockerVersion.V1_12, 2, layerBytes: 16 * 1024);
        var seedTags = new List<(string Name, string Tag)>();
        for (var m = 0; m < middles.Count; m++)
        {
            await PushAsync("race/seed", $"m{m}", [root, middles[m]]);
            seedTags.Add(("race/seed", $"m{m}"));
        }

        var pushed = new ConcurrentDictionary<(string Name, string Tag), IReadOnlyList<TestImage>>();
        var deleted = new ConcurrentDictionary<(string Name, string Tag), bool>();
        using var stop = new CancellationTokenSource();
        var (sweeps, blobsRemoved) = (0, 0);
        var sweeper = Task.Run(async () =>
        {
            using var admin = _server.Admin();
            while (!stop.IsCancellationRequested)
            {
                using var response = await admin.PostAsync("/api/system/cleanup", null);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                var report = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
                blobsRemoved += report.GetProperty("gc").GetProperty("blobsRemoved").GetInt32();
                sweeps++;
                await Task.Delay(50);
            }
        });
        var deleter = Task.Run(async () =>
        {
            using var alice = _server.Client("alice", WharfServer.AlicePassword);
            var random = new Random(7);
            foreach (var (name, tag) in seedTags)
            {
                Assert.Equal(HttpStatusCode.OK, (await alice.DeleteAsync($"/v1/repositories/{name}/tags/{tag}")).StatusCode);
                deleted[(name, tag)] = true;
                await Task.Delay(100);
            }

            while (!stop.IsCancellationRequested)
            {
                foreach (var key in pushed.Keys.Where(k => k.Name.StartsWith("race/recycle", StringComparison.Ordinal) && !deleted.ContainsKey(k)).ToList())
                {
                    Assert.Equal(HttpStatusCode.OK, (await alice.DeleteAsync($"/v1/repositories/{key.Name}/tags/{key.Tag}")).StatusCode);
                    deleted[key] = true;
                }

                var candidates = pushed.Keys.Where(k => !deleted.ContainsKey(k)).ToList();
                if (candidates.Count > 0 && random.Next(3) == 0)
                {
                    var (name, tag) = candidates[random.Next(candidates.Count)];
                    Assert.Equal(HttpStatusCode.OK, (await alice.DeleteAsync($"/v1/repositories/{name}/tags/{tag}")).StatusCode);
                    deleted[(name, tag)] = true;
                }

                await Task.Delay(30);
            }
        });

        using var gate = new SemaphoreSlim(Parallelism);

        // Two pushes uploading the same new image at once race each other in the V1 protocol itself
        // (the second checksum PUT is refused, §9); that is not what this test is about.
        using var recycling = new SemaphoreSlim(1);
        await Task.WhenAll(Enumerable.Range(0, Pushes).Select(async i =>
        {
            // Paced over twice the grace period, so that content of early deletes ages past it and
            // is collected while later pushes still run, however fast the machine is.
            await Task.Delay(TimeSpan.FromSeconds(GraceSeconds * 2.5 * i / Pushes));
            await gate.WaitAsync();
            try
            {
                var top = TestImage.Chain(DockerVersion.V1_12, 1, layerBytes: 8 * 1024 + i, parent: middles[i % middles.Count])[0];
                IReadOnlyList<TestImage> chain = i % 10 == 0 ? recycled : [root, middles[i % middles.Count], top];
                var key = i % 10 == 0 ? ($"race/recycle{i}", "latest") : ($"race/app{i % 20}", $"t{i}");
                if (i % 10 == 0)
                {
                    await recycling.WaitAsync();
                }

                try
                {
                    await PushAsync(key.Item1, key.Item2, chain);
                }
                finally
                {
                    if (i % 10 == 0)
                    {
                        recycling.Release();
                    }
                }

                pushed[key] = chain;
            }
            finally
            {
                gate.Release();
            }
        }));

        await stop.CancelAsync();
        await Task.WhenAll(sweeper, deleter);
        Assert.True(sweeps > 5, $"only {sweeps} sweeps ran during the pushes");
        Assert.True(deleted.Count > 20, $"only {deleted.Count} tags were deleted during the pushes");
        Assert.True(blobsRemoved > 0, $"the sweeps removed no blobs: the race was not exercised");

        foreach (var ((name, tag), chain) in pushed.Where(p => !deleted.ContainsKey(p.Key)))
        {
            LifecycleTests.AssertSameImages(chain, await PullAsync(name, tag));
        }

        // Past the grace period, one more sweep leaves exactly the referenced blobs.
        await Task.Delay(TimeSpan.FromSeconds(GraceSeconds + 0.5));
        using (var admin = _server.Admin())
        {
            using var response = await admin.PostAsync("/api/system/cleanup", null);
            var report = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.True(report.GetProperty("dockerV1Images").GetProperty("removed").GetInt32() > 0, "images of deleted tags were not collected");
        }

        var referenced = new HashSet<string>(StringComparer.Ordinal);
        await using (var session = await _server.Store.OpenAsync(default))
        {
            foreach (var repository in await session.Repositories.ListAsync(default))
            {
                referenced.UnionWith((await session.Tree.ListDescendantsAsync(repository.Key, "", default)).Select(i => i.Sha256).OfType<string>());
            }
        }

        var stored = Directory.EnumerateFiles(Path.Combine(_server.DataDir, "storage", StoragePaths.BlobsRoot), "*", SearchOption.AllDirectories)
            .Select(Path.GetFileName).OfType<string>().ToHashSet(StringComparer.Ordinal);
        Assert.Empty(referenced.Except(stored));
        Assert.Empty(stored.Except(referenced));
        foreach (var ((name, tag), chain) in pushed.Where(p => !deleted.ContainsKey(p.Key)))
        {
            LifecycleTests.AssertSameImages(chain, await PullAsync(name, tag));
        }
    }

    private async Task PushAsync(string name, string tag, IReadOnlyList<TestImage> chain)
    {
        using var docker = new DockerV1Client(_server.BaseAddress, "/v1/", DockerVersion.V1_12, AuthStyle.BasicEverywhere, "alice", WharfServer.AlicePassword);
        await docker.PushAsync(name, tag, chain);
    }

    private async Task<IReadOnlyList<TestImage>> PullAsync(string name, string tag)
    {
        using var docker = new DockerV1Client(_server.BaseAddress, "/v1/", DockerVersion.V1_12, AuthStyle.BasicEverywhere, "alice", WharfServer.AlicePassword);
        return await docker.PullAsync(name, tag);
    }
}
