using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Wharf.Core.Docker;
using Wharf.Core.Docker.V1;
using Wharf.Core.Docker.V2;
using Wharf.Core.Lifecycle;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Security;
using Wharf.Core.Storage;
using Wharf.Core.Tree;
using Wharf.Data.Sqlite;
using ManifestTypes = Wharf.Core.Docker.V2.Manifests;

namespace Wharf.Core.Tests.Support;

/// <summary>
/// The registry's services as the server wires them, without HTTP: the real SQLite metadata store in
/// a temporary folder, wrapped in <see cref="IndexedMetadataStore"/>, and a real content store, all
/// on one <see cref="FakeTimeProvider"/>. Tree times, session times and the byte store's file
/// times (FileSystemBlobDriver stamps them with the injected clock) move only when a test
/// advances <see cref="Clock"/>, so grace periods and ages are exact, with no real waiting.
/// Holds one V2 and one V1 repository with default settings.
/// </summary>
internal sealed class RegistryFixture : IAsyncDisposable
{
    public const string V2Repo = "docker-v2";
    public const string V1Repo = "docker-v1";
    public const string User = "tester";

    /// <summary>Any fixed instant: nothing depends on the real date.</summary>
    public static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Allows every action on every path.</summary>
    public static readonly ItemAccess AllowAll = (_, _) => ValueTask.FromResult(true);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "wharf-core-registry-" + Guid.NewGuid().ToString("N"));

    private RegistryFixture(CleanupSettings settings)
    {
        Clock = new FakeTimeProvider(Start);
        Settings = settings;
        Content = new ContentStore(new FileSystemBlobDriver(Path.Join(_root, "storage"), Clock));
        Inner = new SqliteMetadataStore(Path.Join(_root, "wharf.db"));
        Store = new IndexedMetadataStore(Inner, Content);
        Blobs = new V2Blobs(Store, Content, Clock);
        Uploads = new V2UploadSessions(Store, Content, Clock);
        Manifests = new V2Manifests(Store, Content, Clock);
        Discovery = new V2Discovery(Store, Content, Clock);
        Promotion = new V2Promotion(Store, Content, Clock);
        V1 = new V1Roles(
            new V1Images(Store, Content, Clock),
            new V1Tags(Store, Content, Clock),
            new V1Repositories(Store, Content, Clock, settings),
            new V1Collector(Store),
            new V1Search(Store),
            new V1Promotion(Store, Content, Clock));
        Cleanup = new Cleanup(Store, Content, V1.Collector, Clock, settings);
        IndexCheck = new RegistryIndexCheck(Store, Content);
        TreeOperations = new TreeOperations(Store, new AccessPolicy(Store, Clock), Clock);
    }

    public FakeTimeProvider Clock { get; }

    public CleanupSettings Settings { get; }

    public ContentStore Content { get; }

    /// <summary>The undecorated store: writes through it bypass the index upkeep (forged inconsistencies, pre-index trees).</summary>
    public SqliteMetadataStore Inner { get; }

    /// <summary>The store every service uses: the inner one with the index kept up in each write transaction.</summary>
    public IndexedMetadataStore Store { get; }

    public V2Blobs Blobs { get; }

    public V2UploadSessions Uploads { get; }

    public V2Manifests Manifests { get; }

    public V2Discovery Discovery { get; }

    public V2Promotion Promotion { get; }

    /// <summary>The V1 registry's services, one per role.</summary>
    public V1Roles V1 { get; }

    public Cleanup Cleanup { get; }

    public RegistryIndexCheck IndexCheck { get; }

    /// <summary>The storage API's writes (copy, move, delete, properties); <see cref="Admin"/> may do all of them.</summary>
    public TreeOperations TreeOperations { get; }

    public static Principal Admin { get; } = new("admin", IsAdmin: true);

    /// <summary>The V2 repository every test has: dockerTagRetention 1, no tag limit.</summary>
    public RepositoryConfig V2Repository { get; } = new(V2Repo, DockerApiVersion.V2);

    public RepositoryConfig V1Repository { get; } = new(V1Repo, DockerApiVersion.V1);

    public static async Task<RegistryFixture> CreateAsync(CleanupSettings? settings = null)
    {
        var fixture = new RegistryFixture(settings ?? CleanupSettings.Default);
        await fixture.Store.MigrateAsync(default);
        await fixture.CreateRepositoryAsync(fixture.V2Repository);
        await fixture.CreateRepositoryAsync(fixture.V1Repository);
        return fixture;
    }

    public ValueTask DisposeAsync()
    {
        Cleanup.Dispose();
        Inner.Dispose();
        Directory.Delete(_root, recursive: true);
        return ValueTask.CompletedTask;
    }

    /// <summary>Refuses <paramref name="actions"/> (any of them) on paths for which <paramref name="refused"/> holds; allows the rest.</summary>
    public static ItemAccess Refusing(AccessActions actions, Func<string, bool> refused) =>
        (path, asked) => ValueTask.FromResult((asked & actions) == 0 || !refused(path));

    public async Task<RepositoryConfig> CreateRepositoryAsync(RepositoryConfig config)
    {
        await using var tx = await Store.BeginAsync(default);
        Assert.True(await tx.Repositories.TryCreateAsync(config with { Created = Clock.GetUtcNow() }, default));
        await tx.CommitAsync(default);
        return config;
    }

    /// <summary>The consistency check finds no difference between index, trees and content.</summary>
    public async Task AssertIndexConsistentAsync()
    {
        var report = await IndexCheck.CheckAsync(default);
        Assert.True(report.Problems.Count == 0, "index problems:\n" + string.Join("\n", report.Problems));
    }

    public async Task<TreeItem?> ItemAsync(string repo, string path)
    {
        await using var session = await Store.OpenAsync(default);
        return await session.Tree.GetAsync(repo, path, default);
    }

    public async Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> PropertiesAsync(string repo, string path)
    {
        await using var session = await Store.OpenAsync(default);
        return await session.Tree.GetPropertiesAsync(repo, path, default);
    }

    /// <summary>Names of the items directly in a folder, in order.</summary>
    public async Task<IReadOnlyList<string>> ChildrenAsync(string repo, string path)
    {
        await using var session = await Store.OpenAsync(default);
        return [.. (await session.Tree.ListChildrenAsync(repo, path, default)).Select(i => i.Name).Order(StringComparer.Ordinal)];
    }

    /// <summary>Files the byte store holds below <paramref name="prefix"/> (<c>blobs</c>, <c>uploads</c>).</summary>
    public IReadOnlyList<string> StoredFiles(string prefix)
    {
        var folder = Path.Join(_root, "storage", prefix);
        return Directory.Exists(folder) ? [.. Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)] : [];
    }

    /// <summary>Runs <paramref name="write"/> in one committed transaction of <paramref name="store"/>.</summary>
    public static async Task WriteAsync(IMetadataStore store, Func<IMetadataTransaction, Task> write)
    {
        await using var tx = await store.BeginAsync(default);
        await write(tx);
        await tx.CommitAsync(default);
    }

    // ---- V2 ----

    /// <summary>Uploads a blob into the image (monolithic) and returns its digest.</summary>
    public async Task<Digest> PushBlobAsync(string image, byte[] bytes, string repo = V2Repo)
    {
        var digest = Digest.OfSha256(Sha256Hex.Of(bytes));
        Assert.Equal(V2Outcome.Created, await Blobs.PutBlobAsync(repo, image, digest, new MemoryStream(bytes), bytes.Length, User, default));
        return digest;
    }

    /// <summary>
    /// Pushes a config and one layer (unique to <paramref name="layerText"/>) into the image, then a
    /// manifest naming them under <paramref name="reference"/> (a tag, or "digest" for its own digest).
    /// </summary>
    public async Task<PushedImage> PushImageAsync(
        string image, string reference, string layerText, RepositoryConfig? repository = null, string? artifactType = null, PushedImage? subject = null)
    {
        repository ??= V2Repository;
        var config = JsonSerializer.SerializeToUtf8Bytes(new { architecture = "amd64", os = "linux", config = new { Labels = new { layer = layerText } } });
        var layer = Encoding.UTF8.GetBytes("layer bytes: " + layerText);
        var configDigest = await PushBlobAsync(image, config, repository.Key);
        var layerDigest = await PushBlobAsync(image, layer, repository.Key);
        var manifest = ManifestJson(configDigest, config.Length, layerDigest, layer.Length, artifactType, subject);
        var digest = Digest.OfSha256(Sha256Hex.Of(manifest));
        var (outcome, stored, _, message) = await Manifests.PutManifestAsync(
            repository, image, reference == "digest" ? digest.ToString() : reference, manifest, ManifestTypes.OciManifest, User, AllowAll, default);
        Assert.True(outcome == V2Outcome.Created, $"{outcome}: {message}");
        Assert.Equal(digest, stored);
        return new PushedImage(digest, manifest, configDigest, layerDigest);
    }

    public static byte[] ManifestJson(Digest config, long configSize, Digest layer, long layerSize, string? artifactType = null, PushedImage? subject = null)
    {
        var extra = (artifactType is null ? "" : $",\"artifactType\":\"{artifactType}\"")
            + (subject is null ? "" : $$""","subject":{"mediaType":"{{ManifestTypes.OciManifest}}","digest":"{{subject.Digest}}","size":{{subject.Manifest.Length}}}""");
        return Encoding.UTF8.GetBytes($$"""
            {"schemaVersion":2,"mediaType":"{{ManifestTypes.OciManifest}}",
             "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{{config}}","size":{{configSize}}},
             "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{{layer}}","size":{{layerSize}}}]{{extra}}}
            """);
    }

    // ---- V1 ----

    /// <summary>A V1 image id derived from a short name, so tests can tell images apart.</summary>
    public static string ImageIdOf(string name) => Sha256Hex.Of(Encoding.UTF8.GetBytes("image " + name));

    /// <summary>Uploads an image's JSON, layer and checksum (§6.4), which publishes its folder.</summary>
    public async Task PublishV1ImageAsync(string id, string? parent, byte[] layer, string repo = V1Repo)
    {
        var json = V1ImageJson(id, parent);
        Assert.Equal(V1Outcome.Ok, await V1.Images.PutImageJsonAsync(repo, id, json, default));
        Assert.Equal(V1Outcome.Ok, await V1.Images.PutLayerAsync(repo, id, new MemoryStream(layer), default));
        Assert.Equal(V1Outcome.Ok, await V1.Images.PutChecksumAsync(repo, id, PayloadChecksum(json, layer), null, User, default));
    }

    public static byte[] V1ImageJson(string id, string? parent) =>
        Encoding.UTF8.GetBytes(parent is null ? $$"""{"id":"{{id}}"}""" : $$"""{"id":"{{id}}","parent":"{{parent}}"}""");

    /// <summary>The V1 payload checksum: SHA-256 of the JSON, a newline and the layer (docker-v1-protocol §7.1).</summary>
    public static string PayloadChecksum(byte[] json, byte[] layer)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(json);
        hash.AppendData("\n"u8);
        hash.AppendData(layer);
        return "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}

/// <summary>The V1 registry's services as the server registers them, one per role.</summary>
internal sealed record V1Roles(V1Images Images, V1Tags Tags, V1Repositories Repositories, V1Collector Collector, V1Search Search, V1Promotion Promotion);

/// <summary>A manifest pushed by <see cref="RegistryFixture.PushImageAsync"/>, with its bytes and the blobs it names.</summary>
internal sealed record PushedImage(Digest Digest, byte[] Manifest, Digest Config, Digest Layer);
