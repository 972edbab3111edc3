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

        if (Docker.TokenLifetimeSeconds is < 3600 or > 7 * 86400)
        {
            problems.Add("Wharf:Docker:TokenLifetimeSeconds must be between 3600 (one hour, docker-v1-protocol §5.3) and 604800.");
        }

        return problems;
    }
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
}
