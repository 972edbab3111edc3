using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Wharf.Server.Hosting;

/// <summary>
/// The server's own TLS: the certificate of <see cref="TlsOptions"/>, loaded once at start-up and
/// made Kestrel's default HTTPS certificate, so that every https:// endpoint serves it (the main
/// listener's URLs and any endpoint bound later with <c>ListenOptions.UseHttps()</c>).
/// <para>
/// What makes the certificate unusable is a <see cref="Problems"/> entry and stops the start (exit
/// code 2): a file missing or unreadable, no private key, a key that is not the certificate's, a
/// wrong password, an https:// URL without a certificate. What clients may still accept, or what
/// an operator must be able to run through (an expired certificate: plain HTTP and clients with
/// <c>insecure-registries</c> keep working while it is renewed), is a <see cref="Warnings"/> entry,
/// logged at every start.
/// </para>
/// </summary>
internal sealed class ServerTls : IDisposable
{
    /// <summary>A certificate that expires within this period draws a warning at start-up.</summary>
    public static readonly TimeSpan ExpiryWarning = TimeSpan.FromDays(30);

    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";

    private ServerTls(X509Certificate2? certificate, X509Certificate2Collection chain, IReadOnlyList<string> problems, IReadOnlyList<string> warnings)
    {
        Certificate = certificate;
        Chain = chain;
        Problems = problems;
        Warnings = warnings;
    }

    /// <summary>The server certificate with its private key; null when none is configured (or it could not be loaded).</summary>
    public X509Certificate2? Certificate { get; }

    /// <summary>The intermediates sent after it (the rest of a PEM chain, the other certificates of a PKCS#12 file).</summary>
    public X509Certificate2Collection Chain { get; }

    /// <summary>Why the settings cannot be used, as sentences naming the setting; empty when they can.</summary>
    public IReadOnlyList<string> Problems { get; }

    /// <summary>What clients may object to (expired, host not named, no subjectAltName); logged at start-up.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>Loads and checks the configured certificate against the listen addresses <paramref name="urls"/>.</summary>
    public static ServerTls Load(TlsOptions options, string? urls, DateTimeOffset now)
    {
        var problems = new List<string>();
        var warnings = new List<string>();
        var httpsUrls = TlsSettings.HttpsUrls(urls);
        if (string.IsNullOrEmpty(options.Certificate))
        {
            if (!string.IsNullOrEmpty(options.Key) || !string.IsNullOrEmpty(options.Password))
            {
                problems.Add("Wharf:Tls:Key or Wharf:Tls:Password is set but Wharf:Tls:Certificate is not: set the certificate file too.");
            }

            if (httpsUrls.Count > 0)
            {
                problems.Add($"The listen address '{httpsUrls[0]}' is https:// but Wharf:Tls:Certificate is not set: set it (and Wharf:Tls:Key) to the server's certificate, "
                    + "for instance one made by 'dotnet Wharf.Server.dll certificate create', or listen on http:// only.");
            }

            return new ServerTls(null, [], problems, warnings);
        }

        var (certificate, chain) = TlsFileReader.Read(options, problems, warnings);
        if (certificate is not null)
        {
            Check(certificate, httpsUrls, urls, now, warnings);
        }

        return new ServerTls(problems.Count == 0 ? certificate : null, chain, problems, warnings);
    }

    /// <summary>
    /// Makes the certificate Kestrel's default for https:// endpoints. Called before any other
    /// Kestrel configuration, so that endpoints bound there find the default in place.
    /// </summary>
    public void Apply(WebApplicationBuilder builder)
    {
        if (Certificate is null)
        {
            return;
        }

        // The slim builder leaves out binding https:// URLs; this brings it back.
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureHttpsDefaults(Use));
        builder.Services.AddSingleton(_ => this);
        builder.Services.AddHostedService<ServerTlsReport>();
    }

    /// <summary>Sets the certificate (and its chain) on one endpoint's HTTPS options.</summary>
    public void Use(HttpsConnectionAdapterOptions https)
    {
        https.ServerCertificate = Certificate;
        https.ServerCertificateChain = Chain;
    }

    public void Dispose()
    {
        Certificate?.Dispose();
        foreach (var certificate in Chain)
        {
            certificate.Dispose();
        }
    }

    /// <summary>What clients may object to; none of it stops the start.</summary>
    private static void Check(X509Certificate2 certificate, IReadOnlyList<string> httpsUrls, string? urls, DateTimeOffset now, List<string> warnings)
    {
        var name = $"The TLS certificate ({certificate.Subject}, valid {certificate.NotBefore.ToUniversalTime():yyyy-MM-dd HH:mm} to {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC)";
        if (now.UtcDateTime > certificate.NotAfter.ToUniversalTime())
        {
            warnings.Add($"{name} has expired: clients that verify it refuse to connect ('x509: certificate has expired or is not yet valid'); renew it.");
        }
        else if (now.UtcDateTime < certificate.NotBefore.ToUniversalTime())
        {
            warnings.Add($"{name} is not valid yet: clients that verify it refuse to connect; check this machine's clock.");
        }
        else if (certificate.NotAfter.ToUniversalTime() - now.UtcDateTime < ExpiryWarning)
        {
            warnings.Add($"{name} expires within {ExpiryWarning.TotalDays:0} days; renew it.");
        }

        if (certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault() is { } usage
            && !usage.EnhancedKeyUsages.Cast<Oid>().Any(oid => oid.Value == ServerAuthOid))
        {
            warnings.Add($"{name} is not for server authentication (its extended key usage lacks serverAuth): clients refuse it.");
        }

        if (certificate.Extensions["2.5.29.17"] is null)
        {
            warnings.Add($"{name} has no subjectAltName: current clients (docker, skopeo, podman: Go 1.15 and later) refuse a certificate that names its host only in the Common Name.");
        }
        else
        {
            foreach (var url in httpsUrls)
            {
                var host = BindingAddress.Parse(url).Host.Trim('[', ']');
                if (host is not ("*" or "+" or "0.0.0.0" or "::") && !certificate.MatchesHostname(host))
                {
                    warnings.Add($"{name} does not name '{host}' (listen address '{url}'): clients that connect by that name refuse it.");
                }
            }
        }

        if (httpsUrls.Count == 0)
        {
            warnings.Add($"Wharf:Tls:Certificate is set but no listen address is https:// (urls: '{urls}'): nothing serves it. Listen on https as well, e.g. ASPNETCORE_URLS='https://0.0.0.0:8443;http://127.0.0.1:8081'.");
        }
    }
}

/// <summary>Logs the certificate in use and every warning about it once, when the host starts.</summary>
internal sealed partial class ServerTlsReport(ServerTls tls, ILogger<ServerTls> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var certificate = tls.Certificate!;
        CertificateInUse(logger, certificate.Subject, certificate.NotAfter.ToUniversalTime(), certificate.GetCertHashString(HashAlgorithmName.SHA256));
        foreach (var warning in tls.Warnings)
        {
            CertificateWarning(logger, warning);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(60, LogLevel.Information, "TLS certificate {Subject}, valid until {NotAfter:u}, SHA-256 {Fingerprint}")]
    private static partial void CertificateInUse(ILogger logger, string subject, DateTime notAfter, string fingerprint);

    [LoggerMessage(61, LogLevel.Warning, "{Warning}")]
    private static partial void CertificateWarning(ILogger logger, string warning);
}
