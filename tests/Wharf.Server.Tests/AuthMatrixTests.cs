using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Wharf.Server.Tests.Support;
using static Wharf.Server.Tests.V1ConformanceTests;

namespace Wharf.Server.Tests;

/// <summary>
/// Every route of the running server × every kind of caller. The route list comes from the
/// server's own endpoint table, so a route added without a row here fails
/// <see cref="Every_route_has_a_row_in_the_matrix"/>.
/// </summary>
public sealed class AuthMatrixTests(AuthMatrixTests.Fixture fixture) : IClassFixture<AuthMatrixTests.Fixture>
{
    /// <summary>What a route needs; the expected answer per caller follows from it.</summary>
    public enum Needs
    {
        Nothing,
        AlwaysRefused,

        /// <summary>Anonymous callers are served (anonymous access is on); bad credentials are not.</summary>
        NoBadCredentials,
        Login,
        AnyUser,
        Read,
        Deploy,
        Annotate,
        Delete,
        DeployAndDelete,
        Manage,
        Admin,
    }

    public enum Caller
    {
        Anonymous,
        Reader,
        Deployer,
        Annotator,
        Deleter,
        Manager,
        Admin,
        DisabledUser,
        WrongPassword,
        ExpiredToken,
        TokenForAnotherRepository,
    }

