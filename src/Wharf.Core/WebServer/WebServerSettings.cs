using System.Text;
using Wharf.Core.Metadata;
using Wharf.Core.Operations;

namespace Wharf.Core.WebServer;

/// <summary>
/// The web-server configuration (rest-api §7.2), kept as one JSON value in the metadata store's
/// settings. Reads are cached until the store's next write (and at most 2 s, for writes by another
/// node), so that routing may ask on every request. Writes check the configuration against every
/// Docker repository in the same transaction that stores it, and repository writes check their key
/// against the stored configuration in theirs (<see cref="ReadAsync"/>), so neither can slip past
/// the other.
/// </summary>
internal sealed class WebServerSettings(IMetadataStore store, TimeProvider time, Func<int> mainListenerPort)
{
    public const string Setting = "webServer.configuration";

    private readonly GenerationCache<string, WebServerConfiguration?> _cache = new(store, 1, time, TimeSpan.FromSeconds(2));

    /// <summary>The stored configuration, or the defaults (host name <c>localhost</c>, the main listener's port) when none was stored.</summary>
    public async ValueTask<WebServerConfiguration> GetAsync(CancellationToken cancellationToken) =>
        await FindStoredAsync(cancellationToken) ?? Defaults("localhost");

    /// <summary>The stored configuration; null when an administrator never stored one.</summary>
    public ValueTask<WebServerConfiguration?> FindStoredAsync(CancellationToken cancellationToken) =>
        _cache.GetOrReadAsync(Setting, async (_, ct) =>
        {
            await using var session = await store.OpenAsync(ct);
            return await ReadAsync(session.Settings, ct);
        }, cancellationToken);

    /// <summary>The defaults, with <paramref name="serverName"/> (e.g. the request's host) when it is a DNS name.</summary>
    public WebServerConfiguration Defaults(string serverName) => WebServerConfiguration.Defaults(serverName, mainListenerPort());

    /// <summary>The configuration stored in <paramref name="settings"/> (e.g. inside a write transaction), or null.</summary>
    public static async Task<WebServerConfiguration?> ReadAsync(ISettingRecords settings, CancellationToken cancellationToken) =>
        await settings.GetAsync(Setting, cancellationToken) is { } json ? WebServerJson.ReadStored(json) : null;

    /// <summary>
    /// Applies <paramref name="update"/> to the stored configuration (<paramref name="whenUnset"/> when
    /// none is stored) and stores the result, unless the update is refused, the result breaks a rule
    /// (<see cref="WebServerConfiguration.Problems"/>) or a repository contradicts it
    /// (<see cref="WebServerConfiguration.RepositoryProblems"/>): a bad request then, with nothing stored.
    /// </summary>
    public async Task<OperationResult> UpdateAsync(
        WebServerConfiguration whenUnset, Func<WebServerConfiguration, (WebServerConfiguration? Config, string? Problem)> update, CancellationToken cancellationToken)
    {
        await using var tx = await store.BeginAsync(cancellationToken);
        var (config, problem) = update(await ReadAsync(tx.Settings, cancellationToken) ?? whenUnset);
        if (config is null)
        {
            return OperationResult.BadRequest(problem!);
        }

        var problems = config.Problems();
        if (problems.Count == 0)
        {
            problems = config.RepositoryProblems(await tx.Repositories.ListAsync(cancellationToken));
        }

        if (problems.Count > 0)
        {
            return OperationResult.BadRequest(string.Join(" ", problems));
        }

        await tx.Settings.SetAsync(Setting, Encoding.UTF8.GetString(WebServerJson.Write(config, full: true)), cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return OperationResult.Ok();
    }
}
