using Wharf.Core.Naming;

namespace Wharf.Server.Hosting;

/// <summary>
/// The <c>Wharf</c> configuration section; every key also works as an environment variable
/// (<c>Wharf__Section__Key</c>).
/// </summary>
internal sealed record WharfOptions
{
    public const string Section = "Wharf";

    /// <summary>Everything Wharf writes: the database, blobs and keys.</summary>
    public string DataDir { get; init; } = "./data";

    /// <summary>Public base URL including the context path, e.g. <c>https://repo.example.com/artifactory</c>.</summary>
    public string? BaseUrl { get; init; }

    public AdminOptions Admin { get; init; } = new();

    public DockerOptions Docker { get; init; } = new();

    public SearchOptions Search { get; init; } = new();

    public CleanupOptions Cleanup { get; init; } = new();

    public HttpOptions Http { get; init; } = new();

    public Telemetry.MetricsOptions Metrics { get; init; } = new();

    /// <summary>The server's own TLS certificate; loaded and checked by <see cref="ServerTls"/>.</summary>
    public TlsOptions Tls { get; init; } = new();

    /// <summary>Every problem with the settings, as readable sentences; empty when they are valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(DataDir))
        {
            problems.Add("Wharf:DataDir must name a directory.");
        }

        if (BaseUrl is not null && (!Uri.TryCreate(BaseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(uri.Query)))
        {
            problems.Add($"Wharf:BaseUrl '{BaseUrl}' must be an absolute http or https URL without a query.");
        }

        if (Admin.Password is { } password && password.Length < 8)
        {
            problems.Add("Wharf:Admin:Password must be at least 8 characters long.");
        }

        if (RepositoryKey.Validate(Docker.DefaultRepository) is { } keyProblem)
        {
            problems.Add($"Wharf:Docker:DefaultRepository '{Docker.DefaultRepository}': {keyProblem}");
        }

        if (Docker.V1Port is < 0 or > 65535)
        {
            problems.Add("Wharf:Docker:V1Port must be a TCP port (1-65535), or 0 for none.");
        }

        if (Docker.TokenLifetimeSeconds is < 3600 or > 7 * 86400)
        {
            problems.Add("Wharf:Docker:TokenLifetimeSeconds must be between 3600 (one hour, docker-v1-protocol §5.3) and 604800.");
        }

        if (Search.MaxResults is < 1 or > 100_000)
        {
            problems.Add("Wharf:Search:MaxResults must be between 1 and 100000.");
        }

        if (Cleanup.EmptyFolderPruneIntervalMinutes is < 0 or > 7 * 24 * 60)
        {
            problems.Add("Wharf:Cleanup:EmptyFolderPruneIntervalMinutes must be between 0 (off) and 10080.");
        }

        if (Cleanup.GarbageCollectionIntervalMinutes is < 0 or > 7 * 24 * 60)
        {
            problems.Add("Wharf:Cleanup:GarbageCollectionIntervalMinutes must be between 0 (off) and 10080.");
        }

        if (Cleanup.EmptyFolderMinAgeSeconds < 0 || Cleanup.GracePeriodSeconds < 0.1 || Cleanup.StaleUploadHours <= 0)
        {
            problems.Add("Wharf:Cleanup: EmptyFolderMinAgeSeconds must be at least 0, GracePeriodSeconds at least 0.1 and StaleUploadHours above 0.");
        }

        Http.Validate(problems);

        return problems;
    }
}

/// <summary>The HTTP front (rest-api §1.1 base URLs behind a reverse proxy).</summary>
internal sealed record SearchOptions
{
    /// <summary>Most hits one search returns (rest-api §5).</summary>
    public int MaxResults { get; init; } = 1000;
}

/// <summary>The lifecycle jobs (rest-api §3.7).</summary>
internal sealed record CleanupOptions
{
    /// <summary>How often empty folders are pruned and stale uploads purged; 0 turns the job off.</summary>
    public double EmptyFolderPruneIntervalMinutes { get; init; } = 5;

    /// <summary>Folders younger than this are left alone: a push may be about to fill them.</summary>
    public double EmptyFolderMinAgeSeconds { get; init; } = 60;

    /// <summary>How often unreferenced content is collected; 0 turns the job off (POST /api/system/cleanup still runs it).</summary>
    public double GarbageCollectionIntervalMinutes { get; init; } = 60;

