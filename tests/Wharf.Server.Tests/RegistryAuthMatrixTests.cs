using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Wharf.Core.Metadata;
using Wharf.Core.Security;
using Wharf.Server.Tests.Support;
using static Wharf.Server.Tests.Support.RegistryHttp;

namespace Wharf.Server.Tests;

/// <summary>
/// Every registry route × users limited by one path pattern or one excluded tag, the way docker
/// clients reach it (Basic, and for V2 also a registry token from the token endpoint). Each row
/// names the exact tree paths the route reads or writes; the expected answer follows from what the
/// storage API decides for those paths (the same <see cref="AccessPolicy"/> decision on items,
/// checked against <c>/artifactory/…</c> downloads where the files exist). Rows that change
/// something are undone by an administrator after each case.
/// </summary>
public sealed partial class RegistryAuthMatrixTests(RegistryAuthMatrixTests.Fixture fixture) : IClassFixture<RegistryAuthMatrixTests.Fixture>
{
    private const string V2Repo = "docker-v2-local";
    private const string V1Repo = "docker-local";
    private static readonly string V2 = V2Push.Base(V2Repo);

    public enum User
    {
        /// <summary>r, w, d on <c>**/latest/**</c> only.</summary>
        Latest,

        /// <summary>r, w, d, n on <c>**</c> except <c>team/app/2.0/**</c> and <c>repositories/acme/web/1.0/**</c>.</summary>
        Excluder,

        /// <summary>r, w, d on one tag of each repository: <c>team/app/1.0/**</c> and <c>repositories/acme/web/1.0/**</c>.</summary>
        OneTag,
    }

    public enum Via
    {
        Basic,
        RegistryToken,
    }

    /// <summary>One case: the caller, its client and the storage API's decisions.</summary>
    internal sealed class Case(Fixture fixture, User user, Via via, HttpClient client)
    {
        /// <summary>Whether the client speaks Basic, which the storage API accepts too (registry tokens are for the registry only).</summary>
        public bool Basic => via == Via.Basic;

        public Fixture Data => fixture;

        public HttpClient Client => client;

        public HttpClient Admin { get; } = fixture.Server.Admin();

        /// <summary>The storage API's decision on one item (a file, or a folder as itself).</summary>
        public Task<bool> MayAsync(string repo, string path, AccessActions action) => fixture.MayAsync(user, repo, path, action, item: true);

        /// <summary>Whether the caller holds the action anywhere at or below a folder: the registry's gate.</summary>
        public Task<bool> GateAsync(string repo, string folder, AccessActions action) => fixture.MayAsync(user, repo, folder, action, item: false);

        public async Task<bool> MayAllAsync(string repo, IEnumerable<string> paths, AccessActions action)
        {
            foreach (var path in paths)
            {
                if (!await MayAsync(repo, path, action))
                {
                    return false;
                }
            }

            return true;
        }

        public async Task<bool> MayAnyAsync(string repo, IEnumerable<string> paths, AccessActions action)
        {
            foreach (var path in paths)
            {
                if (await MayAsync(repo, path, action))
                {
                    return true;
                }
            }

            return false;
        }
    }

    private static readonly Dictionary<string, (bool V2, Func<Case, Task> Run)> Rows = new(StringComparer.Ordinal)
    {
        ["GET manifests/<tag>"] = (true, GetManifestsTagAsync),
        ["GET manifests/<digest>"] = (true, GetManifestsDigestAsync),
        ["GET blobs/<digest>"] = (true, GetBlobsDigestAsync),
        ["GET tags/list"] = (true, GetTagsListAsync),
        ["GET _catalog"] = (true, GetCatalogAsync),
        ["GET referrers/<digest>"] = (true, GetReferrersDigestAsync),
        ["PUT manifests/<tag> (same content)"] = (true, PutManifestsTagSameContentAsync),
        ["PUT manifests/<tag> (replacing it)"] = (true, PutManifestsTagReplacingItAsync),
        ["DELETE manifests/<tag>"] = (true, DeleteManifestsTagAsync),
        ["DELETE manifests/<digest>"] = (true, DeleteManifestsDigestAsync),
        ["POST blobs/uploads/ (session)"] = (true, PostBlobsUploadsSessionAsync),
        ["POST blobs/uploads/?digest="] = (true, PostBlobsUploadsDigestAsync),
        ["POST blobs/uploads/?mount=&from="] = (true, PostBlobsUploadsMountFromAsync),
        ["PATCH, GET, PUT, DELETE blobs/uploads/<id>"] = (true, UploadSessionRoutesAsync),
        ["DELETE blobs/<digest>"] = (true, DeleteBlobsDigestAsync),
        ["GET /v1/repositories/<name>/tags"] = (false, GetV1RepositoriesNameTagsAsync),
        ["GET /v1/repositories/<name>/tags/<tag>[/json]"] = (false, GetV1RepositoriesNameTagsTagJsonAsync),
        ["PUT /v1/repositories/<name>/tags/<tag>"] = (false, PutV1RepositoriesNameTagsTagAsync),
        ["DELETE /v1/repositories/<name>/tags/<tag>"] = (false, DeleteV1RepositoriesNameTagsTagAsync),
        ["DELETE /v1/repositories/<name>/"] = (false, DeleteV1RepositoriesNameAsync),
        ["GET /v1/images/<id>/json|layer|ancestry"] = (false, GetV1ImagesIdJsonLayerAncestryAsync),
        ["PUT /v1/images/<id>/json|layer|checksum"] = (false, PutV1ImagesIdJsonLayerChecksumAsync),
        ["/v1/repositories/<name>/ and /images (index)"] = (false, V1RepositoriesNameAndImagesIndexAsync),
        ["GET /v1/search"] = (false, GetV1SearchAsync),
        ["POST promote (V1) and migrate"] = (false, PostPromoteV1AndMigrateAsync),
        ["POST promote (V2)"] = (true, PostPromoteV2Async),
    };