    /// <summary>One row per route (prefixes folded: /v1 stands for all three V1 bases, /api for both REST bases).</summary>
    private static readonly Dictionary<string, (Needs Needs, string SamplePath)> Matrix = new(StringComparer.Ordinal)
    {
        ["GET /_ping"] = (Needs.Nothing, "/_ping"),
        ["GET /v1/_ping"] = (Needs.Nothing, "/v1/_ping"),
        ["GET /v1/"] = (Needs.Nothing, "/v1/"),
        ["GET /v1/users"] = (Needs.Login, "/v1/users/"),
        ["POST /v1/users"] = (Needs.AlwaysRefused, "/v1/users/"),
        ["PUT /v1/users/{username}/"] = (Needs.AlwaysRefused, "/v1/users/someone/"),
        ["GET /v1/images/{id}/json"] = (Needs.Read, "/v1/images/{id}/json"),
        ["PUT /v1/images/{id}/json"] = (Needs.Deploy, "/v1/images/{id}/json"),
        ["PUT /v1/images/{id}/layer"] = (Needs.Deploy, "/v1/images/{id}/layer"),
        ["GET /v1/images/{id}/layer"] = (Needs.Read, "/v1/images/{id}/layer"),
        ["PUT /v1/images/{id}/checksum"] = (Needs.Deploy, "/v1/images/{id}/checksum"),
        ["GET /v1/images/{id}/ancestry"] = (Needs.Read, "/v1/images/{id}/ancestry"),
        ["GET /v1/search"] = (Needs.Read, "/v1/search?q=matrix"),
        ["GET /v1/repositories/{**rest}"] = (Needs.Read, "/v1/repositories/matrix/app/tags"),
        ["PUT /v1/repositories/{**rest}"] = (Needs.Deploy, "/v1/repositories/matrix/app/tags/latest"),
        ["DELETE /v1/repositories/{**rest}"] = (Needs.Delete, "/v1/repositories/matrix/app/tags/nosuch"),
        // The main listener's bare /v2/ is the key-less V2 ping, whatever its default repository.
        ["* /v2"] = (Needs.AnyUser, "/v2"),
        ["* /v2/{**rest}"] = (Needs.AnyUser, "/v2/"),
        ["* /artifactory/api/docker/{repoKey}/v2/{**rest}"] = (Needs.Nothing, "/artifactory/api/docker/docker-local/v2/"),
        ["* /api/docker/{repoKey}/v2/{**rest}"] = (Needs.Nothing, "/api/docker/docker-local/v2/"),
        ["GET /api/storage/{repoKey}/{**path}"] = (Needs.Read, "/api/storage/docker-local/repositories"),
        ["GET /api/system/ping"] = (Needs.Nothing, "/api/system/ping"),
        ["GET /artifactory/{repoKey}/{**path}"] = (Needs.Read, "/artifactory/docker-local/repositories/matrix/app/_index_images.json"),
        ["HEAD /artifactory/{repoKey}/{**path}"] = (Needs.Read, "/artifactory/docker-local/repositories/matrix/app/_index_images.json"),
        ["GET /api/security/users"] = (Needs.Admin, "/api/security/users"),
        ["GET /api/security/users/{name}"] = (Needs.Admin, "/api/security/users/reader"),
        ["PUT /api/security/users/{name}"] = (Needs.Admin, "/api/security/users/reader"),
        ["POST /api/security/users/{name}"] = (Needs.Admin, "/api/security/users/nobody-here"),
        ["DELETE /api/security/users/{name}"] = (Needs.Admin, "/api/security/users/nobody-here"),
        ["GET /api/security/groups"] = (Needs.Admin, "/api/security/groups"),
        ["GET /api/security/groups/{name}"] = (Needs.Admin, "/api/security/groups/readers"),
        ["PUT /api/security/groups/{name}"] = (Needs.Admin, "/api/security/groups/readers"),
        ["POST /api/security/groups/{name}"] = (Needs.Admin, "/api/security/groups/nobody-here"),
        ["DELETE /api/security/groups/{name}"] = (Needs.Admin, "/api/security/groups/nobody-here"),
        ["GET /api/security/permissions"] = (Needs.Admin, "/api/security/permissions"),
        ["GET /api/security/permissions/{name}"] = (Needs.Admin, "/api/security/permissions/Anything"),
        ["PUT /api/security/permissions/{name}"] = (Needs.Admin, "/api/security/permissions/matrix-bad"),
        ["DELETE /api/security/permissions/{name}"] = (Needs.Admin, "/api/security/permissions/nobody-here"),
        ["GET /api/security/anonymousAccess"] = (Needs.Admin, "/api/security/anonymousAccess"),
        ["PUT /api/security/anonymousAccess"] = (Needs.Admin, "/api/security/anonymousAccess"),
        ["POST /api/security/apiKey"] = (Needs.AnyUser, "/api/security/apiKey"),
        ["PUT /api/security/apiKey"] = (Needs.AnyUser, "/api/security/apiKey"),
        ["GET /api/security/apiKey"] = (Needs.AnyUser, "/api/security/apiKey"),
        ["DELETE /api/security/apiKey"] = (Needs.AnyUser, "/api/security/apiKey"),
        ["DELETE /api/security/apiKey/{username}"] = (Needs.Admin, "/api/security/apiKey/nobody-here"),
        ["POST /api/security/token"] = (Needs.AnyUser, "/api/security/token"),
        ["GET /api/security/token"] = (Needs.Admin, "/api/security/token"),
        ["POST /api/security/token/revoke"] = (Needs.AnyUser, "/api/security/token/revoke"),
        ["GET /artifactory/api/docker/{repoKey}/v2/"] = (Needs.Nothing, "/artifactory/api/docker/docker-local/v2/"),
        ["GET /api/docker/{repoKey}/v2/"] = (Needs.Nothing, "/api/docker/docker-local/v2/"),
        ["GET /artifactory/api/docker/{repoKey}/v2/token"] = (Needs.NoBadCredentials, "/artifactory/api/docker/docker-v2-local/v2/token?scope=repository:x:pull"),
        ["GET /api/docker/{repoKey}/v2/token"] = (Needs.NoBadCredentials, "/api/docker/docker-v2-local/v2/token?scope=repository:x:pull"),
        ["GET /artifactory/api/docker/v2/"] = (Needs.AnyUser, "/artifactory/api/docker/v2/"),
        ["GET /api/docker/v2/"] = (Needs.AnyUser, "/api/docker/v2/"),
        ["GET /artifactory/api/docker/v2/token"] = (Needs.NoBadCredentials, "/artifactory/api/docker/v2/token"),
        ["GET /api/docker/v2/token"] = (Needs.NoBadCredentials, "/api/docker/v2/token"),
        ["GET /api/repositories"] = (Needs.NoBadCredentials, "/api/repositories"),
        ["GET /api/repositories/{repoKey}"] = (Needs.Read, "/api/repositories/docker-local"),
        ["PUT /api/repositories/{repoKey}"] = (Needs.Admin, "/api/repositories/matrix-new"),
        ["POST /api/repositories/{repoKey}"] = (Needs.Admin, "/api/repositories/nobody-here"),
        ["DELETE /api/repositories/{repoKey}"] = (Needs.Admin, "/api/repositories/nobody-here"),
        ["PUT /api/storage/{repoKey}/{**path}"] = (Needs.Annotate, "/api/storage/docker-local/repositories/matrix/app?properties=qa=1"),
        ["DELETE /api/storage/{repoKey}/{**path}"] = (Needs.Annotate, "/api/storage/docker-local/repositories/matrix/app?properties=nosuch"),
        ["POST /api/copy/{repoKey}/{**path}"] = (Needs.Deploy, "/api/copy/docker-local/repositories/matrix/app?to=/docker-local/repositories/matrix/copied&dry=1"),
        ["POST /api/move/{repoKey}/{**path}"] = (Needs.DeployAndDelete, "/api/move/docker-local/repositories/matrix/app?to=/docker-local/repositories/matrix/moved&dry=1"),
        ["DELETE /artifactory/{repoKey}/{**path}"] = (Needs.Delete, "/artifactory/docker-local/.images/{id}/json.json"),
        ["PUT /artifactory/{repoKey}/{**path}"] = (Needs.Read, "/artifactory/docker-local/some/file.txt"),
        ["GET /api/search/prop"] = (Needs.NoBadCredentials, "/api/search/prop?docker.repoName=matrix/app"),
        ["GET /api/search/artifact"] = (Needs.NoBadCredentials, "/api/search/artifact?name=tag.json"),
        ["POST /v1/promote"] = (Needs.Read, "/api/docker/docker-local/v1/promote"),
        ["POST /v1/migrate"] = (Needs.Read, "/api/docker/docker-local/v1/migrate"),
        ["POST /artifactory/api/docker/{repoKey}/v2/promote"] = (Needs.Read, "/artifactory/api/docker/docker-local/v2/promote"),
        ["POST /api/docker/{repoKey}/v2/promote"] = (Needs.Read, "/api/docker/docker-local/v2/promote"),
        ["POST /api/system/cleanup"] = (Needs.Admin, "/api/system/cleanup"),
        ["GET /api/system/storage"] = (Needs.Admin, "/api/system/storage"),
        ["GET /api/system/consistency"] = (Needs.Admin, "/api/system/consistency"),
        ["GET /api/system/version"] = (Needs.AnyUser, "/api/system/version"),
        ["GET /metrics"] = (Needs.Admin, "/metrics"),

        // The web UI authenticates by its own cookie only and ignores these credentials: pages answer
        // or redirect to the login page, form posts without an antiforgery token 400 (UiTests).
        ["GET /"] = (Needs.Nothing, "/"),
        ["* ui"] = (Needs.Nothing, "/ui/"),
        ["* ui/login"] = (Needs.Nothing, "/ui/login"),
        ["* ui/logout"] = (Needs.Nothing, "/ui/logout"),
        ["* ui/repos/tree/General/{repoKey}/{**path}"] = (Needs.Nothing, "/ui/repos/tree/General/docker-local/"),
        ["GET /api/system/configuration/webServer"] = (Needs.AnyUser, "/api/system/configuration/webServer"),
        ["POST /api/system/configuration/webServer"] = (Needs.Admin, "/api/system/configuration/webServer"),
        ["GET /api/system/configuration/reverseProxy/nginx"] = (Needs.Admin, "/api/system/configuration/reverseProxy/nginx"),
        ["GET /api/system/configuration/reverseProxy/apache"] = (Needs.Admin, "/api/system/configuration/reverseProxy/apache"),
    };

