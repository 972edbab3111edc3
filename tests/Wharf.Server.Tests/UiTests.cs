using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using Wharf.Core.Metadata;
using Wharf.Core.Security;
using Wharf.Core.Tree;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>The web UI over plain HTTP: redirects, login and logout, authorization of the tree, paging, encoding, antiforgery.</summary>
public sealed partial class UiTests(UiTests.Fixture fixture) : IClassFixture<UiTests.Fixture>
{
    private const string BobPassword = "bob-password-1";

    public sealed class Fixture : IAsyncLifetime
    {
        public WharfServer Server { get; } = new();

        public async Task InitializeAsync()
        {
            await Server.InitializeAsync();
            // bob reads docker-local's open/ folder only.
            await using var tx = await Server.Store.BeginAsync(default);
            var hasher = Server.Services.GetRequiredService<IPasswordHasher<UserRecord>>();
            var bob = new UserRecord("bob", "", false, false);
            await tx.Users.TryCreateAsync(bob with { PasswordHash = hasher.HashPassword(bob, BobPassword) }, default);
            await tx.Permissions.UpsertAsync(new PermissionTarget("bob-open", "open/**", "", ["docker-local"],
                new Dictionary<string, AccessActions>(StringComparer.OrdinalIgnoreCase) { ["bob"] = AccessActions.Read }, new Dictionary<string, AccessActions>()), default);
            await tx.CommitAsync(default);
            Server.Services.GetRequiredService<AccessPolicy>().Invalidate();

            await Server.SeedFilesAsync("open/readme.txt", "secret/plans.txt", "open/<script>alert(1).txt");
        }

        public Task DisposeAsync() => Server.DisposeAsync();
    }

