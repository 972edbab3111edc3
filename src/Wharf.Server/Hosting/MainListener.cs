using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Wharf.Server.Hosting;

/// <summary>
/// The port of Wharf's main listener, where a reverse proxy in front of it forwards to (the
/// default <c>artifactoryPort</c> of rest-api §7.2): the first plain-HTTP address Kestrel listens
/// on once it runs, else the first of the configured <c>urls</c> (<c>ASPNETCORE_URLS</c>), else
/// the default listener's.
/// </summary>
internal static partial class MainListener
{
    public const int DefaultPort = 8081;

    /// <summary>The running server's port (not a repository's), or the configured one before it runs.</summary>
    public static int Port(IServiceProvider services)
    {
        var listeners = services.GetService<RepositoryListeners>();
        var addresses = (services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses ?? [])
            .Where(address => listeners?.KeyOfPort(BindingAddress.Parse(address).Port) is null)
            .ToList();
        return Port(addresses.Count > 0 ? string.Join(';', addresses)
            : services.GetService<ListenerConfiguration>() is { } configured ? string.Join(';', configured.Urls)
            : services.GetRequiredService<IConfiguration>()["urls"]);
    }

    /// <summary>The port of the first plain-HTTP URL of a <c>;</c>-separated list (the first URL when none is plain); <see cref="DefaultPort"/> when none names one.</summary>
    public static int Port(string? urls)
    {
        var parsed = (urls ?? WharfApp.DefaultUrl).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(url => UrlPattern().Match(url))
            .Where(match => match.Success)
            .Select(match => (Http: match.Groups["scheme"].Value.Equals("http", StringComparison.OrdinalIgnoreCase),
                Port: match.Groups["port"].Success ? int.Parse(match.Groups["port"].Value, CultureInfo.InvariantCulture)
                    : match.Groups["scheme"].Value.Equals("https", StringComparison.OrdinalIgnoreCase) ? 443 : 80))
            .Where(url => url.Port is >= 1 and <= 65535)
            .OrderBy(url => url.Http ? 0 : 1)
            .ToList();
        return parsed.Count > 0 ? parsed[0].Port : DefaultPort;
    }

    /// <summary>Kestrel's URL forms: <c>http://host:port</c>, hosts <c>*</c>, <c>+</c>, <c>[::]</c> included.</summary>
    [GeneratedRegex(@"^(?<scheme>https?)://(\[[^\]]*\]|[^:/\[\]]*)(:(?<port>[0-9]{1,5}))?(/.*)?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex UrlPattern();
}