    public static TheoryData<string, User, Via> Cases()
    {
        var data = new TheoryData<string, User, Via>();
        foreach (var (row, (v2, _)) in Rows)
        {
            foreach (var user in Enum.GetValues<User>())
            {
                data.Add(row, user, Via.Basic);
                if (v2 && !row.StartsWith("POST promote", StringComparison.Ordinal))
                {
                    data.Add(row, user, Via.RegistryToken);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Each_registry_route_answers_as_the_storage_API_decides(string row, User user, Via via)
    {
        using var client = via == Via.Basic ? fixture.Client(user) : await fixture.TokenClientAsync(user);
        var test = new Case(fixture, user, via, client);
        try
        {
            await Rows[row].Run(test);
        }
        finally
        {
            test.Admin.Dispose();
        }
    }

    private static async Task ExpectAsync(Task<HttpResponseMessage> sending, HttpStatusCode expected)
    {
        using var response = await sending;
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{response.RequestMessage!.Method} {response.RequestMessage.RequestUri!.PathAndQuery}: expected {(int)expected}, got {(int)response.StatusCode} {(body.Length > 300 ? body[..300] : body)}");
    }

    /// <summary>
    /// docker-local (V1): acme/web:latest and acme/web:1.0 (sharing a base), secret/vault:v1.
    /// docker-v2-local: team/app:latest, 1.0, 2.0, team/other:1.0, a referrer of team/app:latest
    /// (by digest) and a loose blob in team/app's uploads.
    /// </summary>
    public sealed class Fixture : IAsyncLifetime
    {
        public static readonly string[] AppTags = ["latest", "1.0", "2.0"];
        public static readonly string[] WebTags = ["latest", "1.0"];

        private readonly Dictionary<string, IReadOnlyList<TestImage>> _web = [];
        private PolicyOracle? _oracle;

        public WharfServer Server { get; } = new();

        public Dictionary<string, PushedImage> App { get; } = [];

        public PushedImage Other { get; private set; } = null!;

        public string Referrer { get; private set; } = "";

        public byte[] Loose { get; } = RandomNumberGenerator.GetBytes(100);

        public IReadOnlyList<TestImage> AllImages { get; private set; } = [];

        public IReadOnlyList<TestImage> WebTag(string tag) => _web[tag];

        /// <summary>Every file of every image folder of a chain, as a tag hands them on.</summary>
        public static IEnumerable<string> ChainFiles(IReadOnlyList<TestImage> chain) =>
            chain.SelectMany(i => new[] { "json.json", "layer.tar", "ancestry.json", "_checksum.json" }.Select(f => $".images/{i.Id}/{f}"));

        public HttpClient Client(User user) => Server.Client(Name(user), Name(user) + "-secret-1");

        /// <summary>A client with a registry token for team/app (pull, push, delete as granted), as docker would hold.</summary>
        public async Task<HttpClient> TokenClientAsync(User user)
        {
            using var login = Client(user);
            var scope = Uri.EscapeDataString("repository:team/app:pull,push,delete repository:team/other:pull");
            var token = JsonDocument.Parse(await login.GetStringAsync($"/artifactory/api/docker/{V2Repo}/v2/token?scope={scope}")).RootElement.GetProperty("token").GetString();
            var client = Server.Client();
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            return client;
        }

        internal Task<bool> MayAsync(User user, string repo, string path, AccessActions action, bool item) => _oracle!.MayAsync(Name(user), repo, path, action, item);

        /// <summary>Starts an upload session of team/app as an administrator; returns its location.</summary>
        public static async Task<string> StartUploadAsync(HttpClient admin)
        {
            using var start = await admin.PostAsync($"{V2}team/app/blobs/uploads/", null);
            Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
            return start.Headers.Location!.ToString();
        }

        public async Task InitializeAsync()
        {
            await Server.InitializeAsync();
            using var admin = Server.Admin();
            using (var docker = new DockerV1Client(Server.BaseAddress, "/v1/", DockerVersion.V1_12, AuthStyle.BasicEverywhere, "admin", WharfServer.AdminPassword))
            {
                _web["latest"] = TestImage.Chain(DockerVersion.V1_12, 2);
                _web["1.0"] = [_web["latest"][0], .. TestImage.Chain(DockerVersion.V1_12, 1, parent: _web["latest"][0])];
                var secret = TestImage.Chain(DockerVersion.V1_12, 1);
                await docker.PushAsync("acme/web", "latest", _web["latest"]);
                await docker.PushAsync("acme/web", "1.0", _web["1.0"]);
                await docker.PushAsync("secret/vault", "v1", secret);
                AllImages = [.. _web["latest"], _web["1.0"][^1], .. secret];
            }

            foreach (var tag in AppTags)
            {
                App[tag] = await V2Push.PushImageAsync(admin, V2Repo, "team/app", tag);
            }

            Other = await V2Push.PushImageAsync(admin, V2Repo, "team/other", "1.0");
            var empty = await V2Push.PushBlobAsync(admin, V2Repo, "team/app", Encoding.UTF8.GetBytes("{}"));
            var signature = Encoding.UTF8.GetBytes($$"""
                {"schemaVersion":2,"mediaType":"{{V2Push.OciManifest}}","artifactType":"application/vnd.example.sig",
                 "config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"{{empty}}","size":2},"layers":[],
                 "subject":{"mediaType":"{{V2Push.OciManifest}}","digest":"{{App["latest"].Digest}}","size":{{App["latest"].Manifest.Length}}} }
                """);
            Referrer = V2Push.Digest(signature);
            using (var put = await V2Push.PutManifestAsync(admin, V2Repo, "team/app", Referrer, signature))
            {
                Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            }

            await RestoreV2Async(admin);

            await CreateUserAsync(admin, User.Latest, """{"repositories":["docker-local","docker-v2-local"],"includesPattern":"**/latest/**","principals":{"users":{"latest":["r","w","d"]}}}""");
            await CreateUserAsync(admin, User.Excluder, """{"repositories":["docker-local","docker-v2-local"],"includesPattern":"**","excludesPattern":"team/app/2.0/**,repositories/acme/web/1.0/**","principals":{"users":{"excluder":["r","w","d","n"]}}}""");
            await CreateUserAsync(admin, User.OneTag, """{"repositories":["docker-local","docker-v2-local"],"includesPattern":"team/app/1.0/**,repositories/acme/web/1.0/**","principals":{"users":{"onetag":["r","w","d"]}}}""");
            _oracle = new PolicyOracle(Server);
        }

        /// <summary>Puts team/app back as the fixture made it: its tags, and the loose blob in its uploads.</summary>
        public async Task RestoreV2Async(HttpClient admin)
        {
            foreach (var tag in AppTags)
            {
                using var put = await V2Push.PutManifestAsync(admin, V2Repo, "team/app", tag, App[tag].Manifest);
                Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            }

            await V2Push.PushBlobAsync(admin, V2Repo, "team/app", Loose);
            await admin.DeleteAsync($"/artifactory/{V2Repo}/team/app/_uploads/sha256__{App["2.0"].LayerDigest[7..]}");
        }

        /// <summary>Puts acme/web's tags and index back.</summary>
        public async Task RestoreV1Async(HttpClient admin)
        {
            foreach (var tag in WebTags)
            {
                using var put = await admin.PutAsync($"/v1/repositories/acme/web/tags/{tag}", Json($"\"{_web[tag][^1].Id}\""));
                Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            }

            using var index = await admin.PutAsync("/v1/repositories/acme/web/", Json(JsonSerializer.Serialize(AllImages.Take(3).Select(i => new { id = i.Id }))));
            Assert.Equal(HttpStatusCode.OK, index.StatusCode);
        }

        private static async Task CreateUserAsync(HttpClient admin, User user, string target)
        {
            var name = Name(user);
            Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync($"/api/security/users/{name}", Json($"{{\"email\":\"{name}@example.com\",\"password\":\"{name}-secret-1\",\"groups\":[]}}"))).StatusCode);
            using var put = await admin.PutAsync($"/api/security/permissions/{name}", Json(target));
            Assert.True(put.StatusCode == HttpStatusCode.OK, await put.Content.ReadAsStringAsync());
        }

        private static string Name(User user) => user.ToString().ToLowerInvariant();

        public Task DisposeAsync() => Server.DisposeAsync();
    }

    /// <summary>The storage API's decision function, asked in process for paths a case has not created yet.</summary>
    private sealed class PolicyOracle(WharfServer server)
    {
        private readonly AccessPolicy _policy = server.Services.GetRequiredService<AccessPolicy>();

        public async Task<bool> MayAsync(string user, string repo, string path, AccessActions action, bool item)
        {
            RepositoryConfig repository;
            await using (var session = await server.Store.OpenAsync(default))
            {
                repository = (await session.Repositories.GetAsync(repo, default))!;
            }

            var principal = new Principal(user, false, []);
            return item
                ? await _policy.AllowsAsync(principal, repository, path, isFolder: false, action, default)
                : await _policy.AllowsAtOrBelowAsync(principal, repository, path, action, default);
        }
    }
}
