using System.Text.Json;
using Wharf.Core.Json;
using Wharf.Core.Metadata;
using Wharf.Core.Operations;
using Wharf.Core.Repositories;
using Wharf.Core.Security;
using Wharf.Server.Hosting;
using Wharf.Server.Http;

namespace Wharf.Server.Api.Rest;

/// <summary>The repositories API (rest-api §2): list, read, create, update, delete local Docker repositories.</summary>
internal static class RepositoryEndpoints
{
    private const int MaxBodyBytes = 64 * 1024;
    private const string ConfigMediaType = "application/vnd.org.jfrog.artifactory.repositories.LocalRepositoryConfiguration+json";

    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var prefix in new[] { "/artifactory/api/repositories", "/api/repositories" })
        {
            app.MapGet(prefix, ListAsync).WithRestGate(RestRequirement.Anyone);
            app.MapGet(prefix + "/{repoKey}", GetAsync).WithRestGate(RestRequirement.Anyone);
            var admin = RestRequirement.Admin("Only administrators may manage repositories.");
            app.MapPut(prefix + "/{repoKey}", CreateAsync).WithRestGate(admin);
            app.MapPost(prefix + "/{repoKey}", UpdateAsync).WithRestGate(admin);
            app.MapDelete(prefix + "/{repoKey}", DeleteAsync).WithRestGate(admin);
        }
    }

    private static async Task<IResult> ListAsync(
        HttpContext context, RepositoryService repositories, AccessPolicy policy, UrlBuilder urls, CancellationToken cancellationToken)
    {
        var caller = RestCall.Of(context).Caller;
        var type = context.Request.Query["type"].ToString();
        if (type.Length > 0 && !new[] { "local", "remote", "virtual", "federated" }.Contains(type, StringComparer.OrdinalIgnoreCase))
        {
            return RestErrors.BadRequest($"Unknown repository type '{type}'; use local, remote, virtual or federated.");
        }

        var packageType = context.Request.Query["packageType"].ToString();
        var links = urls.Rest(context.Request);
        var list = new List<object>();
        var wanted = (type.Length == 0 || type.Equals("local", StringComparison.OrdinalIgnoreCase))
            && (packageType.Length == 0 || packageType.Equals("docker", StringComparison.OrdinalIgnoreCase));
        foreach (var repository in wanted ? await repositories.ListAsync(cancellationToken) : [])
        {
            // Admins manage every repository, including blacked-out ones that refuse all reads.
            if (caller.IsAdmin || await policy.AllowsAsync(caller, repository, "", isFolder: true, AccessActions.Read, cancellationToken))
            {
                list.Add(new { key = repository.Key, type = "LOCAL", description = repository.Description, url = links.Repository(repository.Key), packageType = "Docker" });
            }
        }

        return Results.Json(list, contentType: "application/vnd.org.jfrog.artifactory.repositories.RepositoryDetailsList+json");
    }

    private static async Task<IResult> GetAsync(
        HttpContext context, string repoKey, RepositoryService repositories, AccessPolicy policy, CancellationToken cancellationToken)
    {
        var caller = RestCall.Of(context).Caller;
        var repository = await repositories.GetAsync(repoKey, cancellationToken);
        if (repository is null || (!caller.IsAdmin && !await policy.AllowsAsync(caller, repository, "", isFolder: true, AccessActions.Read, cancellationToken)))
        {
            return caller.IsAnonymous && repository is not null ? RestErrors.Unauthorized() : RestErrors.NotFound($"Repository '{repoKey}' not found.");
        }

        return Results.Json(RepositoryJson.Describe(repository, full: caller.IsAdmin), contentType: ConfigMediaType);
    }

    private static async Task<IResult> CreateAsync(HttpContext context, string repoKey, RepositoryService repositories, RepositoryListeners listeners, CancellationToken cancellationToken)
    {
        var (body, failure) = await RestBodies.ReadObjectAsync(context, MaxBodyBytes, cancellationToken);
        if (body is not { } json)
        {
            return failure!;
        }

        var (config, problem) = RepositoryJson.ParseNew(json, repoKey);
        if (config is null)
        {
            return RestErrors.BadRequest(problem!);
        }

        return PortProblem(listeners, config, null) ?? await ChangedAsync(context, "repository.create", config.Key, await repositories.CreateAsync(config, cancellationToken), listeners, cancellationToken);
    }

    private static async Task<IResult> UpdateAsync(HttpContext context, string repoKey, RepositoryService repositories, RepositoryListeners listeners, CancellationToken cancellationToken)
    {
        var existing = await repositories.GetAsync(repoKey, cancellationToken);
        if (existing is null)
        {
            return RestErrors.NotFound($"Repository '{repoKey}' not found.");
        }

        var (body, failure) = await RestBodies.ReadObjectAsync(context, MaxBodyBytes, cancellationToken);
        if (body is not { } json)
        {
            return failure!;
        }

        var (config, problem) = RepositoryJson.ParseUpdate(json, existing);
        if (config is null)
        {
            return RestErrors.BadRequest(problem!);
        }

        return PortProblem(listeners, config, existing) ?? await ChangedAsync(context, "repository.update", config.Key, await repositories.UpdateAsync(config, cancellationToken), listeners, cancellationToken);
    }

    private static async Task<IResult> DeleteAsync(HttpContext context, string repoKey, RepositoryService repositories, RepositoryListeners listeners, CancellationToken cancellationToken) =>
        await ChangedAsync(context, "repository.delete", repoKey, await repositories.DeleteAsync(repoKey, cancellationToken), listeners, cancellationToken);

    /// <summary>A new <c>registryPort</c> that Wharf cannot listen on: 409, and the repository is not changed (rest-api §3.1).</summary>
    private static IResult? PortProblem(RepositoryListeners listeners, RepositoryConfig config, RepositoryConfig? existing) =>
        config.RegistryPort is { } port && port != existing?.RegistryPort && listeners.PortProblem(config.Key, port) is { } problem
            ? RestErrors.Write(StatusCodes.Status409Conflict, problem)
            : null;

    /// <summary>After a change, the repository ports' listeners follow it before the answer (so a client may use the port at once).</summary>
    private static async Task<IResult> ChangedAsync(HttpContext context, string action, string key, OperationResult result, RepositoryListeners listeners, CancellationToken cancellationToken)
    {
        if (result.Succeeded)
        {
            await listeners.RefreshAsync(cancellationToken);
        }

        return Map(context, action, key, result);
    }

    private static IResult Map(HttpContext context, string action, string key, OperationResult result)
    {
        if (!result.Succeeded)
        {
            return RestResults.Failure(result);
        }

        Log.Audit(context, action, key);
        return Results.Text(result.Message, "text/plain");
    }
}

