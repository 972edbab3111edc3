namespace Wharf.Server.Hosting;

/// <summary>
/// The <c>Wharf:Tls</c> section (issue 12): the certificate Kestrel serves on every https://
/// endpoint. Paths are resolved against the current directory. Loaded and checked once at
/// start-up by <see cref="ServerTls"/>; an empty value counts as unset (an empty environment variable).
/// </summary>
internal sealed record TlsOptions
{
    /// <summary>A PEM certificate chain (server certificate first, then intermediates), or a PKCS#12 file (.pfx/.p12) holding certificate and key.</summary>
    public string? Certificate { get; init; }

    /// <summary>The PEM private key of a PEM certificate; not needed when the certificate file holds the key too, nor for PKCS#12.</summary>
    public string? Key { get; init; }

    /// <summary>The password of the PKCS#12 file, or of an encrypted PEM key (<c>ENCRYPTED PRIVATE KEY</c>).</summary>
    public string? Password { get; init; }
}

/// <summary>
/// What the listen addresses say about HTTPS, for every part that binds endpoints (the main
/// listener here, the per-repository listeners elsewhere): those bind https:// exactly when the
/// main listener has an https:// URL, and then inherit the default certificate Kestrel was given
/// (<c>KestrelServerOptions.ConfigureHttpsDefaults</c>, set by <see cref="ServerTls"/>).
/// </summary>
internal static class TlsSettings
{
    /// <summary>The https:// URLs among the listen addresses (<c>;</c>-separated, as <c>ASPNETCORE_URLS</c> or <c>--urls</c> give them).</summary>
    public static IReadOnlyList<string> HttpsUrls(string? urls) =>
        [.. (urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(url => url.StartsWith("https://", StringComparison.OrdinalIgnoreCase))];

    /// <summary>Whether any listen address is https://.</summary>
    public static bool ServesHttps(string? urls) => HttpsUrls(urls).Count > 0;

    /// <summary>Whether any listen address of the configuration (<c>urls</c>: <c>ASPNETCORE_URLS</c>, <c>--urls</c>) is https://.</summary>
    public static bool ServesHttps(IConfiguration configuration) => ServesHttps(configuration[WebHostDefaults.ServerUrlsKey]);
}
