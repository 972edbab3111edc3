using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>
/// skopeo (Debian's package, a real containers/image client) against Wharf's V2 API by the
/// repository-path method: push an OCI layout with Basic credentials through the token flow,
/// inspect, copy back, copy between repositories, and push a multi-platform index.
/// </summary>
public sealed class SkopeoTests(SkopeoTests.Fixture fixture) : IClassFixture<SkopeoTests.Fixture>
{
    private WharfServer Server => fixture.Server;

    private string Registry => $"127.0.0.1:{Server.BaseAddress.Port}";

    [Fact]
    public async Task An_oci_layout_round_trips_through_wharf_with_the_same_digests()
    {
        var layout = fixture.NewDirectory();
        var (manifestDigest, layers) = OciLayout.Write(layout, "1.0", layerCount: 3);

        await Skopeo("copy", "--dest-creds", $"admin:{WharfServer.AdminPassword}", "--dest-tls-verify=false",
            $"oci:{layout}:1.0", $"docker://{Registry}/docker-v2-local/skopeo/app:1.0");

        var raw = await Skopeo("inspect", "--raw", "--creds", $"admin:{WharfServer.AdminPassword}", "--tls-verify=false", $"docker://{Registry}/docker-v2-local/skopeo/app:1.0");
        Assert.Equal(manifestDigest, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(raw))));
        var inspect = JsonDocument.Parse(await Skopeo("inspect", "--creds", $"admin:{WharfServer.AdminPassword}", "--tls-verify=false", $"docker://{Registry}/docker-v2-local/skopeo/app:1.0")).RootElement;
        Assert.Equal(manifestDigest, inspect.GetProperty("Digest").GetString());
        Assert.Equal(layers, inspect.GetProperty("Layers").EnumerateArray().Select(l => l.GetString()!).ToList());

        var back = fixture.NewDirectory();
        await Skopeo("copy", "--src-creds", $"admin:{WharfServer.AdminPassword}", "--src-tls-verify=false",
            $"docker://{Registry}/docker-v2-local/skopeo/app:1.0", $"oci:{back}:1.0");
        foreach (var blob in Directory.EnumerateFiles(Path.Combine(layout, "blobs", "sha256")))
        {
            Assert.Equal(await File.ReadAllBytesAsync(blob), await File.ReadAllBytesAsync(Path.Combine(back, "blobs", "sha256", Path.GetFileName(blob))));
        }

        // Within the registry: skopeo mounts the blobs instead of uploading them again.
        await Skopeo("copy", "--src-creds", $"admin:{WharfServer.AdminPassword}", "--dest-creds", $"admin:{WharfServer.AdminPassword}",
            "--src-tls-verify=false", "--dest-tls-verify=false",
            $"docker://{Registry}/docker-v2-local/skopeo/app:1.0", $"docker://{Registry}/docker-v2-local/skopeo/copy:stable");
        var copied = JsonDocument.Parse(await Skopeo("inspect", "--creds", $"admin:{WharfServer.AdminPassword}", "--tls-verify=false", $"docker://{Registry}/docker-v2-local/skopeo/copy:stable")).RootElement;
        Assert.Equal(manifestDigest, copied.GetProperty("Digest").GetString());

        // Into another V2 repository key.
        using var admin = Server.Admin();
        await admin.PutAsync("/api/repositories/docker-v2-prod", new StringContent("""{"key":"docker-v2-prod","rclass":"local","packageType":"docker","dockerApiVersion":"V2"}""", Encoding.UTF8, "application/json"));
        await Skopeo("copy", "--src-creds", $"admin:{WharfServer.AdminPassword}", "--dest-creds", $"admin:{WharfServer.AdminPassword}",
            "--src-tls-verify=false", "--dest-tls-verify=false",
            $"docker://{Registry}/docker-v2-local/skopeo/app:1.0", $"docker://{Registry}/docker-v2-prod/skopeo/app:1.0");
        Assert.Equal(manifestDigest, JsonDocument.Parse(await Skopeo("inspect", "--creds", $"admin:{WharfServer.AdminPassword}", "--tls-verify=false", $"docker://{Registry}/docker-v2-prod/skopeo/app:1.0")).RootElement.GetProperty("Digest").GetString());
    }

    [Fact]
    public async Task A_multi_platform_index_is_pushed_whole()
    {
        var layout = fixture.NewDirectory();
        var indexDigest = OciLayout.WriteIndex(layout, "multi", ["amd64", "arm64"]);

        await Skopeo("copy", "--all", "--dest-creds", $"admin:{WharfServer.AdminPassword}", "--dest-tls-verify=false",
            $"oci:{layout}:multi", $"docker://{Registry}/docker-v2-local/skopeo/multi:1");

        var raw = await Skopeo("inspect", "--raw", "--creds", $"admin:{WharfServer.AdminPassword}", "--tls-verify=false", $"docker://{Registry}/docker-v2-local/skopeo/multi:1");
        Assert.Equal(indexDigest, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(raw))));
        using var admin = Server.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/storage/docker-v2-local/skopeo/multi/1/list.manifest.json")).StatusCode);
        var arm = await Skopeo("inspect", "--override-arch", "arm64", "--creds", $"admin:{WharfServer.AdminPassword}", "--tls-verify=false", $"docker://{Registry}/docker-v2-local/skopeo/multi:1");
        Assert.Equal("arm64", JsonDocument.Parse(arm).RootElement.GetProperty("Architecture").GetString());
    }

    [Fact]
    public async Task Wrong_credentials_are_refused()
    {
        var layout = fixture.NewDirectory();
        OciLayout.Write(layout, "1", layerCount: 1);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Skopeo("copy", "--dest-creds", "admin:wrong-password", "--dest-tls-verify=false",
            $"oci:{layout}:1", $"docker://{Registry}/docker-v2-local/skopeo/refused:1"));
        Assert.Contains("unauthorized", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_migrated_v1_image_pulls_with_skopeo_and_unpacks_to_the_same_files()
    {
        // A V1 chain as docker 1.x pushed it: a plain tar, an empty layer (1024 zero bytes) and a gzip layer.
        var tars = new[] { Tar(("etc/os-release", "ID=wharf\n"), ("bin/tool", "#!/bin/sh\necho hi\n")), new byte[1024], Tar(("app/main.txt", "hello from V1\n")) };
        var stored = new[] { tars[0], tars[1], Gzip(tars[2]) };
        var chain = new List<TestImage>();
        for (var i = 0; i < stored.Length; i++)
        {
            var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
            var json = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object?>
            {
                ["id"] = id,
                ["parent"] = i == 0 ? null : chain[i - 1].Id,
                ["created"] = $"2015-05-12T21:04:4{i}.012345678Z",
                ["container_config"] = new { Cmd = new[] { "/bin/sh", "-c", $"step {i}" } },
                ["config"] = new { Labels = new Dictionary<string, string> { ["team"] = "migration" } },
                ["architecture"] = "amd64",
                ["os"] = "linux",
            }.Where(p => p.Value is not null).ToDictionary());
            chain.Add(new TestImage(id, json, stored[i]));
        }

        using (var docker = new DockerV1Client(Server.BaseAddress, "/artifactory/api/docker/docker-local/v1/", DockerVersion.V1_12, AuthStyle.BasicEverywhere, "admin", WharfServer.AdminPassword))
        {
            await docker.PushAsync("library/migrated", "14.04", chain);
        }

        using var admin = Server.Admin();
        string digest;
        using (var first = await admin.PostAsync("/api/docker/docker-local/v1/migrate", new StringContent("""{"targetRepo":"docker-v2-local","dockerRepository":"migrated","tag":"14.04"}""", Encoding.UTF8, "application/json")))
        {
            var report = JsonDocument.Parse(await first.Content.ReadAsStringAsync()).RootElement;
            Assert.True(first.StatusCode == HttpStatusCode.OK, report.ToString());
            var migrated = report.GetProperty("migrated").EnumerateArray().Single();
            Assert.Equal("migrated", migrated.GetProperty("targetImage").GetString());
            digest = migrated.GetProperty("digest").GetString()!;
        }

        // Deterministic: a second run finds the same digest in place.
        using (var again = await admin.PostAsync("/api/docker/docker-local/v1/migrate", new StringContent("""{"targetRepo":"docker-v2-local","dockerRepository":"library/migrated"}""", Encoding.UTF8, "application/json")))
        {
            var report = JsonDocument.Parse(await again.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(digest, report.GetProperty("unchanged").EnumerateArray().Single().GetProperty("digest").GetString());
            Assert.Empty(report.GetProperty("migrated").EnumerateArray());
        }

        var pulled = fixture.NewDirectory();
        await Skopeo("copy", "--src-creds", $"admin:{WharfServer.AdminPassword}", "--src-tls-verify=false", $"docker://{Registry}/docker-v2-local/migrated:14.04", $"oci:{pulled}:x");
        var index = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(pulled, "index.json"))).RootElement;
        var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(Blob(pulled, index.GetProperty("manifests")[0].GetProperty("digest").GetString()!))).RootElement;
        var config = JsonDocument.Parse(await File.ReadAllTextAsync(Blob(pulled, manifest.GetProperty("config").GetProperty("digest").GetString()!))).RootElement;
        var layers = manifest.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("digest").GetString()!).ToList();
        Assert.Equal(2, layers.Count);

        // The non-empty V1 layers, root first, unpack to the same files; diff_ids name their tars.
        var diffIds = config.GetProperty("rootfs").GetProperty("diff_ids").EnumerateArray().Select(d => d.GetString()).ToList();
        foreach (var (layer, tar, diffId) in layers.Zip([tars[0], tars[2]], diffIds))
        {
            var unpacked = Ungzip(await File.ReadAllBytesAsync(Blob(pulled, layer)));
            Assert.Equal(Files(tar), Files(unpacked));
            Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(tar)), diffId);
        }

        var history = config.GetProperty("history").EnumerateArray().ToList();
        Assert.Equal(3, history.Count);
        Assert.True(history[1].GetProperty("empty_layer").GetBoolean());
        Assert.Equal("/bin/sh -c step 2", history[2].GetProperty("created_by").GetString());
        Assert.Equal("migration", config.GetProperty("config").GetProperty("Labels").GetProperty("team").GetString());
        Assert.Equal(["migration"], JsonDocument.Parse(await admin.GetStringAsync("/api/storage/docker-v2-local/migrated/14.04/manifest.json?properties")).RootElement
            .GetProperty("properties").GetProperty("docker.label.team").EnumerateArray().Select(v => v.GetString()));

        // The main listener's catalog names images as clients address them there: <key>/<image>.
        var catalog = JsonDocument.Parse(await admin.GetStringAsync("/v2/_catalog")).RootElement.GetProperty("repositories").EnumerateArray().Select(r => r.GetString()).ToList();
        Assert.Contains("docker-v2-local/migrated", catalog);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Server.Client("admin", "wrong").GetAsync("/v2/_catalog")).StatusCode);

        // The source is untouched.
        using var v1 = new DockerV1Client(Server.BaseAddress, "/artifactory/api/docker/docker-local/v1/", DockerVersion.V1_12, AuthStyle.BasicEverywhere, "admin", WharfServer.AdminPassword);
        LifecycleTests.AssertSameImages(chain, await v1.PullAsync("library/migrated", "14.04"));
    }

    [Theory]
    [InlineData("""{"targetRepo":"docker-local","dockerRepository":"nosuch"}""", 400)]
    [InlineData("""{"targetRepo":"docker-v2-local","tag":"1"}""", 400)]
    [InlineData("""{"targetRepo":"docker-v2-local","dockerRepository":"nosuch/image"}""", 404)]
    [InlineData("""{"targetRepo":"nosuch","dockerRepository":"x"}""", 404)]
    [InlineData("""{"dockerRepository":"x"}""", 400)]
    [InlineData("""{"targetRepo":""", 400)]
    public async Task Refused_migrations_answer_in_the_error_envelope(string body, int status)
    {
        using var admin = Server.Admin();
        using var response = await admin.PostAsync("/api/docker/docker-local/v1/migrate", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(status, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("errors")[0].GetProperty("status").GetInt32());
    }

    private static string Blob(string layout, string digest) => Path.Combine(layout, "blobs", "sha256", digest["sha256:".Length..]);

    private static byte[] Tar(params (string Name, string Text)[] files)
    {
        using var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Ustar, leaveOpen: true))
        {
            foreach (var (name, text) in files)
            {
                writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)) });
            }
        }

        return tar.ToArray();
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    private static byte[] Ungzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(new MemoryStream(data), CompressionMode.Decompress))
        {
            gzip.CopyTo(output);
        }

        return output.ToArray();
    }

    private static List<(string Name, string Text)> Files(byte[] tar)
    {
        var files = new List<(string, string)>();
        using var reader = new TarReader(new MemoryStream(tar));
        while (reader.GetNextEntry() is { } entry)
        {
            using var text = new StreamReader(entry.DataStream ?? Stream.Null);
            files.Add((entry.Name, text.ReadToEnd()));
        }

        return files;
    }

    internal static Task<string> Skopeo(params string[] arguments) => Cli.SkopeoAsync(arguments);

    /// <summary>A server whose main listener is a V2 registry (default repository docker-v2-local).</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        private readonly List<string> _directories = [];

        public WharfServer Server { get; } = new()
        {
            ExtraSettings = new Dictionary<string, string?> { ["Wharf:Docker:DefaultRepository"] = "docker-v2-local" },
        };

        public string NewDirectory()
        {
            var path = Path.Combine(Path.GetTempPath(), "wharf-skopeo-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(path);
            _directories.Add(path);
            return path;
        }

        public Task InitializeAsync() => Server.InitializeAsync();

        public async Task DisposeAsync()
        {
            await Server.DisposeAsync();
            foreach (var directory in _directories)
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }
}

