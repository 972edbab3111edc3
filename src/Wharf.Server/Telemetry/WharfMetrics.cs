using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Diagnostics.Metrics;
using System.Globalization;
using Prometheus;
using Wharf.Core.Lifecycle;

namespace Wharf.Server.Telemetry;

/// <summary>
/// The Prometheus series of one Wharf instance (rest-api §7.4), in a registry of its own (so that
/// instances in one process, as in the tests, count apart), served by <c>GET /metrics</c>. Every
/// label takes its values from a fixed set or from existing repository keys, never from what a
/// client sent: route patterns, not paths; known methods or <c>OTHER</c>.
/// </summary>
internal sealed class WharfMetrics : IDisposable
{
    private static readonly double[] DurationBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

    private static readonly FrozenDictionary<string, string> KnownMethods =
        new[] { "GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS" }.ToFrozenDictionary(m => m, StringComparer.OrdinalIgnoreCase);

    private static readonly string[] StatusLabels = [.. Enumerable.Range(0, 600).Select(s => s.ToString(CultureInfo.InvariantCulture))];

    /// <summary>The jobs of <see cref="Cleanup"/>, so that each series exists (at 0) before its first run.</summary>
    private static readonly string[] CleanupJobs = [Cleanup.JobUploads, Cleanup.JobV1Images, Cleanup.JobEmptyFolders, Cleanup.JobGc];

    private readonly Counter _requests;
    private readonly Histogram _duration;
    private readonly Counter _pulls;
    private readonly Counter _pushes;
    private readonly Counter _operations;
    private readonly Counter _uploadBytes;
    private readonly Counter _downloadBytes;
    private readonly Counter _cleanupRuns;
    private readonly MeterListener _listener;
    private readonly ConcurrentDictionary<(string Pattern, string? Relative), string> _routes = new();

    public WharfMetrics(IMeterFactory meterFactory)
    {
        Registry = Metrics.NewCustomRegistry();
        DotNetStats.Register(Registry);
        var factory = Metrics.WithCustomRegistry(Registry);
        _requests = factory.CreateCounter("wharf_http_requests_total", "HTTP requests answered, by method, route pattern and status.", ["method", "route", "status"]);
        _duration = factory.CreateHistogram("wharf_http_request_duration_seconds", "Time from a request's arrival to the end of its response, by method and route pattern.", ["method", "route"],
            new HistogramConfiguration { Buckets = DurationBuckets });
        _pulls = factory.CreateCounter("wharf_docker_pulls_total", "Successful pulls: V2 manifest GETs and V1 pull starts (GET …/images).", ["repo"]);
        _pushes = factory.CreateCounter("wharf_docker_pushes_total", "Successful pushes: V2 manifest PUTs and V1 tag PUTs.", ["repo"]);
        _operations = factory.CreateCounter("wharf_registry_operations_total", "Registry requests by protocol, operation and outcome (ok, denied, not_found, rejected, error).", ["protocol", "operation", "outcome"]);
        _uploadBytes = factory.CreateCounter("wharf_blob_upload_bytes_total", "Bytes received as blob and layer upload bodies.", ["repo"]);
        _downloadBytes = factory.CreateCounter("wharf_blob_download_bytes_total", "Bytes sent as blob, layer and file download bodies.", ["repo"]);
        _cleanupRuns = factory.CreateCounter("wharf_cleanup_runs_total", "Completed runs of each lifecycle job.", ["job"]);
        foreach (var job in CleanupJobs)
        {
            _cleanupRuns.WithLabels(job);
        }

        // The lifecycle jobs (in Wharf.Core) count their runs on a System.Diagnostics.Metrics meter of
        // this instance's meter factory; only that factory's instruments are followed here.
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Scope == meterFactory && instrument.Meter.Name == Cleanup.MeterName && instrument.Name == Cleanup.RunsInstrument)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag is { Key: "job", Value: string job })
                {
                    _cleanupRuns.WithLabels(job).Inc(value);
                }
            }
        });
        _listener.Start();
    }

    public CollectorRegistry Registry { get; }

    public void Dispose() => _listener.Dispose();

    /// <summary>Counts a finished request: the HTTP series always, the registry series when a gate recorded an operation.</summary>
    public void Observe(HttpContext context, RequestRecord record, int status, long responseBytes, TimeSpan elapsed)
    {
        var method = KnownMethods.GetValueOrDefault(context.Request.Method, "OTHER");
        var route = Route(context, record);
        _requests.WithLabels(method, route, StatusLabels[status is >= 0 and < 600 ? status : 0]).Inc();
        _duration.WithLabels(method, route).Observe(elapsed.TotalSeconds);

        var repo = record.Repository;
        if (record.BlobDownload && repo is not null && responseBytes > 0)
        {
            _downloadBytes.WithLabels(repo).Inc(responseBytes);
        }

        if (record.Operation is not { } operation)
        {
            return;
        }

        _operations.WithLabels(operation.Protocol, operation.Name, Outcome(status)).Inc();
        if (repo is null)
        {
            return;
        }

        var succeeded = status is >= 200 and < 300;
        switch (operation.Counts)
        {
            case RegistryCount.Pull when succeeded:
                _pulls.WithLabels(repo).Inc();
                break;
            case RegistryCount.Push when succeeded:
                _pushes.WithLabels(repo).Inc();
                break;
            case RegistryCount.Upload when record.UploadBody is { Bytes: > 0 } body:
                _uploadBytes.WithLabels(repo).Inc(body.Bytes);
                break;
        }
    }

    /// <summary>
    /// The route label: the endpoint's pattern, with a registry catch-all's <c>{**rest}</c> replaced
    /// by the operation's own route (<c>…/v2/{name}/manifests/{reference}</c>); <c>unmatched</c> when
    /// no endpoint answered.
    /// </summary>
    public string Route(HttpContext context, RequestRecord record)
    {
        if ((context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText is not { } pattern)
        {
            return "unmatched";
        }

        var relative = record.Operation?.Route;
        return relative is null ? pattern : _routes.GetOrAdd((pattern, relative), static key =>
            key.Pattern.Replace("{**rest}", key.Relative, StringComparison.Ordinal));
    }

    private static string Outcome(int status) => status switch
    {
        < 400 => "ok",
        401 or 403 => "denied",
        404 => "not_found",
        < 500 => "rejected",
        _ => "error",
    };
}
