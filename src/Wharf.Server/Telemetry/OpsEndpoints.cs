using System.Reflection;
using Prometheus;
using Wharf.Server.Api;
using Wharf.Server.Api.Rest;

namespace Wharf.Server.Telemetry;

/// <summary>
/// What operators and their monitoring call (rest-api §7.1, §7.4): the ping with its health check,
/// the version, and the Prometheus metrics. Ping and version also answer below the context path.
/// </summary>
internal static class OpsEndpoints
{
    /// <summary>The text exposition format 0.0.4, as Prometheus scrapes it.</summary>
    public const string MetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static void Map(IEndpointRouteBuilder app, MetricsOptions metrics)
    {
        foreach (var prefix in Routes.WithContextPath("/api/system"))
        {
            app.MapGet(prefix + "/ping", PingAsync);
            app.MapGet(prefix + "/version", Version).WithRestGate(RestRequirement.User);
        }

        app.MapGet("/metrics", MetricsAsync)
            .WithRestGate(metrics.AllowAnonymous ? RestRequirement.Anyone : RestRequirement.Admin("Only administrators may read the metrics."));
    }

    /// <summary>200 <c>OK</c>, or 503 with the reason when storage or the database is unavailable; anyone may ask.</summary>
    private static async Task<IResult> PingAsync(HealthProbe probe, CancellationToken cancellationToken)
    {
        var health = await probe.CheckAsync(cancellationToken);
        return health.Healthy
            ? Results.Text("OK", "text/plain")
            : Results.Text(health.Problem, "text/plain", statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary>The same for every user: this build's version and revision (rest-api §7.1).</summary>
    private static readonly object VersionBody = new
    {
        version = BuildInfo.Version,
        revision = BuildInfo.Revision,
        addons = new[] { "docker" },
        license = "Apache-2.0",
    };

    private static IResult Version() => Results.Json(VersionBody);

    private static async Task MetricsAsync(HttpContext context, WharfMetrics metrics, CancellationToken cancellationToken)
    {
        context.Response.ContentType = MetricsContentType;
        context.Response.Headers.CacheControl = "no-store";
        await metrics.Registry.CollectAndExportAsTextAsync(context.Response.Body, ExpositionFormat.PrometheusText, cancellationToken);
    }
}

/// <summary>
/// The version of this build: the assembly's informational version, which the SDK writes as
/// <c>&lt;Version&gt;+&lt;commit&gt;</c> when it builds from a git checkout (SourceRevisionId, from
/// Source Link); without one the revision is <c>unknown</c>.
/// </summary>
internal static class BuildInfo
{
    private static readonly string Informational =
        typeof(BuildInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    public static string Version => Informational.Split('+')[0];

    public static string Revision => Informational.Split('+') is [_, var revision, ..] && revision.Length > 0 ? revision : "unknown";
}

/// <summary>The <c>Wharf:Metrics</c> settings.</summary>
internal sealed record MetricsOptions
{
    /// <summary>Whether anyone may read <c>/metrics</c>; by default only administrators.</summary>
    public bool AllowAnonymous { get; init; }
}