/// <summary>
/// The local Docker repository JSON of rest-api §2.2. Reads only the fields a body carries, so that
/// POST is a partial update, and checks each one's type and range.
/// </summary>
internal static class RepositoryJson
{
    private static readonly string[] ImmutableFields = ["key", "rclass", "packageType", "dockerApiVersion"];

    public static Dictionary<string, object?> Describe(RepositoryConfig repository, bool full)
    {
        var json = new Dictionary<string, object?>
        {
            ["key"] = repository.Key,
            ["rclass"] = "local",
            ["packageType"] = "docker",
            ["description"] = repository.Description,
            ["includesPattern"] = repository.IncludesPattern,
            ["excludesPattern"] = repository.ExcludesPattern,
            ["repoLayoutRef"] = repository.RepoLayoutRef,
            ["dockerApiVersion"] = repository.DockerApiVersion.ToString(),
            ["forceDockerAuthentication"] = repository.ForceDockerAuthentication,
            ["maxUniqueTags"] = repository.MaxUniqueTags,
            ["dockerTagRetention"] = repository.DockerTagRetention,
            ["blockPushingSchema1"] = repository.BlockPushingSchema1,
            ["blackedOut"] = repository.BlackedOut,
            ["propertySets"] = repository.PropertySets.Split(',', StringSplitOptions.RemoveEmptyEntries),
            ["anonymousRead"] = repository.AnonymousRead,
            ["created"] = WireTime.Iso(repository.Created),
            ["handleReleases"] = true,
            ["handleSnapshots"] = true,
            ["maxUniqueSnapshots"] = 0,
            ["snapshotVersionBehavior"] = "unique",
            ["suppressPomConsistencyChecks"] = false,
            ["checksumPolicyType"] = "client-checksums",
        };
        if (full)
        {
            json["notes"] = repository.Notes;
            json["registryPort"] = repository.RegistryPort;
        }

        return json;
    }

