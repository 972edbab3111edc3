namespace Wharf.Server.Http;

/// <summary>
/// The repository a request's own address names (rest-api §3.1): it arrived on the repository's
/// <c>registryPort</c>, or with <c>Host: &lt;key&gt;.&lt;serverName&gt;</c> under the subdomain
/// method. There, the root <c>/v1/…</c> and <c>/v2/…</c> are that repository's, and the URLs
/// Wharf hands out keep to that address. Set by <see cref="Hosting.RepositoryListeners"/>'
/// middleware before routing; absent on the main listener.
/// </summary>
internal sealed record RepositoryAddress(string Key)
{
    public static string? KeyOf(HttpContext context) => context.Features.Get<RepositoryAddress>()?.Key;
}