    /// <summary>Content written (and V1 images completed) within this period is never collected: a push may still refer to it.</summary>
    public double GracePeriodSeconds { get; init; } = 3600;

    /// <summary>Uploads untouched for this long are abandoned and purged.</summary>
    public double StaleUploadHours { get; init; } = 24;
}

internal sealed record AdminOptions
{
    /// <summary>Initial password of <c>admin</c>; when unset, a random one is printed once on first start.</summary>
    public string? Password { get; init; }
}

internal sealed record DockerOptions
{
    /// <summary>The repository that answers root-mode <c>/v1/…</c>.</summary>
    public string DefaultRepository { get; init; } = "docker-local";

    public int TokenLifetimeSeconds { get; init; } = 3600;

    /// <summary>
    /// The <c>registryPort</c> the first start gives <c>docker-local</c>, so that docker 1.6–1.12
    /// reaches it on a fresh install (its bare <c>/v2/</c> there is the plain 404 that makes docker
    /// fall back to V1); 0 for none. Only the first start reads it.
    /// </summary>
    public int V1Port { get; init; } = 8082;

    /// <summary>
    /// Whether Wharf opens a listener of its own on each repository's <c>registryPort</c>. Off when
    /// a web server on the same machine owns those ports and forwards them to the main listener
    /// (the generated NGINX and Apache configuration does).
    /// </summary>
    public bool RepositoryListeners { get; init; } = true;
}

/// <summary>
/// Limits on slow clients (issue #10): a request body must arrive at a minimum average rate once
/// its grace period is over, and request headers must be complete within their timeout, so a
/// client that trickles cannot hold a connection (and a request's resources) open indefinitely.
/// </summary>
internal sealed record HttpOptions
{
    /// <summary>
    /// Comma-separated addresses or CIDR networks of the reverse proxies whose forwarded headers
    /// (<c>X-Forwarded-*</c>, <c>X-JFrog-Override-Base-Url</c>, <c>X-Artifactory-Override-Base-Url</c>)
    /// are believed; from any other peer they are ignored. Empty: no one's.
    /// </summary>
    public string TrustedProxies { get; init; } = Wharf.Server.Http.TrustedProxies.Default;

    /// <summary>
    /// Least average rate of a request body, measured from its start while the server waits for
    /// data; 0 turns the minimum off. Kestrel's own default: far below any real link.
    /// </summary>
    public double MinRequestBodyBytesPerSecond { get; init; } = 240;

    /// <summary>
    /// How long a body may run below the rate before it is cut off. Generous, so that a push over a
    /// slow or briefly stalled link, or a client slow to produce its first bytes, survives.
    /// </summary>
    public double MinRequestBodyGraceSeconds { get; init; } = 60;

    /// <summary>Most time from a request's first byte to the end of its headers.</summary>
    public double RequestHeadersTimeoutSeconds { get; init; } = 30;

    public void Validate(List<string> problems)
    {
        if (MinRequestBodyBytesPerSecond is < 0 or > 1_000_000_000 || double.IsNaN(MinRequestBodyBytesPerSecond))
        {
            problems.Add("Wharf:Http:MinRequestBodyBytesPerSecond must be between 0 (off) and 1000000000.");
        }

        // Kestrel checks rates once a second, so a grace period must be longer than that.
        if (MinRequestBodyGraceSeconds is <= 1 or > 3600 || double.IsNaN(MinRequestBodyGraceSeconds))
        {
            problems.Add("Wharf:Http:MinRequestBodyGraceSeconds must be above 1 and at most 3600.");
        }

        if (RequestHeadersTimeoutSeconds is < 1 or > 3600 || double.IsNaN(RequestHeadersTimeoutSeconds))
        {
            problems.Add("Wharf:Http:RequestHeadersTimeoutSeconds must be between 1 and 3600.");
        }

        _ = Wharf.Server.Http.TrustedProxies.Parse(TrustedProxies, out var notProxies);
        if (notProxies.Count > 0)
        {
            problems.Add($"Wharf:Http:TrustedProxies: {string.Join(", ", notProxies.Select(p => $"'{p}'"))} must be IP addresses or CIDR networks (e.g. 10.0.0.0/8), comma-separated.");
        }
    }
}
