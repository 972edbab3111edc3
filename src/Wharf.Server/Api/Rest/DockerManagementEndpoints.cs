using System.Text.Json;
using System.Text.Json.Serialization;
using Wharf.Core.Docker.V1;
using Wharf.Core.Docker.V2;
using Wharf.Core.Metadata;
using Wharf.Core.Repositories;
using Wharf.Core.Security;
using Wharf.Server.Hosting;

namespace Wharf.Server.Api.Rest;

/// <summary>Docker management calls in REST form: promote (rest-api §3.4).</summary>
internal static class DockerManagementEndpoints
{
    private const int MaxBodyBytes = 64 * 1024;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new LenientBooleanConverter() },
    };

    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var prefix in new[] { "/artifactory/api/docker/{repoKey}", "/api/docker/{repoKey}" })
        {
            app.MapPost(prefix + "/v1/promote", (HttpContext c, string repoKey, RepositoryService r, V1Promotion v1, V2Promotion v2, AccessPolicy p, CancellationToken ct) =>
                PromoteAsync(c, repoKey, DockerApiVersion.V1, r, v1, v2, p, ct)).WithRestGate(RestRequirement.Anyone);
            app.MapPost(prefix + "/v1/migrate", MigrateAsync).WithRestGate(RestRequirement.Anyone);
            app.MapPost(prefix + "/v2/promote", (HttpContext c, string repoKey, RepositoryService r, V1Promotion v1, V2Promotion v2, AccessPolicy p, CancellationToken ct) =>
                PromoteAsync(c, repoKey, DockerApiVersion.V2, r, v1, v2, p, ct)).WithRestGate(RestRequirement.Anyone);
        }
    }

    /// <summary>
    /// The caller and the source repository of a promotion or migration; a repository the caller
    /// may not read is not found (or 401 for anonymous callers), as if it did not exist.
    /// </summary>
    private static async Task<((Principal Caller, RepositoryConfig Source)? Granted, IResult? Denied)> CallerAndSourceAsync(
        HttpContext context, string repoKey, RepositoryService repositories, AccessPolicy policy, CancellationToken cancellationToken)
    {
        var caller = RestCall.Of(context).Caller;
        var source = await repositories.GetAsync(repoKey, cancellationToken);
        if (source is null || !await policy.AllowsAsync(caller, source, "", isFolder: true, AccessActions.Read, cancellationToken))
        {
            return (null, caller.IsAnonymous ? RestErrors.Unauthorized() : RestErrors.NotFound($"Repository '{repoKey}' not found."));
        }

        return ((caller, source), null);
    }

    /// <summary>V1 → V2 migration (rest-api §3.5): copies tags, never changes the source.</summary>
    private static async Task<IResult> MigrateAsync(
        HttpContext context, string repoKey, RepositoryService repositories, V1Migration migration, AccessPolicy policy, CancellationToken cancellationToken)
    {
        var (granted, denied) = await CallerAndSourceAsync(context, repoKey, repositories, policy, cancellationToken);
        if (granted is not { } access)
        {
            return denied!;
        }

        var (caller, source) = access;

        var (body, failure) = await RestBodies.ReadJsonAsync<MigrateBody>(context, Json, MaxBodyBytes, cancellationToken);
        if (body is null)
        {
            return failure!;
        }

        if (string.IsNullOrEmpty(body.TargetRepo))
        {
            return RestErrors.BadRequest("Field 'targetRepo' is required.");
        }

        var target = await repositories.GetAsync(body.TargetRepo, cancellationToken);
        if (target is null)
        {
            return RestErrors.NotFound($"Target repository '{body.TargetRepo}' not found.");
        }

        var (report, refused) = await migration.MigrateAsync(source, target, new MigrateRequest(body.TargetRepo, body.DockerRepository, body.Tag, body.Overwrite ?? false), caller.DisplayName,
            policy.PermissionFor(caller, cancellationToken), cancellationToken);
        if (report is null)
        {
            return RestResults.Failure(refused!, caller);
        }

        Log.Audit(context, "docker.migrate", $"{source.Key}/{body.DockerRepository ?? "*"}:{body.Tag ?? "*"} -> {target.Key}: {report.Migrated.Count} migrated by {caller.DisplayName}");
        return Results.Json(new
        {
            migrated = report.Migrated.Select(m => new { dockerRepository = m.DockerRepository, tag = m.Tag, targetImage = m.TargetImage, digest = m.Digest }),
            unchanged = report.Unchanged.Select(m => new { dockerRepository = m.DockerRepository, tag = m.Tag, targetImage = m.TargetImage, digest = m.Digest }),
            skipped = report.Skipped.Select(m => new { dockerRepository = m.DockerRepository, tag = m.Tag, reason = m.Reason }),
            failed = report.Failed.Select(m => new { dockerRepository = m.DockerRepository, tag = m.Tag, reason = m.Reason }),
        });
    }

    private static async Task<IResult> PromoteAsync(
        HttpContext context, string repoKey, DockerApiVersion route, RepositoryService repositories, V1Promotion v1, V2Promotion v2, AccessPolicy policy, CancellationToken cancellationToken)
    {
        var (granted, denied) = await CallerAndSourceAsync(context, repoKey, repositories, policy, cancellationToken);
        if (granted is not { } access)
        {
            return denied!;
        }

        var (caller, source) = access;

        if (source.DockerApiVersion != route)
        {
            return RestErrors.BadRequest($"'{source.Key}' is a Docker {source.DockerApiVersion} repository; use /api/docker/{source.Key}/{source.DockerApiVersion.ToString().ToLowerInvariant()}/promote.");
        }

        var (body, failure) = await RestBodies.ReadJsonAsync<PromoteBody>(context, Json, MaxBodyBytes, cancellationToken);
        if (body is null)
        {
            return failure!;
        }

        if (string.IsNullOrEmpty(body.TargetRepo) || string.IsNullOrEmpty(body.DockerRepository))
        {
            return RestErrors.BadRequest("Fields 'targetRepo' and 'dockerRepository' are required.");
        }

        var target = await repositories.GetAsync(body.TargetRepo, cancellationToken);
        if (target is null)
        {
            return RestErrors.NotFound($"Target repository '{body.TargetRepo}' not found.");
        }

        if (target.DockerApiVersion != source.DockerApiVersion)
        {
            return RestErrors.BadRequest($"Cannot promote from Docker {source.DockerApiVersion} repository '{source.Key}' to Docker {target.DockerApiVersion} repository '{target.Key}'.");
        }

        var request = new PromoteRequest(body.TargetRepo, body.DockerRepository, body.TargetDockerRepository, body.Tag, body.TargetTag, body.Copy ?? false);
        var allowed = policy.PermissionFor(caller, cancellationToken);
        var result = source.DockerApiVersion == DockerApiVersion.V2
            ? await v2.PromoteAsync(source, target, request, caller.DisplayName, allowed, cancellationToken)
            : await v1.PromoteAsync(source, target, request, caller.DisplayName, allowed, cancellationToken);
        if (!result.Succeeded)
        {
            return RestResults.Failure(result, caller);
        }

        Log.Audit(context, request.Copy ? "docker.promote.copy" : "docker.promote.move", $"{source.Key}/{body.DockerRepository}:{body.Tag ?? "*"} -> {target.Key} by {caller.DisplayName}");
        return Results.Text(result.Message, "text/plain");
    }
}

internal sealed record MigrateBody(
    string? TargetRepo,
    string? DockerRepository,
    string? Tag,
    [property: JsonConverter(typeof(NullableLenientBooleanConverter))] bool? Overwrite);

internal sealed record PromoteBody(
    string? TargetRepo,
    string? DockerRepository,
    string? TargetDockerRepository,
    string? Tag,
    string? TargetTag,
    [property: JsonConverter(typeof(NullableLenientBooleanConverter))] bool? Copy);

internal sealed class NullableLenientBooleanConverter : JsonConverter<bool?>
{
    private static readonly LenientBooleanConverter Inner = new();

    public override bool HandleNull => false;

    public override bool? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Inner.Read(ref reader, typeof(bool), options);

    public override void Write(Utf8JsonWriter writer, bool? value, JsonSerializerOptions options) =>
        writer.WriteBooleanValue(value ?? false);
}
