using System.Text.Json;
using System.Text.Json.Serialization;
using Wharf.Core.Security;
using Wharf.Server.Auth;

namespace Wharf.Server.Api.Rest;

/// <summary>Users, groups, permission targets and the anonymous switch (rest-api §6.1–§6.4); admin only.</summary>
internal static class SecurityEndpoints
{
    private const int MaxBodyBytes = 1 << 20;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new LenientBooleanConverter() },
    };

    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var prefix in new[] { "/artifactory/api/security", "/api/security" })
        {
            // Every route is admin-only but reading and changing a permission target, which its managers may too.
            var admin = RestRequirement.Admin("Only administrators may manage security.");
            var security = app.MapGroup(prefix);
            security.MapGet("/users", ListUsersAsync).WithRestGate(admin);
            security.MapGet("/users/{name}", GetUserAsync).WithRestGate(admin);
            security.MapPut("/users/{name}", (HttpContext c, string name, SecurityService s, CancellationToken ct) => SaveUserAsync(c, name, create: true, s, ct)).WithRestGate(admin);
            security.MapPost("/users/{name}", (HttpContext c, string name, SecurityService s, CancellationToken ct) => SaveUserAsync(c, name, create: false, s, ct)).WithRestGate(admin);
            security.MapDelete("/users/{name}", DeleteUserAsync).WithRestGate(admin);
            security.MapGet("/groups", ListGroupsAsync).WithRestGate(admin);
            security.MapGet("/groups/{name}", GetGroupAsync).WithRestGate(admin);
            security.MapPut("/groups/{name}", (HttpContext c, string name, SecurityService s, CancellationToken ct) => SaveGroupAsync(c, name, create: true, s, ct)).WithRestGate(admin);
            security.MapPost("/groups/{name}", (HttpContext c, string name, SecurityService s, CancellationToken ct) => SaveGroupAsync(c, name, create: false, s, ct)).WithRestGate(admin);
            security.MapDelete("/groups/{name}", DeleteGroupAsync).WithRestGate(admin);
            security.MapGet("/permissions", ListPermissionsAsync).WithRestGate(admin);
            security.MapGet("/permissions/{name}", GetPermissionAsync).WithRestGate(RestRequirement.User);
            security.MapPut("/permissions/{name}", PutPermissionAsync).WithRestGate(RestRequirement.User);
            security.MapDelete("/permissions/{name}", DeletePermissionAsync).WithRestGate(admin);
            security.MapGet("/anonymousAccess", GetAnonymousAccessAsync).WithRestGate(admin);
            security.MapPut("/anonymousAccess", PutAnonymousAccessAsync).WithRestGate(admin);
        }
    }

    // ---------------------------------------------------------------- users (§6.1)

    private static async Task<IResult> ListUsersAsync(HttpContext context, SecurityService security, UrlBuilder urls, CancellationToken cancellationToken)
    {
        var users = await security.ListUsersAsync(cancellationToken);
        var links = urls.Rest(context.Request);
        return Results.Json(users.Select(u => new { name = u.Name, uri = links.User(u.Name), realm = "internal" }));
    }

    private static async Task<IResult> GetUserAsync(string name, SecurityService security, CancellationToken cancellationToken) =>
        await security.GetUserAsync(name, cancellationToken) is { } user
            ? Results.Json(user, Json, "application/vnd.org.jfrog.artifactory.security.User+json")
            : RestErrors.NotFound($"User '{name}' not found.");

    private static async Task<IResult> SaveUserAsync(HttpContext context, string name, bool create, SecurityService security, CancellationToken cancellationToken)
    {
        var (body, failure) = await ReadAsync<UserBody>(context, cancellationToken);
        if (body is null)
        {
            return failure!;
        }

        var (status, message) = await security.SaveUserAsync(name, body, create, cancellationToken);
        return Saved(status, message);
    }

    private static async Task<IResult> DeleteUserAsync(string name, SecurityService security, CancellationToken cancellationToken)
    {
        var (status, message) = await security.DeleteUserAsync(name, cancellationToken);
        return status == 200 ? Results.Text($"User '{name}' has been removed successfully.", "text/plain") : RestErrors.Write(status, message!);
    }

    // ---------------------------------------------------------------- groups (§6.2)

    private static async Task<IResult> ListGroupsAsync(HttpContext context, SecurityService security, UrlBuilder urls, CancellationToken cancellationToken)
    {
        var links = urls.Rest(context.Request);
        return Results.Json((await security.ListGroupsAsync(cancellationToken)).Select(g => new { name = g.Name, uri = links.Group(g.Name) }));
    }

    private static async Task<IResult> GetGroupAsync(string name, SecurityService security, CancellationToken cancellationToken) =>
        await security.GetGroupAsync(name, cancellationToken) is { } group
            ? Results.Json(group, Json, "application/vnd.org.jfrog.artifactory.security.Group+json")
            : RestErrors.NotFound($"Group '{name}' not found.");

    private static async Task<IResult> SaveGroupAsync(HttpContext context, string name, bool create, SecurityService security, CancellationToken cancellationToken)
    {
        var (body, failure) = await ReadAsync<GroupBody>(context, cancellationToken);
        if (body is null)
        {
            return failure!;
        }

        var (status, message) = await security.SaveGroupAsync(name, body, create, cancellationToken);
        return Saved(status, message);
    }

    private static async Task<IResult> DeleteGroupAsync(string name, SecurityService security, CancellationToken cancellationToken)
    {
        var (status, message) = await security.DeleteGroupAsync(name, cancellationToken);
        return status == 200 ? Results.Text($"Group '{name}' has been removed successfully.", "text/plain") : RestErrors.Write(status, message!);
    }

    // ---------------------------------------------------------------- permission targets (§6.3)

    private static async Task<IResult> ListPermissionsAsync(HttpContext context, SecurityService security, UrlBuilder urls, CancellationToken cancellationToken)
    {
        var links = urls.Rest(context.Request);
        return Results.Json((await security.ListPermissionsAsync(cancellationToken)).Select(p => new { name = p.Name, uri = links.Permission(p.Name) }));
    }

    /// <summary>Admins, or users holding m on this very target (rest-api §6.3).</summary>
    private static async Task<IResult> GetPermissionAsync(HttpContext context, string name, SecurityService security, CancellationToken cancellationToken) =>
        await ManagerRefusalAsync(RestCall.Of(context).Caller, name, security, cancellationToken)
            ?? (await security.GetPermissionAsync(name, cancellationToken) is { } target
                ? Results.Json(PermissionBody.From(target), Json, "application/vnd.org.jfrog.artifactory.security.PermissionTarget+json")
                : RestErrors.NotFound($"Permission target '{name}' not found."));

    /// <summary>Admins create or replace; a user holding m on the target may change its principals only.</summary>
    private static async Task<IResult> PutPermissionAsync(HttpContext context, string name, SecurityService security, CancellationToken cancellationToken)
    {
        var caller = RestCall.Of(context).Caller;
        if (await ManagerRefusalAsync(caller, name, security, cancellationToken) is { } refused)
        {
            return refused;
        }

        var (body, failure) = await ReadAsync<PermissionBody>(context, cancellationToken);
        if (body is null)
        {
            return failure!;
        }

        if (!caller.IsAdmin)
        {
            var current = await security.GetPermissionAsync(name, cancellationToken);
            if (current is null
                || (body.IncludesPattern is not null && body.IncludesPattern != current.IncludesPattern)
                || (body.ExcludesPattern is not null && body.ExcludesPattern != current.ExcludesPattern)
                || (body.Repositories is not null && !body.Repositories.SequenceEqual(current.Repositories)))
            {
                return RestErrors.Write(403, "Managers of a permission target may change its principals only.");
            }

            body = body with { IncludesPattern = current.IncludesPattern, ExcludesPattern = current.ExcludesPattern, Repositories = current.Repositories };
        }

        var (status, message) = await security.PutPermissionAsync(name, body, cancellationToken);
        return status == 200 ? Results.Ok() : RestErrors.Write(status, message!);
    }

    private static async Task<IResult> DeletePermissionAsync(string name, SecurityService security, CancellationToken cancellationToken) =>
        await security.DeletePermissionAsync(name, cancellationToken)
            ? Results.Text($"Permission target '{name}' has been removed successfully.", "text/plain")
            : RestErrors.NotFound($"Permission target '{name}' not found.");

    // ---------------------------------------------------------------- anonymous access (§6.4)

    private static async Task<IResult> GetAnonymousAccessAsync(AccessPolicy policy, CancellationToken cancellationToken) =>
        Results.Json(new { enabled = await policy.AnonymousAccessAsync(cancellationToken) });

    private static async Task<IResult> PutAnonymousAccessAsync(HttpContext context, SecurityService security, CancellationToken cancellationToken)
    {
        var (body, failure) = await ReadAsync<AnonymousAccessBody>(context, cancellationToken);
        if (body?.Enabled is not { } enabled)
        {
            return failure ?? RestErrors.BadRequest("Field 'enabled' (boolean) is required.");
        }

        await security.SetAnonymousAccessAsync(enabled, cancellationToken);
        return Results.Json(new { enabled });
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>The answer to a create (201) or update (200) of a user or group, or its refusal.</summary>
    private static IResult Saved(int status, string? message) => status switch
    {
        201 => Results.StatusCode(201),
        200 => Results.Ok(),
        _ => RestErrors.Write(status, message!),
    };

    /// <summary>Null when the signed-in caller is an admin or manages the target (holds m on it), else the 403.</summary>
    private static async Task<IResult?> ManagerRefusalAsync(Principal caller, string target, SecurityService security, CancellationToken cancellationToken) =>
        caller.IsAdmin || await security.ManagesAsync(caller, target, cancellationToken)
            ? null
            : RestErrors.Write(403, "Only administrators and managers of this permission target may do this.");

    private static Task<(T? Body, IResult? Failure)> ReadAsync<T>(HttpContext context, CancellationToken cancellationToken)
        where T : class =>
        RestBodies.ReadJsonAsync<T>(context, Json, MaxBodyBytes, cancellationToken);
}

internal sealed record AnonymousAccessBody(bool? Enabled);

/// <summary>Booleans as JSON booleans or as the strings "true"/"false" (rest-api §1.3).</summary>
internal sealed class LenientBooleanConverter : JsonConverter<bool>
{
    public override bool Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        JsonTokenType.String when bool.TryParse(reader.GetString(), out var value) => value,
        _ => throw new JsonException("A boolean (or \"true\"/\"false\") is required."),
    };

    public override void Write(Utf8JsonWriter writer, bool value, JsonSerializerOptions options) => writer.WriteBooleanValue(value);
}
