namespace Wharf.Core.Docker;

/// <summary>
/// Ages that protect work in flight from the cleanup jobs (Lifecycle's <c>Cleanup</c>); the V1 registry
/// reads the grace period too.
/// </summary>
internal sealed record CleanupSettings(TimeSpan GracePeriod, TimeSpan StaleUploadAge, TimeSpan EmptyFolderMinAge)
{
    public static readonly CleanupSettings Default = new(TimeSpan.FromHours(1), TimeSpan.FromHours(24), TimeSpan.FromSeconds(60));
}