    public static (RepositoryConfig? Config, string? Problem) ParseNew(JsonElement body, string urlKey)
    {
        if (!body.TryGetProperty("key", out var key) || key.ValueKind != JsonValueKind.String)
        {
            return (null, "Field 'key' is required and must be a string.");
        }

        if (key.GetString() != urlKey)
        {
            return (null, $"Field 'key' ('{key.GetString()}') must equal the repository key in the URL ('{urlKey}').");
        }

        var rclass = String(body, "rclass") ?? "local";
        if (!rclass.Equals("local", StringComparison.OrdinalIgnoreCase))
        {
            return (null, rclass.ToLowerInvariant() is "remote" or "virtual" or "federated"
                ? $"Repository class '{rclass}' is not supported for docker"
                : $"Unknown repository class '{rclass}'.");
        }

        var packageType = String(body, "packageType");
        var docker = "docker".Equals(packageType, StringComparison.OrdinalIgnoreCase)
            || ((packageType is null || "generic".Equals(packageType, StringComparison.OrdinalIgnoreCase))
                && body.TryGetProperty("enableDockerSupport", out var legacy) && legacy.ValueKind == JsonValueKind.True);
        if (!docker)
        {
            return (null, $"Package type '{packageType ?? "generic"}' is not supported; Wharf hosts docker repositories (\"packageType\": \"docker\").");
        }

        DockerApiVersion version = DockerApiVersion.V2;
        if (String(body, "dockerApiVersion") is { } text && !Enum.TryParse(text, ignoreCase: false, out version))
        {
            return (null, $"Field 'dockerApiVersion' must be V1 or V2, not '{text}'.");
        }

        return Apply(body, new RepositoryConfig(urlKey, version));
    }

    public static (RepositoryConfig? Config, string? Problem) ParseUpdate(JsonElement body, RepositoryConfig existing)
    {
        var current = Describe(existing, full: true);
        // The same value in another case is no change: PUT reads key, rclass and packageType without case too.
        foreach (var field in ImmutableFields)
        {
            if (body.TryGetProperty(field, out var sent)
                && !(sent.ValueKind == JsonValueKind.String && string.Equals(sent.GetString(), (string?)current[field], field == "dockerApiVersion" ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase)))
            {
                return (null, $"Field '{field}' cannot be changed.");
            }
        }

        return Apply(body, existing);
    }

    /// <summary>Applies the mutable fields present in <paramref name="body"/>; a bad type or range names the field.</summary>
    private static (RepositoryConfig? Config, string? Problem) Apply(JsonElement body, RepositoryConfig config)
    {
        try
        {
            config = config with
            {
                Description = Text(body, "description", 4096) ?? config.Description,
                Notes = Text(body, "notes", 4096) ?? config.Notes,
                IncludesPattern = Text(body, "includesPattern", 1024) ?? config.IncludesPattern,
                ExcludesPattern = Text(body, "excludesPattern", 1024) ?? config.ExcludesPattern,
                RepoLayoutRef = Text(body, "repoLayoutRef", 255) ?? config.RepoLayoutRef,
                ForceDockerAuthentication = JsonFields.Bool(body, "forceDockerAuthentication") ?? config.ForceDockerAuthentication,
                AnonymousRead = JsonFields.Bool(body, "anonymousRead") ?? config.AnonymousRead,
                BlockPushingSchema1 = JsonFields.Bool(body, "blockPushingSchema1") ?? config.BlockPushingSchema1,
                BlackedOut = JsonFields.Bool(body, "blackedOut") ?? config.BlackedOut,
                MaxUniqueTags = JsonFields.Int(body, "maxUniqueTags", 0, 100_000) ?? config.MaxUniqueTags,
                DockerTagRetention = JsonFields.Int(body, "dockerTagRetention", 1, 1000) ?? config.DockerTagRetention,
                PropertySets = PropertySets(body) ?? config.PropertySets,
                RegistryPort = body.TryGetProperty("registryPort", out var port) ? (port.ValueKind == JsonValueKind.Null ? null : JsonFields.Int(body, "registryPort", 1, 65535)) : config.RegistryPort,
            };
            return (config, null);
        }
        catch (JsonFieldException e)
        {
            return (null, e.Message);
        }
    }

    private static string? String(JsonElement body, string name) =>
        body.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string? Text(JsonElement body, string name, int maxLength)
    {
        var text = JsonFields.String(body, name);
        return text is not null && (text.Length > maxLength || text.Any(c => char.IsControl(c) && c is not ('\n' or '\r' or '\t')))
            ? throw new JsonFieldException($"Field '{name}' must be at most {maxLength} characters without control characters.")
            : text;
    }

    private static string? PropertySets(JsonElement body)
    {
        if (!body.TryGetProperty("propertySets", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String || e.GetString()!.Contains(',', StringComparison.Ordinal)))
        {
            throw new JsonFieldException("Field 'propertySets' must be an array of names.");
        }

        return string.Join(',', value.EnumerateArray().Select(e => e.GetString()));
    }
}
