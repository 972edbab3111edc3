namespace Wharf.Server.Hosting;

/// <summary>Source-generated log messages with stable event ids.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Created repository {Key} (Docker API {Version})")]
    public static partial void RepositoryCreated(ILogger logger, string key, string version);

    [LoggerMessage(2, LogLevel.Information, "Created user admin")]
    public static partial void AdminCreated(ILogger logger);

    [LoggerMessage(3, LogLevel.Information, "Wharf data directory: {DataDir}")]
    public static partial void DataDir(ILogger logger, string dataDir);

    [LoggerMessage(4, LogLevel.Information, "Read {Files} registry files of the existing trees into the registry index")]
    public static partial void RegistryIndexBackfilled(ILogger logger, int files);

    [LoggerMessage(10, LogLevel.Warning, "audit login.failed {User} from {Address}")]
    public static partial void LoginFailed(ILogger logger, string user, string? address);

    [LoggerMessage(11, LogLevel.Information, "audit login.ok {User} from {Address}")]
    public static partial void LoginSucceeded(ILogger logger, string user, string? address);

    [LoggerMessage(12, LogLevel.Warning, "audit login.throttled {User} from {Address}")]
    public static partial void LoginThrottled(ILogger logger, string user, string? address);

    [LoggerMessage(20, LogLevel.Information, "V1 image {ImageId} pushed to {Repo} by {User}")]
    public static partial void V1ImagePushed(ILogger logger, string imageId, string repo, string user);

    [LoggerMessage(21, LogLevel.Information, "V1 tag {Repo}:{Name}:{Tag} -> {ImageId} by {User}")]
    public static partial void V1TagSet(ILogger logger, string repo, string name, string tag, string imageId, string user);

    [LoggerMessage(22, LogLevel.Information, "V1 {What} {Repo}:{Name} deleted by {User}")]
    public static partial void V1Deleted(ILogger logger, string what, string repo, string name, string user);

    [LoggerMessage(30, LogLevel.Information, "Cleanup: {Blobs} blobs ({Bytes} bytes) collected, {Folders} empty folders pruned, {Uploads} stale uploads purged, {Images} unreachable V1 images removed")]
    public static partial void CleanupFinished(ILogger logger, int blobs, long bytes, int folders, int uploads, int images);

    [LoggerMessage(31, LogLevel.Information, "Empty-folder pruning removed {Folders} folders")]
    public static partial void FoldersPruned(ILogger logger, int folders);

    [LoggerMessage(32, LogLevel.Error, "Cleanup failed; it runs again at the next interval")]
    public static partial void CleanupFailed(ILogger logger, Exception exception);

    /// <summary>Writes the report of a cleanup run, however it was started.</summary>
    public static void CleanupFinished(ILogger logger, Core.Lifecycle.CleanupReport report)
    {
        var uploads = report.Uploads.Removed + report.Uploads.FilesRemoved;
        CleanupFinished(logger, report.Gc.BlobsRemoved, report.Gc.BytesRemoved, report.EmptyFoldersRemoved, uploads, report.V1ImagesRemoved);
    }

    /// <summary>An audit line for a management change made through a REST call.</summary>
    public static void Audit(HttpContext context, string action, string subject) =>
        Audit(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Wharf.Audit"), action, subject);

    [LoggerMessage(40, LogLevel.Warning, "Repository {Key}: port {Port} is Wharf's main listener or in use by another program; no listener opened")]
    public static partial void RepositoryPortUnavailable(ILogger logger, string key, int port);

    [LoggerMessage(42, LogLevel.Information, "Repository {Key} listens on {Scheme} port {Port}")]
    public static partial void RepositoryListening(ILogger logger, string key, string scheme, int port);

    [LoggerMessage(41, LogLevel.Warning, "Kestrel had not opened or closed the repository ports after {Seconds} s")]
    public static partial void RepositoryListenersSlow(ILogger logger, double seconds);

    [LoggerMessage(90, LogLevel.Error, "Unhandled exception on {Method} {Path}")]
    public static partial void Unhandled(ILogger logger, string method, string path, Exception? exception);

    [LoggerMessage(100, LogLevel.Information, "audit {Action} {Subject}")]
    public static partial void Audit(ILogger logger, string action, string subject);
}
