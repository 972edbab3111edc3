namespace Wharf.Core.Repositories;

internal enum DockerApiVersion
{
    V1,
    V2,
}

/// <summary>A local Docker repository (rest-api §2.2); more fields arrive with the repositories API.</summary>
internal sealed record RepositoryConfig(
    string Key,
    DockerApiVersion DockerApiVersion,
    string Description = "",
    bool ForceDockerAuthentication = false,
    bool AnonymousRead = false,
    int? RegistryPort = null);
