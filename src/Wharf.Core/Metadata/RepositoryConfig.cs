namespace Wharf.Core.Metadata;

internal enum DockerApiVersion
{
    V1,
    V2,
}

/// <summary>
/// A local Docker repository (rest-api §2.2). The positional members are the ones every protocol
/// route reads; the rest are management settings with the spec's defaults.
/// </summary>
internal sealed record RepositoryConfig(
    string Key,
    DockerApiVersion DockerApiVersion,
    string Description = "",
    bool ForceDockerAuthentication = false,
    bool AnonymousRead = false,
    int? RegistryPort = null)
{
    public string Notes { get; init; } = "";

    /// <summary>Comma-separated Ant patterns; a push to a path outside them is refused.</summary>
    public string IncludesPattern { get; init; } = "**/*";

    public string ExcludesPattern { get; init; } = "";

    public string RepoLayoutRef { get; init; } = "simple-default";

    /// <summary>Most tags one image may have; 0 is unlimited. Pushing one more removes the oldest.</summary>
    public int MaxUniqueTags { get; init; }

    public int DockerTagRetention { get; init; } = 1;

    public bool BlockPushingSchema1 { get; init; }

    /// <summary>A blacked-out repository refuses every read and write.</summary>
    public bool BlackedOut { get; init; }

    /// <summary>Echoed only; comma-joined so that the record compares by value.</summary>
    public string PropertySets { get; init; } = "";

    public DateTimeOffset Created { get; init; }
}
