using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Wharf.Core.Naming;
using Wharf.Server.Http;

namespace Wharf.Server.Telemetry;

/// <summary>
/// The outermost middleware: gives each request a <see cref="RequestRecord"/> and a byte-counting
/// response body, and when the response is done writes one access-log line (category
/// <see cref="Category"/>, Information) and counts the request in <see cref="WharfMetrics"/>.
/// The line reads
/// <c>2026-05-02T09:14:03.517Z 10.0.0.7 alice "GET /v2/docker-v2-local/app/manifests/1.0 HTTP/1.1" 200 1234 3.2ms docker-v2-local</c>:
/// the request's arrival (UTC), the client address (a trusted proxy's <c>X-Forwarded-For</c>, see
/// <see cref="TrustedProxies"/>), the user (<c>anonymous</c> without credentials, <c>-</c> when no
/// gate authenticated anyone: invalid credentials, or a route without a gate), the request line
/// (path and query as sent, values of secret-looking query parameters replaced), the status, the
/// response body bytes (sendfile included), the duration, and the repository (<c>-</c> when none).
/// Headers are never logged, so neither are credentials.
/// </summary>
internal sealed partial class AccessLog(RequestDelegate next, WharfMetrics metrics, TimeProvider time, ILoggerFactory loggers)
{
    public const string Category = "Wharf.Access";

    /// <summary>Query parameters whose names contain one of these (ignoring case) are logged without their value.</summary>
    private static readonly string[] SecretNames = ["token", "password", "passwd", "secret", "apikey", "api_key", "auth", "signature"];

    private const string Redacted = "REDACTED";

    private readonly ILogger _logger = loggers.CreateLogger(Category);

    public async Task InvokeAsync(HttpContext context)
    {
        var arrived = time.GetUtcNow();
        var started = time.GetTimestamp();
        var record = new RequestRecord();
        context.Features.Set(record);
        var body = new CountingResponseBody(context.Features.GetRequiredFeature<IHttpResponseBodyFeature>());
        context.Features.Set<IHttpResponseBodyFeature>(body);
        var failed = false;
        try
        {
            await next(context);
        }
        catch
        {
            failed = true;
            throw;
        }
        finally
        {
            var elapsed = time.GetElapsedTime(started);
            var response = context.Response;
            var status = failed && !response.HasStarted ? StatusCodes.Status500InternalServerError : response.StatusCode;
            var bytes = body.Bytes + record.ZeroCopyBytes;
            metrics.Observe(context, record, status, bytes, elapsed);
            if (_logger.IsEnabled(LogLevel.Information))
            {
                var request = context.Request;
                Request(
                    _logger,
                    WireTime.Iso(arrived),
                    Client(context.Connection.RemoteIpAddress),
                    record.User ?? "-",
                    KnownOrOther(request.Method),
                    Target(request),
                    request.Protocol,
                    status,
                    bytes,
                    Math.Round(elapsed.TotalMilliseconds, 1),
                    record.Repository ?? RouteRepository(context) ?? "-");
            }
        }
    }

    [LoggerMessage(200, LogLevel.Information, "{Time} {Client} {User} \"{Method} {Path} {Protocol}\" {Status} {Bytes} {DurationMs}ms {Repository}")]
    private static partial void Request(ILogger logger, string time, string client, string user, string method, string path, string protocol, int status, long bytes, double durationMs, string repository);

    private static string Client(IPAddress? address) =>
        address is null ? "-" : (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString();

    /// <summary>Kestrel accepts any token as a method; one with characters a log line should not hold is logged as <c>OTHER</c>.</summary>
    private static string KnownOrOther(string method)
    {
        if (method.Length > 16)
        {
            return "OTHER";
        }

        foreach (var c in method)
        {
            if (!char.IsAsciiLetter(c))
            {
                return "OTHER";
            }
        }

        return method;
    }

    /// <summary>A route's repository key that no gate resolved (routes without a storage or registry gate), when it is a valid key.</summary>
    private static string? RouteRepository(HttpContext context) =>
        context.GetRouteValue("repoKey") is string key && RepositoryKey.Validate(key) is null ? key : null;

    /// <summary>
    /// The path (escaped as on the wire, so that no decoded character can break the line) and the
    /// query, with the values of secret-looking parameters replaced.
    /// </summary>
    internal static string Target(HttpRequest request)
    {
        var path = request.PathBase.ToUriComponent() + request.Path.ToUriComponent();
        var query = request.QueryString.Value;
        if (string.IsNullOrEmpty(query))
        {
            return path;
        }

        var target = new StringBuilder(path.Length + query.Length).Append(path).Append('?');
        var first = true;
        foreach (var pair in query.AsSpan(1).ToString().Split('&'))
        {
            target.Append(first ? "" : "&");
            first = false;
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? pair : pair[..equals];
            if (equals >= 0 && IsSecret(Uri.UnescapeDataString(name.Replace('+', ' '))))
            {
                target.Append(name).Append('=').Append(Redacted);
            }
            else
            {
                target.Append(pair);
            }
        }

        return target.ToString();
    }

    private static bool IsSecret(string name)
    {
        foreach (var secret in SecretNames)
        {
            if (name.Contains(secret, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