/// <summary>Writes OCI image layouts (image-spec "image-layout") with real gzipped tar layers.</summary>
internal static class OciLayout
{
    /// <summary>One image with <paramref name="layerCount"/> layers; returns its manifest digest and layer digests.</summary>
    public static (string Manifest, IReadOnlyList<string> Layers) Write(string directory, string tag, int layerCount, string architecture = "amd64")
    {
        var (manifest, size, layers) = WriteImage(directory, layerCount, architecture);
        WriteIndexFile(directory, [(manifest, size, "application/vnd.oci.image.manifest.v1+json", tag)]);
        return (manifest, layers);
    }

    /// <summary>An OCI index of one image per architecture, tagged <paramref name="tag"/>; returns the index digest.</summary>
    public static string WriteIndex(string directory, string tag, IReadOnlyList<string> architectures)
    {
        var manifests = architectures.Select(a => (Image: WriteImage(directory, 2, a), Architecture: a)).ToList();
        var index = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = "application/vnd.oci.image.index.v1+json",
            ["manifests"] = manifests.Select(m => new Dictionary<string, object>
            {
                ["mediaType"] = "application/vnd.oci.image.manifest.v1+json",
                ["digest"] = m.Image.Manifest,
                ["size"] = m.Image.Size,
                ["platform"] = new { architecture = m.Architecture, os = "linux" },
            }).ToArray(),
        });
        var digest = WriteBlob(directory, index);
        WriteIndexFile(directory, [(digest, index.Length, "application/vnd.oci.image.index.v1+json", tag)]);
        return digest;
    }

    private static (string Manifest, long Size, IReadOnlyList<string> Layers) WriteImage(string directory, int layerCount, string architecture)
    {
        var layers = new List<(string Digest, long Size, string DiffId)>();
        for (var i = 0; i < layerCount; i++)
        {
            using var tar = new MemoryStream();
            using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
            {
                var entry = new PaxTarEntry(TarEntryType.RegularFile, $"layer{i}/data-{Guid.NewGuid():N}.bin")
                {
                    DataStream = new MemoryStream(RandomNumberGenerator.GetBytes(2048 + i)),
                };
                writer.WriteEntry(entry);
            }

            var diffId = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(tar.ToArray()));
            using var gz = new MemoryStream();
            using (var gzip = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
            {
                gzip.Write(tar.ToArray());
            }

            layers.Add((WriteBlob(directory, gz.ToArray()), gz.Length, diffId));
        }

        var config = JsonSerializer.SerializeToUtf8Bytes(new
        {
            architecture,
            os = "linux",
            config = new { Labels = new Dictionary<string, string> { ["org.example.test"] = "skopeo" } },
            rootfs = new { type = "layers", diff_ids = layers.Select(l => l.DiffId).ToArray() },
        });
        var configDigest = WriteBlob(directory, config);
        var manifest = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = "application/vnd.oci.image.manifest.v1+json",
            ["config"] = new { mediaType = "application/vnd.oci.image.config.v1+json", digest = configDigest, size = config.Length },
            ["layers"] = layers.Select(l => new { mediaType = "application/vnd.oci.image.layer.v1.tar+gzip", digest = l.Digest, size = l.Size }).ToArray(),
        });
        return (WriteBlob(directory, manifest), manifest.Length, [.. layers.Select(l => l.Digest)]);
    }

    private static string WriteBlob(string directory, byte[] content)
    {
        var hex = Convert.ToHexStringLower(SHA256.HashData(content));
        var folder = Path.Combine(directory, "blobs", "sha256");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, hex), content);
        return "sha256:" + hex;
    }

    private static void WriteIndexFile(string directory, IReadOnlyList<(string Digest, long Size, string MediaType, string Tag)> entries)
    {
        File.WriteAllText(Path.Combine(directory, "oci-layout"), """{"imageLayoutVersion":"1.0.0"}""");
        File.WriteAllBytes(Path.Combine(directory, "index.json"), JsonSerializer.SerializeToUtf8Bytes(new
        {
            schemaVersion = 2,
            manifests = entries.Select(e => new Dictionary<string, object>
            {
                ["mediaType"] = e.MediaType,
                ["digest"] = e.Digest,
                ["size"] = e.Size,
                ["annotations"] = new Dictionary<string, string> { ["org.opencontainers.image.ref.name"] = e.Tag },
            }).ToArray(),
        }));
    }
}
