using Wharf.Core.Docker.V1;
using Wharf.Core.Naming;
using Wharf.Server.Auth;

namespace Wharf.Server.Api.V1;

/// <summary>
/// Docker Registry V1 (docker-v1-protocol.md). The same routes answer at the root (<c>/v1/…</c>,
/// served by the default repository) and in path mode (<see cref="V1Routes.Prefixes"/>). Routes that
/// name a repository run behind <see cref="V1Gate"/>: images (<see cref="V1ImageEndpoints"/>),
/// repositories and tags (<see cref="V1RepositoryEndpoints"/>) and search; ping and login do not.
/// </summary>
internal static class V1Endpoints
{
    public const string RegistryVersion = "0.9.1";

    public static void Map(IEndpointRouteBuilder app)
    {
        // §6.1: /_ping exists only at the root.
        app.MapGet(V1Routes.RootPing, Ping).AddEndpointFilter(CommonHeaders);
        foreach (var prefix in V1Routes.Prefixes)
        {
            var v1 = app.MapGroup(prefix).AddEndpointFilter(CommonHeaders);
            v1.MapGet(V1Routes.Ping, Ping);
            v1.MapGet(V1Routes.Index, () => V1Response.Json(200, new Dictionary<string, string>()));

            // Self-registration is not supported (§5.5).
            v1.MapGet(V1Routes.Users, LoginAsync);
            v1.MapPost(V1Routes.Users, () => V1Response.Error(V1Errors.RequiresAuthorization, V1RouteKind.Index));
            v1.MapPut(V1Routes.User, () => V1Response.Error(V1Errors.RequiresAuthorization, V1RouteKind.Index));
            V1ImageEndpoints.Map(v1);
            v1.MapGet(V1Routes.Search, SearchAsync).WithV1Gate(new V1Requirement.Search());
            v1.MapMethods(V1Routes.Repositories, ["GET", "PUT", "DELETE"], (HttpContext c, CancellationToken ct) =>
            {
                var call = V1Call.Of(c);
                return call.Operation.Handler(call, ct);
            }).WithV1Gate(new V1Requirement.Repositories());
        }

        // §4.2: below /v2 a V1 repository answers a plain 404 with no V2 header (V2Gate routes it).
    }

    private static ValueTask<object?> CommonHeaders(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var headers = context.HttpContext.Response.Headers;
        headers["X-Docker-Registry-Version"] = RegistryVersion;
        headers["X-Docker-Registry-Standalone"] = "true";
        headers.CacheControl = "no-cache";
        return next(context);
    }

    /// <summary>§6.1.</summary>
    private static V1Response Ping() => V1Response.True;

    /// <summary>GET <c>/users/</c>, <c>docker login</c> (§6.2): Basic credentials only.</summary>
    private static async Task<IResult> LoginAsync(HttpContext context, UserAuthenticator users, CancellationToken cancellationToken)
    {
        var credentials = Credentials.Parse(context.Request);
        if (credentials.Kind != CredentialKind.Basic)
        {
            return V1Response.Error(V1Errors.RequiresAuthorization, V1RouteKind.Index);
        }

        var (outcome, principal) = await users.LoginAsync(credentials.User, credentials.Secret, context.Connection.RemoteIpAddress?.ToString(), cancellationToken);
        if (outcome == LoginOutcome.Ok)
        {
            Telemetry.RequestRecord.Of(context)?.Identify(principal);
        }

        return outcome switch
        {
            LoginOutcome.Ok => V1Response.Json(200, "OK"),
            LoginOutcome.Disabled => V1Response.Error(V1Errors.AccountNotActive, V1RouteKind.Index),
            LoginOutcome.Throttled => V1Response.Error(V1Errors.TooManyLogins, V1RouteKind.Index),
            _ => V1Response.Error(V1Errors.RequiresAuthorization, V1RouteKind.Index),
        };
    }

    /// <summary>GET <c>/search?q=&amp;n=&amp;page=</c> (§6.6): the repositories of the key the caller may read, by substring.</summary>
    private static async Task<IResult> SearchAsync(HttpContext context, V1Search search, V1Repositories repositories, CancellationToken cancellationToken)
    {
        var call = V1Call.Of(context);
        var query = context.Request.Query["q"].ToString();
        var readable = new List<V1SearchHit>();
        foreach (var listing in await search.ListRepositoriesAsync(call.Key, cancellationToken))
        {
            if (V1RepositoryName.TryParse(listing.Name, out var name) && await repositories.IsReadableAsync(call.Key, name, call.Items, cancellationToken))
            {
                readable.Add(listing);
            }
        }

        var page = V1Search.Search(readable, query, ParseInt(context.Request.Query["n"]), ParseInt(context.Request.Query["page"]));
        return V1Response.Json(200, new V1SearchResponse(
            query, page.Total, (page.Total + page.PageSize - 1) / page.PageSize, page.Page, page.PageSize,
            [.. page.Results.Select(r => new V1SearchResult(r.Name, r.Description, 0, false, false, false))]));

        static int? ParseInt(string? value) => int.TryParse(value, out var number) ? number : null;
    }
}

internal sealed record V1SearchResult(
    string Name,
    string Description,
    int StarCount,
    bool IsOfficial,
    bool IsTrusted,
    bool IsAutomated);

internal sealed record V1SearchResponse(
    string Query,
    int NumResults,
    int NumPages,
    int Page,
    int PageSize,
    IReadOnlyList<V1SearchResult> Results);
