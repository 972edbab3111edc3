using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>
/// The generated reverse-proxy files (rest-api §7.3) for each access method, with and without TLS:
/// every requirement line of §7.3's two tables in every server block that needs it, deterministic
/// output, the real web servers' syntax checks (Debian's <c>nginx -t</c> and <c>apache2 -t</c>,
/// TLS with a throwaway self-signed pair), and the command-line form, which writes the same file.
/// </summary>
public sealed class ReverseProxySnippetTests(ReverseProxySnippetTests.Fixture fixture) : IClassFixture<ReverseProxySnippetTests.Fixture>
{
    private WharfServer Server => fixture.Server;

    private int Upstream => Server.BaseAddress.Port;

    /// <summary>Each access method, without and with TLS.</summary>
    public static TheoryData<string, bool> Methods => new()
    {
        { "REPOPATHPREFIX", false }, { "REPOPATHPREFIX", true },
        { "SUBDOMAIN", false }, { "SUBDOMAIN", true },
        { "PORTPERREPO", false }, { "PORTPERREPO", true },
    };

    [Theory]
    [MemberData(nameof(Methods))]
    public async Task The_nginx_file_holds_every_requirement_and_nginx_accepts_it(string method, bool tls)
    {
        var (http, ssl) = await ConfigureAsync(method, tls);
        var text = await SnippetAsync("nginx");
        var servers = Blocks(text, "server {", "}");
        Assert.Equal(method == "PORTPERREPO" ? 3 : 1, servers.Count);
        foreach (var server in servers)
        {
            AssertLines(server,
                "chunked_transfer_encoding on;",
                "client_max_body_size 0;",
                "proxy_read_timeout 900;",
                "proxy_request_buffering off;",
                "proxy_buffering off;",
                "proxy_http_version 1.1;",
                "proxy_set_header X-JFrog-Override-Base-Url $http_x_forwarded_proto://$host:$server_port/artifactory;",
                "proxy_set_header X-Forwarded-Port $server_port;",
                "proxy_set_header X-Forwarded-Proto $http_x_forwarded_proto;",
                "set $http_x_forwarded_proto $scheme;",
                "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
                "proxy_set_header Host $http_host;",
                "location /artifactory/ {",
                $"proxy_pass http://127.0.0.1:{Upstream}/artifactory/;",
                "location / {",
                $"proxy_pass http://127.0.0.1:{Upstream};");
            AssertLines(server, tls, $"ssl_certificate {fixture.Certificate};", $"ssl_certificate_key {fixture.Key};");
        }

        var main = servers[0];
        AssertLines(main, $"listen {http};");
        AssertLines(main, tls, $"listen {ssl} ssl;");
        switch (method)
        {
            case "REPOPATHPREFIX":
                AssertLines(main, "server_name repo.example.com;",
                    "rewrite ^/v2/?$ /artifactory/api/docker/v2/ break;",
                    "rewrite ^/(v1|v2)/([^/]+)/(.*)$ /artifactory/api/docker/$2/$1/$3 break;");
                break;
            case "SUBDOMAIN":
                AssertLines(main, @"server_name ~^(?<repo>[^.]+)\.repo\.example\.com$ repo.example.com;",
                    "rewrite ^/(v1|v2)/(.*)$ /artifactory/api/docker/$repo/$1/$2 break;");
                break;
            default:
                Assert.DoesNotContain("rewrite", main, StringComparison.Ordinal);
                AssertLines(servers[1], tls ? "listen 15501 ssl;" : "listen 15501;", "rewrite ^/(v1|v2)/(.*)$ /artifactory/api/docker/rp-v2/$1/$2 break;");
                AssertLines(servers[2], tls ? "listen 15502 ssl;" : "listen 15502;", "rewrite ^/(v1|v2)/(.*)$ /artifactory/api/docker/rp-v1/$1/$2 break;");
                break;
        }

        Assert.Equal(text, await SnippetAsync("nginx"));
        var (exit, output) = await WebServers.NginxTestAsync(text);
        Assert.True(exit == 0, $"nginx -t: {output}\n{text}");
        Assert.Contains("test is successful", output, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public async Task The_apache_file_holds_every_requirement_and_apache_accepts_it(string method, bool tls)
    {
        var (http, ssl) = await ConfigureAsync(method, tls);
        var text = await SnippetAsync("apache");
        var hosts = Blocks(text, "<VirtualHost ", "</VirtualHost>");
        Assert.Equal((tls ? 2 : 1) + (method == "PORTPERREPO" ? 2 : 0), hosts.Count);
        foreach (var host in hosts)
        {
            AssertLines(host,
                "LimitRequestBody 0",
                "ProxyTimeout 900",
                "SetEnv proxy-sendchunked 1",
                "ProxyPreserveHost On",
                "RequestHeader set X-JFrog-Override-Base-Url \"%{REQUEST_SCHEME}s://%{SERVER_NAME}s:%{SERVER_PORT}s/artifactory\"",
                "RequestHeader set X-Forwarded-Proto \"%{REQUEST_SCHEME}s\"",
                "RequestHeader set X-Forwarded-Port \"%{SERVER_PORT}s\"",
                $"ProxyPass /artifactory/ http://127.0.0.1:{Upstream}/artifactory/",
                $"ProxyPassReverse /artifactory/ http://127.0.0.1:{Upstream}/artifactory/",
                $"ProxyPass / http://127.0.0.1:{Upstream}/");
        }

        // The plain host, then the TLS one; Debian's ports.conf listens on 80 and 443 already.
        AssertLines(hosts[0], $"<VirtualHost *:{http}>");
        Assert.DoesNotContain("SSLEngine", hosts[0], StringComparison.Ordinal);
        Assert.Equal(http != 80, text.Contains($"\nListen {http}\n", StringComparison.Ordinal));
        if (tls)
        {
            AssertLines(hosts[1], $"<VirtualHost *:{ssl}>", "SSLEngine on", $"SSLCertificateFile {fixture.Certificate}", $"SSLCertificateKeyFile {fixture.Key}");
            Assert.Equal(ssl != 443, text.Contains($"\nListen {ssl} https\n", StringComparison.Ordinal));
        }

        var main = hosts.Take(tls ? 2 : 1).ToList();
        switch (method)
        {
            case "REPOPATHPREFIX":
                main.ForEach(h => AssertLines(h, "RewriteEngine On", "RewriteRule ^/v2/?$ /artifactory/api/docker/v2/ [PT]",
                    "RewriteRule ^/(v1|v2)/([^/]+)/(.*)$ /artifactory/api/docker/$2/$1/$3 [PT]"));
                break;
            case "SUBDOMAIN":
                main.ForEach(h => AssertLines(h, "ServerName repo.example.com", "ServerAlias *.repo.example.com", "RewriteEngine On",
                    @"RewriteCond %{HTTP_HOST} ^([^.]+)\.repo\.example\.com(:[0-9]+)?$ [NC]",
                    "RewriteRule ^/(v1|v2)/(.*)$ /artifactory/api/docker/%1/$1/$2 [PT]"));
                break;
            default:
                main.ForEach(h => Assert.DoesNotContain("Rewrite", h, StringComparison.Ordinal));
                foreach (var (host, port, key) in new[] { (hosts[^2], 15501, "rp-v2"), (hosts[^1], 15502, "rp-v1") })
                {
                    AssertLines(host, $"<VirtualHost *:{port}>", "RewriteEngine On", $"RewriteRule ^/(v1|v2)/(.*)$ /artifactory/api/docker/{key}/$1/$2 [PT]");
                    AssertLines(host, tls, "SSLEngine on", $"SSLCertificateFile {fixture.Certificate}", $"SSLCertificateKeyFile {fixture.Key}");
                    Assert.Contains(tls ? $"\nListen {port} https\n" : $"\nListen {port}\n", text, StringComparison.Ordinal);
                }

                break;
        }

        Assert.Equal(text, await SnippetAsync("apache"));
        var (exit, output) = await WebServers.ApacheTestAsync(text);
        Assert.True(exit == 0, $"apache2 -t: {output}\n{text}");
        Assert.Contains("Syntax OK", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_syntax_checks_catch_a_broken_file_and_apache_names_a_missing_module()
    {
        Assert.NotEqual(0, (await WebServers.NginxTestAsync("server { listen 8080; no_such_directive on; }\n")).ExitCode);
        Assert.NotEqual(0, (await WebServers.ApacheTestAsync("<VirtualHost *:80>\n    NoSuchDirective on\n</VirtualHost>\n")).ExitCode);

        await ConfigureAsync("REPOPATHPREFIX", tls: false);
        var (exit, output) = await WebServers.ApacheTestAsync(await SnippetAsync("apache"), WebServers.ProxyModules.Where(m => m != "headers"));
        Assert.NotEqual(0, exit);
        Assert.Contains("Wharf's reverse proxy needs mod_headers: a2enmod headers", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_public_context_other_than_wharfs_maps_onto_it_and_keeps_wharfs_own_for_its_locations()
    {
        await ConfigureAsync("REPOPATHPREFIX", tls: false, publicContext: "repo", upstreamHost: "::1");
        var nginx = await SnippetAsync("nginx");
        AssertLines(nginx, "location /repo/ {", $"proxy_pass http://[::1]:{Upstream}/artifactory/;", "location /artifactory/ {",
            "proxy_set_header X-JFrog-Override-Base-Url $http_x_forwarded_proto://$host:$server_port/repo;");
        Assert.Equal(0, (await WebServers.NginxTestAsync(nginx)).ExitCode);
        var apache = await SnippetAsync("apache");
        AssertLines(apache, $"ProxyPass /repo/ http://[::1]:{Upstream}/artifactory/", $"ProxyPass /artifactory/ http://[::1]:{Upstream}/artifactory/",
            "RequestHeader set X-JFrog-Override-Base-Url \"%{REQUEST_SCHEME}s://%{SERVER_NAME}s:%{SERVER_PORT}s/repo\"");
        Assert.Equal(0, (await WebServers.ApacheTestAsync(apache)).ExitCode);
    }

    [Theory]
    [InlineData("nginx")]
    [InlineData("apache")]
    public async Task The_command_writes_the_same_file_without_starting_a_server(string kind)
    {
        await ConfigureAsync("PORTPERREPO", tls: true);
        var (exit, output, error) = await RunCommandAsync(Server.DataDir, Wharf.Server.Hosting.ReverseProxyCommand.Name, kind);
        Assert.True(exit == 0, error);
        Assert.Equal(await SnippetAsync(kind), output);
        Assert.Equal("", error);
    }

    [Fact]
    public async Task The_command_refuses_a_missing_data_directory_and_a_bad_kind()
    {
        var missing = Path.Combine(Path.GetTempPath(), "wharf-none-" + Guid.NewGuid().ToString("N"));
        var (exit, output, error) = await RunCommandAsync(missing, "reverse-proxy", "nginx");
        Assert.True((exit, output) == (1, ""), $"exit {exit}, output '{output}', error '{error}'");
        Assert.Contains($"No Wharf database at {missing}/wharf.db", error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(missing));

        (exit, output, error) = await RunCommandAsync(Server.DataDir, "reverse-proxy", "iis");
        Assert.True((exit, output) == (2, ""), $"exit {exit}, output '{output}', error '{error}'");
        Assert.Contains("Usage: dotnet Wharf.Server.dll reverse-proxy nginx|apache", error, StringComparison.Ordinal);
    }

    /// <summary>
    /// Stores a configuration for <paramref name="method"/> (TLS on non-default ports, plain HTTP on
    /// 80, or 8080 under TLS, so that both Listen rules of the Apache file are exercised) and returns its ports.
    /// </summary>
    private async Task<(int Http, int Ssl)> ConfigureAsync(string method, bool tls, string publicContext = "artifactory", string upstreamHost = "127.0.0.1")
    {
        var (http, ssl) = tls ? (8080, 8443) : (80, 443);
        var body = string.Create(CultureInfo.InvariantCulture,
            $$"""{"serverName":"repo.example.com","artifactoryServerName":"{{upstreamHost}}","artifactoryPort":{{Upstream}},"publicAppContext":"{{publicContext}}","dockerReverseProxyMethod":"{{method}}","useHttp":true,"httpPort":{{http}},"useHttps":{{(tls ? "true" : "false")}},"sslPort":{{ssl}},"sslCertificate":"{{fixture.Certificate}}","sslKey":"{{fixture.Key}}"}""");
        using var admin = Server.Admin();
        using var response = await admin.PostAsync("/api/system/configuration/webServer", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (http, ssl);
    }

    private async Task<string> SnippetAsync(string kind)
    {
        using var admin = Server.Admin();
        using var response = await admin.GetAsync($"/artifactory/api/system/configuration/reverseProxy/{kind}");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
        return text;
    }

    /// <summary>The blocks of a file that open with a line starting <paramref name="open"/> and close with <paramref name="close"/>, both at the left margin.</summary>
    private static List<string> Blocks(string text, string open, string close)
    {
        var blocks = new List<string>();
        StringBuilder? block = null;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(open, StringComparison.Ordinal))
            {
                block = new StringBuilder();
            }

            block?.Append(line).Append('\n');
            if (line == close && block is not null)
            {
                blocks.Add(block.ToString());
                block = null;
            }
        }

        return blocks;
    }

    /// <summary>Each of <paramref name="lines"/> is a whole line of <paramref name="text"/> (indentation aside).</summary>
    private static void AssertLines(string text, params string[] lines) => AssertLines(text, true, lines);

    /// <summary>Each of <paramref name="lines"/> is a whole line of <paramref name="text"/> when <paramref name="present"/>, none is otherwise.</summary>
    private static void AssertLines(string text, bool present, params string[] lines)
    {
        var actual = text.Split('\n').Select(l => l.Trim()).ToHashSet(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            Assert.True(actual.Contains(line) == present, $"{(present ? "missing" : "unexpected")} line: {line}\nin:\n{text}");
        }
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunCommandAsync(string dataDir, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Wharf.Server.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["Wharf__DataDir"] = dataDir;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    /// <summary>A server with a V2 and a V1 repository on their own ports, and a self-signed pair for the TLS lines.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        private readonly string _directory = WebServers.NewDirectory();

        public WharfServer Server { get; } = new();

        public string Certificate { get; private set; } = "";

        public string Key { get; private set; } = "";

        public async Task InitializeAsync()
        {
            (Certificate, Key) = WebServers.SelfSignedPem(_directory, "repo.example.com");
            await Server.InitializeAsync();
            using var admin = Server.Admin();
            foreach (var (key, version, port) in new[] { ("rp-v2", "V2", 15501), ("rp-v1", "V1", 15502) })
            {
                using var created = await admin.PutAsync($"/api/repositories/{key}", new StringContent(
                    $$"""{"key":"{{key}}","rclass":"local","packageType":"docker","dockerApiVersion":"{{version}}","registryPort":{{port}}}""", Encoding.UTF8, "application/json"));
                Assert.Equal(HttpStatusCode.OK, created.StatusCode);
            }
        }

        public async Task DisposeAsync()
        {
            await Server.DisposeAsync();
            Directory.Delete(_directory, recursive: true);
        }
    }
}
