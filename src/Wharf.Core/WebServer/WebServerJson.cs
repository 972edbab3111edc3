using System.Text.Json;
using Wharf.Core.Json;

namespace Wharf.Core.WebServer;

/// <summary>
/// The JSON of rest-api §7.2, for the REST API and for the settings record that stores it. Reading
/// applies only the fields a body carries onto a configuration (POST is a partial update; unknown
/// fields are ignored, rest-api §1.3), and refuses a field of the wrong type or an unknown enum value
/// by name. Values are checked by <see cref="WebServerConfiguration.Problems"/> afterwards.
/// </summary>
internal static class WebServerJson
{
    private static readonly Dictionary<string, WebServerType> Types = new(StringComparer.Ordinal)
    {
        ["NGINX"] = WebServerType.Nginx,
        ["APACHE"] = WebServerType.Apache,
    };

    private static readonly Dictionary<string, DockerAccessMethod> Methods = new(StringComparer.Ordinal)
    {
        ["REPOPATHPREFIX"] = DockerAccessMethod.RepoPathPrefix,
        ["SUBDOMAIN"] = DockerAccessMethod.Subdomain,
        ["PORTPERREPO"] = DockerAccessMethod.PortPerRepo,
    };

    public static string Name(WebServerType type) => Types.First(t => t.Value == type).Key;

    public static string Name(DockerAccessMethod method) => Methods.First(m => m.Value == method).Key;

    /// <summary>
    /// The configuration as JSON: every field for administrators (and the store); for other users
    /// only the access method, the public host name and the public ports (rest-api §7.2).
    /// </summary>
    public static byte[] Write(WebServerConfiguration config, bool full)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (full)
            {
                json.WriteString("key", config.Key);
                json.WriteString("webServerType", Name(config.WebServerType));
                json.WriteString("artifactoryAppContext", config.ArtifactoryAppContext);
                json.WriteString("publicAppContext", config.PublicAppContext);
            }

            json.WriteString("serverName", config.ServerName);
            if (full)
            {
                json.WriteString("serverNameExpression", config.ServerNameExpression);
                json.WriteString("artifactoryServerName", config.ArtifactoryServerName);
                json.WriteNumber("artifactoryPort", config.ArtifactoryPort);
                json.WriteString("sslCertificate", config.SslCertificate);
                json.WriteString("sslKey", config.SslKey);
            }

            json.WriteString("dockerReverseProxyMethod", Name(config.DockerReverseProxyMethod));
            if (full)
            {
                json.WriteBoolean("useHttps", config.UseHttps);
                json.WriteBoolean("useHttp", config.UseHttp);
            }

            json.WriteNumber("sslPort", config.SslPort);
            json.WriteNumber("httpPort", config.HttpPort);
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// <paramref name="current"/> with every field <paramref name="body"/> carries; a field of the
    /// wrong type, an unknown enum value or a <c>serverNameExpression</c> other than
    /// <c>*.&lt;serverName&gt;</c> is the problem returned instead. <c>null</c> leaves a field as it
    /// is, except for the two TLS paths, which it clears.
    /// </summary>
    public static (WebServerConfiguration? Config, string? Problem) Apply(JsonElement body, WebServerConfiguration current)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return (null, "A JSON object is required.");
        }

        try
        {
            var config = current with
            {
                Key = Text(body, "key") ?? current.Key,
                WebServerType = Enum(body, "webServerType", Types) ?? current.WebServerType,
                ArtifactoryAppContext = Context(body, "artifactoryAppContext") ?? current.ArtifactoryAppContext,
                PublicAppContext = Context(body, "publicAppContext") ?? current.PublicAppContext,
                ServerName = Text(body, "serverName")?.ToLowerInvariant() ?? current.ServerName,
                ArtifactoryServerName = Text(body, "artifactoryServerName") ?? current.ArtifactoryServerName,
                ArtifactoryPort = Port(body, "artifactoryPort") ?? current.ArtifactoryPort,
                SslCertificate = Sent(body, "sslCertificate") ? Text(body, "sslCertificate") : current.SslCertificate,
                SslKey = Sent(body, "sslKey") ? Text(body, "sslKey") : current.SslKey,
                DockerReverseProxyMethod = Enum(body, "dockerReverseProxyMethod", Methods) ?? current.DockerReverseProxyMethod,
                UseHttps = Bool(body, "useHttps") ?? current.UseHttps,
                UseHttp = Bool(body, "useHttp") ?? current.UseHttp,
                SslPort = Port(body, "sslPort") ?? current.SslPort,
                HttpPort = Port(body, "httpPort") ?? current.HttpPort,
            };

            if (Text(body, "serverNameExpression") is { Length: > 0 } expression
                && !expression.Equals(config.ServerNameExpression, StringComparison.OrdinalIgnoreCase))
            {
                return (null, $"Field 'serverNameExpression' must be '{config.ServerNameExpression}' (derived from 'serverName'), not '{expression}'.");
            }

            return (config, null);
        }
        catch (JsonFieldException e)
        {
            return (null, e.Message);
        }
    }

    /// <summary>A stored configuration; it was checked when written, so a bad one is a broken store.</summary>
    public static WebServerConfiguration ReadStored(string json)
    {
        using var document = JsonDocument.Parse(json);
        var (config, problem) = Apply(document.RootElement, new WebServerConfiguration());
        return config ?? throw new InvalidOperationException("The stored web-server configuration cannot be read: " + problem);
    }

    /// <summary>Whether the field is present, null included.</summary>
    private static bool Sent(JsonElement body, string name) => body.TryGetProperty(name, out _);

    private static string? Text(JsonElement body, string name) => JsonFields.String(body, name);

    /// <summary>A context path: slashes around it are dropped (<c>/artifactory/</c> is <c>artifactory</c>).</summary>
    private static string? Context(JsonElement body, string name) => Text(body, name)?.Trim('/');

    private static T? Enum<T>(JsonElement body, string name, Dictionary<string, T> values)
        where T : struct
    {
        var text = Text(body, name);
        return text is null ? null
            : values.TryGetValue(text, out var value) ? value
            : throw new JsonFieldException($"Field '{name}' must be one of {string.Join(", ", values.Keys)}, not '{text}'.");
    }

    private static bool? Bool(JsonElement body, string name) => JsonFields.Bool(body, name);

    private static int? Port(JsonElement body, string name) => JsonFields.Int(body, name, 1, 65535);
}
