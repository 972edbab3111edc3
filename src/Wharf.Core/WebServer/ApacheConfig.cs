using System.Globalization;

namespace Wharf.Core.WebServer;

/// <summary>
/// The Apache httpd 2.4 file of rest-api §7.3: a <c>VirtualHost</c> per main listener (plain, TLS)
/// and, under the port method, one per repository port with its <c>Listen</c>, each with the TLS,
/// forwarding, body-size and timeout lines. Rewritten Docker routes go on to the upstream by
/// <c>[PT]</c> (the rewritten path meets the <c>ProxyPass</c> of the context path); anything else
/// passes unchanged, since Wharf routes <c>/v1/</c>, <c>/v2/</c> and <c>/api/</c> natively.
/// The forwarded headers use mod_ssl's <c>%{…}s</c> variables (which also answer on plain HTTP),
/// so the file refuses to load without the modules it needs.
/// </summary>
internal static class ApacheConfig
{
    private static readonly (string Module, string Name)[] Modules =
    [
        ("ssl_module", "ssl"), ("proxy_module", "proxy"), ("proxy_http_module", "proxy_http"),
        ("rewrite_module", "rewrite"), ("headers_module", "headers"), ("env_module", "env"),
    ];

    public static string Write(ProxySite site)
    {
        var config = site.Config;
        var text = new ConfigText();
        site.Header(text, "Apache httpd", "apache",
        [
            "Needs the modules ssl, proxy, proxy_http, rewrite, headers and env (a2enmod ssl proxy proxy_http rewrite",
            "headers env); on Debian e.g. /etc/apache2/sites-available/wharf.conf, then a2ensite wharf.",
        ]);
        text.Line();
        foreach (var (module, name) in Modules)
        {
            text.Open($"<IfModule !{module}>")
                .Line($"Error \"Wharf's reverse proxy needs mod_{name}: a2enmod {name}\"")
                .Close("</IfModule>");
        }

        // Debian's ports.conf listens on 80 and 443 already; a second Listen on a port stops Apache.
        foreach (var (port, tls) in MainListeners(config).Where(l => l.Port != (l.Tls ? 443 : 80)))
        {
            text.Line(Listen(port, tls));
        }

        foreach (var (port, tls) in MainListeners(config))
        {
            text.Line();
            Open(text, site, port, tls);
            if (config.DockerReverseProxyMethod == DockerAccessMethod.Subdomain)
            {
                text.Line($"ServerAlias {config.ServerNameExpression}");
            }

            Common(text, site, tls);
            switch (config.DockerReverseProxyMethod)
            {
                case DockerAccessMethod.RepoPathPrefix:
                    text.Line()
                        .Comment("Docker, repository path method: /v2/<repoKey>/<image>/... is that repository's API; the bare /v2/")
                        .Comment("is the key-less entry point (docker login).")
                        .Line("RewriteEngine On")
                        .Line($"RewriteRule ^/v2/?$ {site.Context}/api/docker/v2/ [PT]")
                        .Line($"RewriteRule ^/(v1|v2)/([^/]+)/(.*)$ {site.Context}/api/docker/$2/$1/$3 [PT]");
                    break;
                case DockerAccessMethod.Subdomain:
                    text.Line()
                        .Comment($"Docker, subdomain method: on <repoKey>.{config.ServerName}, /v1/ and /v2/ are that repository's API.")
                        .Line("RewriteEngine On")
                        .Line($"RewriteCond %{{HTTP_HOST}} ^([^.]+)\\.{site.EscapedServerName}(:[0-9]+)?$ [NC]")
                        .Line($"RewriteRule ^/(v1|v2)/(.*)$ {site.Context}/api/docker/%1/$1/$2 [PT]");
                    break;
            }

            Proxy(text, site);
            text.Close("</VirtualHost>");
        }

        foreach (var (port, key) in site.PortRepositories)
        {
            text.Line()
                .Comment($"Docker, port method: repository {key} on port {port.ToString(CultureInfo.InvariantCulture)}.")
                .Line(Listen(port, config.UseHttps));
            Open(text, site, port, config.UseHttps);
            Common(text, site, config.UseHttps);
            text.Line()
                .Line("RewriteEngine On")
                .Line($"RewriteRule ^/(v1|v2)/(.*)$ {site.Context}/api/docker/{key}/$1/$2 [PT]");
            Proxy(text, site);
            text.Close("</VirtualHost>");
        }

        return text.ToString();
    }

    private static IEnumerable<(int Port, bool Tls)> MainListeners(WebServerConfiguration config)
    {
        if (config.UseHttp)
        {
            yield return (config.HttpPort, false);
        }

        if (config.UseHttps)
        {
            yield return (config.SslPort, true);
        }
    }

    private static string Listen(int port, bool tls) => string.Create(CultureInfo.InvariantCulture, $"Listen {port}{(tls ? " https" : "")}");

    private static void Open(ConfigText text, ProxySite site, int port, bool tls) =>
        text.Open(string.Create(CultureInfo.InvariantCulture, $"<VirtualHost *:{port}>"))
            .Line($"ServerName {site.Config.ServerName}")
            .Comment(tls ? "TLS." : "Plain HTTP.");

    /// <summary>What every virtual host repeats: TLS, streaming, timeouts and the headers Wharf builds its URLs from.</summary>
    private static void Common(ConfigText text, ProxySite site, bool tls)
    {
        var config = site.Config;
        if (tls)
        {
            text.Line("SSLEngine on")
                .Line($"SSLCertificateFile {config.SslCertificate}")
                .Line($"SSLCertificateKeyFile {config.SslKey}");
        }

        text.Line()
            .Comment("Layers are unbounded and stream through: no size limit, request bodies passed on chunked")
            .Comment("instead of spooled to disk, long reads.")
            .Line("LimitRequestBody 0")
            .Line("SetEnv proxy-sendchunked 1")
            .Line("ProxyTimeout 900")
            .Line()
            .Comment("Wharf builds the URLs it hands out (Location, Link, token realm, uri) on this base.")
            .Line("ProxyRequests Off")
            .Line("ProxyPreserveHost On")
            .Line($"RequestHeader set X-JFrog-Override-Base-Url \"%{{REQUEST_SCHEME}}s://%{{SERVER_NAME}}s:%{{SERVER_PORT}}s/{config.PublicAppContext}\"")
            .Line("RequestHeader set X-Forwarded-Proto \"%{REQUEST_SCHEME}s\"")
            .Line("RequestHeader set X-Forwarded-Port \"%{SERVER_PORT}s\"");
    }

    /// <summary>
    /// The public context path and Wharf's own (the Locations Wharf hands out name it) go to the
    /// upstream; everything else passes unchanged. The first matching ProxyPass wins, so the root is last.
    /// </summary>
    private static void Proxy(ConfigText text, ProxySite site)
    {
        var config = site.Config;
        text.Line();
        var paths = config.PublicAppContext == config.ArtifactoryAppContext
            ? new[] { (site.Context + "/", site.Upstream) }
            : [("/" + config.PublicAppContext + "/", site.Upstream), (site.Context + "/", site.Upstream)];
        foreach (var (path, target) in paths.Append(("/", site.Origin + "/")))
        {
            text.Line($"ProxyPass {path} {target}")
                .Line($"ProxyPassReverse {path} {target}");
        }
    }
}