    public static TheoryData<string, Caller> Cases()
    {
        var data = new TheoryData<string, Caller>();
        foreach (var route in Matrix.Keys)
        {
            foreach (var caller in Enum.GetValues<Caller>())
            {
                data.Add(route, caller);
            }
        }

        return data;
    }

    [Fact]
    public void Every_route_has_a_row_in_the_matrix()
    {
        var routes = fixture.Server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["*"])
                .Select(m => $"{m} {Fold(e.RoutePattern.RawText!)}"))
            .Distinct()
            .ToList();
        Assert.NotEmpty(routes);
        var missing = routes.Where(r => !Matrix.ContainsKey(r)).ToList();
        Assert.True(missing.Count == 0, "routes without a row in the auth matrix: " + string.Join(", ", missing));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Each_caller_gets_what_the_route_allows(string route, Caller caller)
    {
        var (needs, sample) = Matrix[route];
        var method = route[..route.IndexOf(' ', StringComparison.Ordinal)];
        using var request = new HttpRequestMessage(new HttpMethod(method == "*" ? "GET" : method), sample.Replace("{id}", fixture.ImageId, StringComparison.Ordinal));
        if (method is "PUT" or "POST")
        {
            request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        }

        fixture.Authorize(request, caller);
        using var client = fixture.Server.Client();
        using var response = await client.SendAsync(request);
        var status = (int)response.StatusCode;
        var expected = Expected(needs, caller, route);
        switch (expected)
        {
            case 0:
                Assert.True(status is not (401 or 403), $"{route} as {caller}: expected access, got {status} {await response.Content.ReadAsStringAsync()}");
                Assert.True(status < 500, $"{route} as {caller}: {status}");
                break;
            default:
                Assert.True(status == expected, $"{route} as {caller}: expected {expected}, got {status} {await response.Content.ReadAsStringAsync()}");
                break;
        }
    }

    /// <summary>0 means "let through" (any answer but 401, 403 or a server error).</summary>
    private static int Expected(Needs needs, Caller caller, string route)
    {
        if (needs == Needs.Nothing)
        {
            return 0;
        }

        if (needs == Needs.AlwaysRefused)
        {
            return 401;
        }

        if (caller is Caller.WrongPassword or Caller.ExpiredToken)
        {
            return 401;
        }

        if (caller == Caller.Anonymous)
        {
            return needs == Needs.NoBadCredentials ? 0 : 401;
        }

        if (caller == Caller.DisabledUser)
        {
            // docker login tells a disabled account from a wrong password (docker-v1-protocol §6.2).
            return needs == Needs.Login ? 403 : 401;
        }

        if (caller == Caller.TokenForAnotherRepository)
        {
            // A V1 token grants its own repository's push or pull and nothing else.
            return 401;
        }

        var granted = caller switch
        {
            Caller.Admin => new[] { Needs.NoBadCredentials, Needs.Login, Needs.AnyUser, Needs.Read, Needs.Deploy, Needs.Annotate, Needs.Delete, Needs.DeployAndDelete, Needs.Manage, Needs.Admin },
            Caller.Manager => [Needs.NoBadCredentials, Needs.Login, Needs.AnyUser, Needs.Read, Needs.Deploy, Needs.Annotate, Needs.Delete, Needs.DeployAndDelete, Needs.Manage],
            Caller.Deployer => [Needs.NoBadCredentials, Needs.Login, Needs.AnyUser, Needs.Read, Needs.Deploy],
            Caller.Annotator => [Needs.NoBadCredentials, Needs.Login, Needs.AnyUser, Needs.Read, Needs.Annotate],
            Caller.Deleter => [Needs.NoBadCredentials, Needs.Login, Needs.AnyUser, Needs.Read, Needs.Delete],
            _ => [Needs.NoBadCredentials, Needs.Login, Needs.AnyUser, Needs.Read],
        };
        _ = route;
        return granted.Contains(needs) ? 0 : 403;
    }

    private static string Fold(string pattern)
    {
        foreach (var prefix in new[] { "/artifactory/api/docker/{repoKey}/v1", "/api/docker/{repoKey}/v1" })
        {
            if (pattern.StartsWith(prefix, StringComparison.Ordinal))
            {
                return "/v1" + pattern[prefix.Length..];
            }
        }

        if (pattern.StartsWith("/artifactory/api/", StringComparison.Ordinal) && !pattern.StartsWith("/artifactory/api/docker/", StringComparison.Ordinal))
        {
            return pattern["/artifactory".Length..];
        }

        return pattern;
    }

    /// <summary>A server with one user per caller kind, their grants on docker-local, and a pushed image.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        private readonly Dictionary<Caller, string> _headers = [];

        public WharfServer Server { get; } = new();

        public string ImageId { get; private set; } = "";

        public async Task InitializeAsync()
        {
            await Server.InitializeAsync();
            using var admin = Server.Admin();
            var grants = new Dictionary<Caller, string>
            {
                [Caller.Reader] = "[\"r\"]",
                [Caller.Deployer] = "[\"r\",\"w\"]",
                [Caller.Annotator] = "[\"r\",\"n\"]",
                [Caller.Deleter] = "[\"r\",\"d\"]",
                [Caller.Manager] = "[\"m\"]",
            };
            foreach (var (caller, _) in grants)
            {
                await admin.PutAsync($"/api/security/users/{Name(caller)}", Json($"{{\"email\":\"x@x\",\"password\":\"{Name(caller)}-secret-1\",\"groups\":[]}}"));
                _headers[caller] = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Name(caller)}:{Name(caller)}-secret-1"));
            }

            var principals = string.Join(',', grants.Select(g => $"\"{Name(g.Key)}\":{g.Value}"));
            Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/security/permissions/matrix", Json($"{{\"repositories\":[\"docker-local\"],\"principals\":{{\"users\":{{{principals}}}}}}}"))).StatusCode);
            await admin.PutAsync("/api/security/users/gone", Json("{\"email\":\"x@x\",\"password\":\"gone-secret-1\",\"disabled\":true}"));
            _headers[Caller.DisabledUser] = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("gone:gone-secret-1"));
            _headers[Caller.Admin] = WharfServer.Basic("admin", WharfServer.AdminPassword).ToString();

            using var expiring = await admin.PostAsync("/api/security/token", new StringContent("username=reader&expires_in=1", Encoding.UTF8, "application/x-www-form-urlencoded"));
            _headers[Caller.ExpiredToken] = "Bearer " + JsonDocument.Parse(await expiring.Content.ReadAsStringAsync()).RootElement.GetProperty("access_token").GetString();

            var chain = TestImage.Chain(DockerVersion.V1_12, 1);
            using (var docker = new DockerV1Client(Server.BaseAddress, "/v1/", DockerVersion.V1_12, AuthStyle.BasicEverywhere, "admin", WharfServer.AdminPassword))
            {
                await docker.PushAsync("matrix/app", "latest", chain);
            }

            ImageId = chain[0].Id;
            var other = new HttpRequestMessage(HttpMethod.Put, "/v1/repositories/matrix/other/") { Content = Json("[]") };
            other.Headers.Add("X-Docker-Token", "true");
            using var otherStart = await admin.SendAsync(other);
            _headers[Caller.TokenForAnotherRepository] = "Token " + otherStart.Headers.GetValues("X-Docker-Token").Single();
            await Task.Delay(TimeSpan.FromSeconds(1.5));
        }

        public void Authorize(HttpRequestMessage request, Caller caller)
        {
            if (caller == Caller.WrongPassword)
            {
                // A stranger guessing: a new name each time, so the per-user slowdown does not stretch the run.
                request.Headers.Authorization = WharfServer.Basic("stranger-" + Guid.NewGuid().ToString("N")[..8], "not-the-password");
                return;
            }

            if (_headers.TryGetValue(caller, out var header))
            {
                request.Headers.TryAddWithoutValidation("Authorization", header);
            }
        }

        public Task DisposeAsync() => Server.DisposeAsync();

        private static string Name(Caller caller) => caller.ToString().ToLowerInvariant();
    }
}
