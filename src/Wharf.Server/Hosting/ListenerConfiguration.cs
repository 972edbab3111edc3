namespace Wharf.Server.Hosting;

/// <summary>
/// The configuration Kestrel binds the repositories' ports from, owned by Wharf (not read from
/// files): one endpoint per repository port on each host of the main listener's URLs (<c>urls</c> /
/// <c>ASPNETCORE_URLS</c>, which Kestrel binds itself), https when the main listener serves any
/// https URL. Kestrel is given it with <c>reloadOnChange</c>, so <see cref="Replace"/> with
/// <c>notify</c> re-binds without a restart: only the endpoints that changed are stopped or
/// started. It stays empty until the server has started: Kestrel ignores the <c>urls</c> when its
/// configuration names endpoints at the start.
/// </summary>
internal sealed class ListenerConfiguration : ConfigurationProvider, IConfigurationSource
{
    public ListenerConfiguration(IReadOnlyList<string> mainUrls)
    {
        Urls = mainUrls;
        var parsed = mainUrls.Select(BindingAddress.Parse).ToList();
        Hosts = [.. parsed.Select(a => a.Host).Distinct(StringComparer.OrdinalIgnoreCase)];
        MainPorts = [.. parsed.Select(a => a.Port)];
        Scheme = parsed.Any(a => a.Scheme == "https") ? "https" : "http";
        Replace(new Dictionary<int, string>(), notify: false);
    }

    /// <summary>The main listener's URLs, as configured.</summary>
    public IReadOnlyList<string> Urls { get; }

    /// <summary>The hosts of the main listener's URLs, as written there (<c>127.0.0.1</c>, <c>[::1]</c>, <c>localhost</c>, <c>*</c>).</summary>
    public IReadOnlyList<string> Hosts { get; }

    /// <summary>The main listener's configured ports (0: chosen by the system at start).</summary>
    public IReadOnlyList<int> MainPorts { get; }

    /// <summary>The repository listeners' scheme: https when the main listener serves https.</summary>
    public string Scheme { get; }

    public IConfigurationProvider Build(IConfigurationBuilder builder) => this;

    /// <summary>The endpoints of <paramref name="repositoryPorts"/>; with <paramref name="notify"/>, Kestrel re-binds.</summary>
    public void Replace(IReadOnlyDictionary<int, string> repositoryPorts, bool notify)
    {
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);

        foreach (var port in repositoryPorts.Keys)
        {
            for (var i = 0; i < Hosts.Count; i++)
            {
                data[$"Endpoints:Repository{port}_{i}:Url"] = $"{Scheme}://{Hosts[i]}:{port}";
            }
        }

        Data = data;
        if (notify)
        {
            OnReload();
        }
    }

    /// <summary>The main listener's URLs from the <c>urls</c> setting (separated by <c>;</c>), or <paramref name="fallback"/>.</summary>
    public static IReadOnlyList<string> MainUrls(string? urls, string fallback) =>
        string.IsNullOrWhiteSpace(urls) ? [fallback] : [.. urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
}
