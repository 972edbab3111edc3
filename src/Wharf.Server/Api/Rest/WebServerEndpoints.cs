using Wharf.Core.Repositories;
using Wharf.Core.WebServer;
using Wharf.Server.Hosting;

namespace Wharf.Server.Api.Rest;

/// <summary>
/// The web-server configuration (rest-api §7.2) and the reverse-proxy files generated from it
/// (§7.3). Until an administrator stores a configuration, the defaults name the request's host.
/// </summary>
internal static class WebServerEndpoints
{
    private const int MaxBodyBytes = 16 * 1024;

    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var prefix in Routes.WithContextPath("/api/system/configuration"))
        {
            var admin = RestRequirement.Admin("Only administrators may do this.");
            app.MapGet(prefix + "/webServer", GetAsync).WithRestGate(RestRequirement.User);
            app.MapPost(prefix + "/webServer", UpdateAsync).WithRestGate(admin);
            app.MapGet(prefix + "/reverseProxy/nginx", (HttpContext c, WebServerSettings s, RepositoryService r, CancellationToken ct) =>
                SnippetAsync(c, WebServerType.Nginx, s, r, ct)).WithRestGate(admin);
            app.MapGet(prefix + "/reverseProxy/apache", (HttpContext c, WebServerSettings s, RepositoryService r, CancellationToken ct) =>
                SnippetAsync(c, WebServerType.Apache, s, r, ct)).WithRestGate(admin);
        }
    }

    /// <summary>Everything for administrators; other users see the access method, the host name and the public ports.</summary>
    private static async Task<IResult> GetAsync(HttpContext context, WebServerSettings settings, CancellationToken cancellationToken)
    {
        var config = await CurrentAsync(context, settings, cancellationToken);
        return Results.Bytes(WebServerJson.Write(config, full: RestCall.Of(context).Caller.IsAdmin), "application/json");
    }

    /// <summary>A partial update: fields left out keep their values; a bad value is a 400 and nothing changes.</summary>
    private static async Task<IResult> UpdateAsync(HttpContext context, WebServerSettings settings, CancellationToken cancellationToken)
    {
        var (body, failure) = await RestBodies.ReadObjectAsync(context, MaxBodyBytes, cancellationToken);
        if (body is not { } json)
        {
            return failure!;
        }

        var result = await settings.UpdateAsync(settings.Defaults(context.Request.Host.Host), current => WebServerJson.Apply(json, current), cancellationToken);
        if (!result.Succeeded)
        {
            return RestResults.Failure(result);
        }

        var stored = await settings.GetAsync(cancellationToken);
        Log.Audit(context, "system.webServer", $"{WebServerJson.Name(stored.DockerReverseProxyMethod)} {stored.ServerName}");
        return Results.Ok();
    }

    private static async Task<IResult> SnippetAsync(
        HttpContext context, WebServerType type, WebServerSettings settings, RepositoryService repositories, CancellationToken cancellationToken)
    {
        var config = await CurrentAsync(context, settings, cancellationToken);
        var (text, problem) = ReverseProxySnippet.Generate(type, config, await repositories.ListAsync(cancellationToken));
        return text is null ? RestErrors.BadRequest(problem!) : Results.Text(text, "text/plain; charset=utf-8");
    }

    private static async Task<WebServerConfiguration> CurrentAsync(HttpContext context, WebServerSettings settings, CancellationToken cancellationToken) =>
        await settings.FindStoredAsync(cancellationToken) ?? settings.Defaults(context.Request.Host.Host);
}