    private HttpClient Browser() => new(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() })
    {
        BaseAddress = fixture.Server.BaseAddress,
    };

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex TokenField();

    private static async Task<string> TokenAsync(HttpClient browser, string page)
    {
        var html = await browser.GetStringAsync(page);
        return TokenField().Match(html).Groups[1].Value;
    }

    private static async Task<HttpResponseMessage> LoginAsync(HttpClient browser, string user, string password)
    {
        var token = await TokenAsync(browser, "/ui/login");
        Assert.NotEmpty(token);
        return await browser.PostAsync("/ui/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = user,
            ["password"] = password,
            ["__RequestVerificationToken"] = token,
        }));
    }

    [Fact]
    public async Task Root_redirects_to_the_ui()
    {
        using var browser = Browser();
        using var response = await browser.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/ui/", response.Headers.Location?.OriginalString);
        using var css = await browser.GetAsync("/ui/static/site.css");
        Assert.Equal(HttpStatusCode.OK, css.StatusCode);
        Assert.Equal("text/css", css.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Login_sets_a_cookie_and_shows_the_users_repositories()
    {
        using var browser = Browser();
        var anonymous = await browser.GetStringAsync("/ui/");
        Assert.Contains("docker-public", anonymous, StringComparison.Ordinal);
        Assert.DoesNotContain(">docker-local<", anonymous, StringComparison.Ordinal);

        using var login = await LoginAsync(browser, "alice", WharfServer.AlicePassword);
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        var cookie = string.Join("\n", login.Headers.GetValues("Set-Cookie"));
        Assert.Matches("wharf-ui=[^;]+;.*path=/ui;.*samesite=lax;.*httponly", cookie.ToLowerInvariant());

        var html = await browser.GetStringAsync("/ui/");
        Assert.Contains(">docker-local<", html, StringComparison.Ordinal);
        Assert.Contains(">alice<", html, StringComparison.Ordinal);

        // The cookie is the UI's alone: the REST API does not take it.
        using var api = await browser.GetAsync("/api/storage/docker-local/secret?list");
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
    }

    [Fact]
    public async Task Wrong_password_is_refused_without_a_session()
    {
        using var browser = Browser();
        using var login = await LoginAsync(browser, "alice", "wrong-password");
        Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
        Assert.False(login.Headers.Contains("Set-Cookie") && login.Headers.GetValues("Set-Cookie").Any(c => c.StartsWith("wharf-ui=", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_reader_sees_only_what_it_may_read()
    {
        using var browser = Browser();
        using var login = await LoginAsync(browser, "bob", BobPassword);
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);

        var list = await browser.GetStringAsync("/ui/");
        Assert.DoesNotContain(">repositories<", list, StringComparison.Ordinal);
        var root = await browser.GetStringAsync("/ui/repos/tree/General/docker-local");
        Assert.Contains(">open/<", root, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", root, StringComparison.Ordinal);

        foreach (var hidden in new[] { "/ui/repos/tree/General/docker-local/secret", "/ui/repos/tree/General/docker-local/secret/plans.txt", "/ui/repos/tree/General/repositories", "/ui/repos/tree/General/no-such-repo" })
        {
            using var response = await browser.GetAsync(hidden);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, hidden + ": " + response.StatusCode);
        }

        var file = await browser.GetStringAsync("/ui/repos/tree/General/docker-local/open/readme.txt");
        Assert.Contains("href=\"/artifactory/docker-local/open/readme.txt\"", file, StringComparison.Ordinal);
        Assert.Contains("SHA256", file, StringComparison.Ordinal);
        Assert.Contains("by alice", file, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Anonymous_visitors_are_sent_to_login_when_anonymous_access_is_off()
    {
        await using var server = new WharfServer();
        await server.InitializeAsync();
        await using (var tx = await server.Store.BeginAsync(default))
        {
            await tx.Settings.SetAsync(AccessPolicy.AnonymousAccessSetting, "false", default);
            await tx.CommitAsync(default);
        }

        server.Services.GetRequiredService<AccessPolicy>().Invalidate();
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = server.BaseAddress };
        using var response = await browser.GetAsync("/ui/repos/tree/General/docker-public");
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/ui/login?returnUrl=", response.Headers.Location?.OriginalString, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_folder_with_many_children_is_paged()
    {
        await fixture.Server.SeedFilesAsync([.. Enumerable.Range(0, 450).Select(i => $"many/f{i:D4}.txt")]);

        using var browser = Browser();
        await LoginAsync(browser, "alice", WharfServer.AlicePassword);
        var first = await browser.GetStringAsync("/ui/repos/tree/General/docker-local/many");
        Assert.Equal(200, Regex.Count(first, "<tr class=\"file\">"));
        Assert.Contains("450 items", first, StringComparison.Ordinal);
        Assert.Contains(">f0000.txt<", first, StringComparison.Ordinal);
        Assert.Contains("rel=\"next\" href=\"/ui/repos/tree/General/docker-local/many?page=2\"", first, StringComparison.Ordinal);
        Assert.DoesNotContain("rel=\"prev\"", first, StringComparison.Ordinal);

        var last = await browser.GetStringAsync("/ui/repos/tree/General/docker-local/many?page=3");
        Assert.Equal(50, Regex.Count(last, "<tr class=\"file\">"));
        Assert.Contains(">f0449.txt<", last, StringComparison.Ordinal);
        Assert.Contains("rel=\"prev\"", last, StringComparison.Ordinal);
        Assert.DoesNotContain("rel=\"next\"", last, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Script_in_names_and_values_is_encoded()
    {
        using var browser = Browser();
        await LoginAsync(browser, "alice", WharfServer.AlicePassword);
        var folder = await browser.GetStringAsync("/ui/repos/tree/General/docker-local/open");
        Assert.DoesNotContain("<script>", folder, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(1).txt", folder, StringComparison.Ordinal);

        var login = await browser.GetStringAsync("/ui/login?returnUrl=%22%3E%3Cscript%3Ealert(1)%3C/script%3E");
        Assert.DoesNotContain("<script>", login, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_form_post_without_the_antiforgery_token_is_refused()
    {
        using var browser = Browser();
        _ = await browser.GetStringAsync("/ui/login");
        using var response = await browser.PostAsync("/ui/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = "alice",
            ["password"] = WharfServer.AlicePassword,
        }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(response.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith("wharf-ui=", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Logout_ends_the_session()
    {
        using var browser = Browser();
        await LoginAsync(browser, "alice", WharfServer.AlicePassword);
        var page = await browser.GetStringAsync("/ui/");
        Assert.Contains(">docker-local<", page, StringComparison.Ordinal);
        var token = TokenField().Match(page).Groups[1].Value;

        using var get = await browser.GetAsync("/ui/logout");
        Assert.Contains(">docker-local<", await browser.GetStringAsync("/ui/"), StringComparison.Ordinal);

        using var logout = await browser.PostAsync("/ui/logout", new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = token }));
        Assert.Equal(HttpStatusCode.Redirect, logout.StatusCode);
        var after = await browser.GetStringAsync("/ui/");
        Assert.DoesNotContain(">docker-local<", after, StringComparison.Ordinal);
        Assert.DoesNotContain(">alice<", after, StringComparison.Ordinal);
    }
}

/// <summary>Files put straight into a Docker repository's tree (the storage API refuses deploys there), as alice.</summary>
internal static class UiSeeding
{
    public static async Task SeedFilesAsync(this WharfServer server, params string[] paths)
    {
        await using var tx = await server.Store.BeginAsync(default);
        foreach (var path in paths)
        {
            await tx.Tree.PutFileAsync("docker-local", new NewFile(path, new string('a', 64), 1536, "text/plain", new Dictionary<string, IReadOnlyList<string>>()), "alice", DateTimeOffset.UtcNow, default);
        }

        await tx.CommitAsync(default);
    }
}
