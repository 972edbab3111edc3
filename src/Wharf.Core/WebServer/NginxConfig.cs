using System.Globalization;

namespace Wharf.Core.WebServer;

/// <summary>
/// The NGINX file of rest-api §7.3: one <c>server</c> for the public host name and, under the port
/// method, one per repository port, each with the TLS, forwarding, body-size and timeout lines.
/// It goes inside nginx's <c>http {}</c> block. Requests reach Wharf two ways: below the context
/// path (rewritten Docker routes, and the Locations Wharf hands out, which name
/// <c>/artifactory/api/docker/&lt;key&gt;/…</c>) by the upstream of §7.3; anything else unchanged,
/// since Wharf routes <c>/v1/</c>, <c>/v2/</c> and <c>/api/</c> natively.
/// </summary>
internal static class NginxConfig
{
    public static string Write(ProxySite site)
    {
        var config = site.Config;
        var text = new ConfigText();
        site.Header(text, "NGINX", "nginx", ["Include it in nginx's http {} block, e.g. as /etc/nginx/conf.d/wharf.conf."]);

        text.Line().Open("server {");
        if (config.UseHttp)
        {
            text.Line(Listen(config.HttpPort, tls: false));
        }

        if (config.UseHttps)
        {
            text.Line(Listen(config.SslPort, tls: true));
        }

        text.Line(config.DockerReverseProxyMethod == DockerAccessMethod.Subdomain
            ? $"server_name ~^(?<repo>[^.]+)\\.{site.EscapedServerName}$ {config.ServerName};"
            : $"server_name {config.ServerName};");
        Common(text, site);
        switch (config.DockerReverseProxyMethod)
        {
            case DockerAccessMethod.RepoPathPrefix:
                text.Line()
                    .Comment("Docker, repository path method: /v2/<repoKey>/<image>/... is that repository's API; the bare /v2/")
                    .Comment("is the key-less entry point (docker login).")
                    .Line($"rewrite ^/v2/?$ {site.Context}/api/docker/v2/ break;")
                    .Line($"rewrite ^/(v1|v2)/([^/]+)/(.*)$ {site.Context}/api/docker/$2/$1/$3 break;");
                break;
            case DockerAccessMethod.Subdomain:
                text.Line()
                    .Comment($"Docker, subdomain method: on <repoKey>.{config.ServerName}, /v1/ and /v2/ are that repository's API.")
                    .Open("if ($repo) {")
                    .Line($"rewrite ^/(v1|v2)/(.*)$ {site.Context}/api/docker/$repo/$1/$2 break;")
                    .Close("}");
                break;
        }

        Locations(text, site);
        text.Close("}");

        foreach (var (port, key) in site.PortRepositories)
        {
            text.Line()
                .Comment($"Docker, port method: repository {key} on port {port.ToString(CultureInfo.InvariantCulture)}.")
                .Open("server {")
                .Line(Listen(port, config.UseHttps))
                .Line($"server_name {config.ServerName};");
            Common(text, site);
            text.Line()
                .Line($"rewrite ^/(v1|v2)/(.*)$ {site.Context}/api/docker/{key}/$1/$2 break;");
            Locations(text, site);
            text.Close("}");
        }

        return text.ToString();
    }

    private static string Listen(int port, bool tls) => string.Create(CultureInfo.InvariantCulture, $"listen {port}{(tls ? " ssl" : "")};");

    /// <summary>What every server repeats: TLS, streaming, timeouts and the headers Wharf builds its URLs from.</summary>
    private static void Common(ConfigText text, ProxySite site)
    {
        var config = site.Config;
        if (config.UseHttps)
        {
            text.Line($"ssl_certificate {config.SslCertificate};")
                .Line($"ssl_certificate_key {config.SslKey};");
        }

        text.Line()
            .Comment("The scheme the client used, unless a proxy in front of this one named it.")
            .Open("if ($http_x_forwarded_proto = '') {")
            .Line("set $http_x_forwarded_proto $scheme;")
            .Close("}")
            .Line()
            .Comment("Layers are unbounded and stream through in both directions: no size limit, nothing buffered")
            .Comment("to disk, chunked uploads passed on as they come (HTTP/1.1 to Wharf), long reads and writes.")
            .Line("chunked_transfer_encoding on;")
            .Line("client_max_body_size 0;")
            .Line("proxy_http_version 1.1;")
            .Line("proxy_request_buffering off;")
            .Line("proxy_buffering off;")
            .Line("proxy_read_timeout 900;")
            .Line("proxy_send_timeout 900;")
            .Line()
            .Comment("Wharf builds the URLs it hands out (Location, Link, token realm, uri) on this base.")
            .Line($"proxy_set_header X-JFrog-Override-Base-Url $http_x_forwarded_proto://$host:$server_port/{config.PublicAppContext};")
            .Line("proxy_set_header X-Forwarded-Port $server_port;")
            .Line("proxy_set_header X-Forwarded-Proto $http_x_forwarded_proto;")
            .Line("proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;")
            .Line("proxy_set_header Host $http_host;");
    }

    /// <summary>
    /// The public context path and Wharf's own (the Locations Wharf hands out name it) go to the
    /// upstream; everything else passes unchanged.
    /// </summary>
    private static void Locations(ConfigText text, ProxySite site)
    {
        var config = site.Config;
        text.Line();
        if (config.PublicAppContext != config.ArtifactoryAppContext)
        {
            text.Open($"location /{config.PublicAppContext}/ {{")
                .Line($"proxy_pass {site.Upstream};")
                .Close("}");
        }

        text.Open($"location {site.Context}/ {{")
            .Line($"proxy_pass {site.Upstream};")
            .Close("}")
            .Open("location / {")
            .Line($"proxy_pass {site.Origin};")
            .Close("}");
    }
}
