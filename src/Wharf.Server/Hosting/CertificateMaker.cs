using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Wharf.Server.Hosting;

/// <summary>The key algorithm of the certificates <see cref="CertificateMaker"/> makes.</summary>
internal enum CertificateKeyKind
{
    /// <summary>ECDSA on P-256 with SHA-256: small, fast, and understood by every docker since 1.6 (Go's crypto/tls).</summary>
    Ecdsa,

    /// <summary>RSA 3072 with SHA-256 (PKCS#1 v1.5), for clients or policies that want RSA.</summary>
    Rsa,
}

/// <summary>What the server certificate names and how long it lives.</summary>
/// <param name="Hosts">DNS names, lower-case and valid; the first (else the first address) is the Common Name.</param>
/// <param name="Addresses">IP addresses clients connect to.</param>
/// <param name="Wildcard">Also <c>*.host</c> for every host (the subdomain access method: <c>&lt;repoKey&gt;.host</c>).</param>
internal sealed record ServerCertificateSpec(IReadOnlyList<string> Hosts, IReadOnlyList<IPAddress> Addresses, bool Wildcard, int Days, CertificateKeyKind Key)
{
    /// <summary>Every DNS name of the subjectAltName, wildcards after their host.</summary>
    public IReadOnlyList<string> DnsNames => [.. Hosts.SelectMany(h => Wildcard ? new[] { h, "*." + h } : [h])];

    public string CommonName => Hosts.Count > 0 ? Hosts[0] : Addresses[0].ToString();
}

/// <summary>
/// A private CA and the server certificates it signs, with .NET's own
/// <see cref="CertificateRequest"/> and no other tool. The CA is a root (basic constraints CA,
/// path length 0, key usage certificate and CRL signing); a server certificate carries basic
/// constraints not-CA, digital signature key usage (and key encipherment for RSA), the serverAuth
/// extended key usage, a subjectAltName with every DNS name and IP address (clients match only
/// those, never the Common Name), and key identifiers linking it to the CA.
/// </summary>
internal static class CertificateMaker
{
    /// <summary>A CA lives at least this long, so that server certificates can be renewed under it.</summary>
    public static readonly TimeSpan CaLifetime = TimeSpan.FromDays(3650);

    /// <summary>Certificates start this much before now, for clients whose clock runs a little behind.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";

    /// <summary>A new self-signed CA with its private key, valid from <paramref name="now"/> (less the skew) for <paramref name="lifetime"/>.</summary>
    public static X509Certificate2 CreateCa(string forName, CertificateKeyKind kind, DateTimeOffset now, TimeSpan lifetime)
    {
        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName($"Wharf CA for {forName} {now.UtcDateTime:yyyy-MM-dd HH:mm:ss}");
        subject.AddOrganizationName("Wharf");
        using var key = NewKey(kind);
        var request = Request(subject.Build(), key);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        var identifier = new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false);
        request.CertificateExtensions.Add(identifier);
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(identifier));
        return request.CreateSelfSigned(now - ClockSkew, now + lifetime);
    }

    /// <summary>A server certificate for <paramref name="spec"/> signed by <paramref name="ca"/> (which must hold its private key), with its own new private key.</summary>
    public static X509Certificate2 CreateServer(X509Certificate2 ca, ServerCertificateSpec spec, DateTimeOffset now)
    {
        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName(spec.CommonName);
        using var key = NewKey(spec.Key);
        var request = Request(subject.Build(), key);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        var usage = X509KeyUsageFlags.DigitalSignature | (spec.Key == CertificateKeyKind.Rsa ? X509KeyUsageFlags.KeyEncipherment : X509KeyUsageFlags.None);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ServerAuthOid)], critical: false));
        var names = new SubjectAlternativeNameBuilder();
        foreach (var dns in spec.DnsNames)
        {
            names.AddDnsName(dns);
        }

        foreach (var address in spec.Addresses)
        {
            names.AddIpAddress(address);
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));

        // A positive 128-bit serial number (RFC 5280 §4.1.2.2: at most 20 octets, unique per CA).
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x40);
        // Signed by the CA's key, whatever its algorithm (an RSA server certificate under an ECDSA CA too).
        using var caEcdsa = ca.GetECDsaPrivateKey();
        using var caRsa = caEcdsa is null ? ca.GetRSAPrivateKey() : null;
        var signer = caEcdsa is not null ? X509SignatureGenerator.CreateForECDsa(caEcdsa)
            : caRsa is not null ? X509SignatureGenerator.CreateForRSA(caRsa, RSASignaturePadding.Pkcs1)
            : throw new InvalidOperationException("The CA has no ECDSA or RSA private key");
        using var signed = request.Create(ca.SubjectName, signer, now - ClockSkew, now.AddDays(spec.Days), serial);
        return key switch
        {
            ECDsa ecdsa => signed.CopyWithPrivateKey(ecdsa),
            RSA rsa => signed.CopyWithPrivateKey(rsa),
            _ => throw new InvalidOperationException("Unknown key type"),
        };
    }

    /// <summary>The certificate's private key as PEM (<c>PRIVATE KEY</c>, PKCS#8, unencrypted).</summary>
    public static string PrivateKeyPem(X509Certificate2 certificate)
    {
        using AsymmetricAlgorithm key = (AsymmetricAlgorithm?)certificate.GetECDsaPrivateKey() ?? certificate.GetRSAPrivateKey()
            ?? throw new InvalidOperationException("The certificate has no ECDSA or RSA private key");
        return key.ExportPkcs8PrivateKeyPem();
    }

    /// <summary>Whether the certificate is a CA (basic constraints).</summary>
    public static bool IsCa(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault()?.CertificateAuthority == true;

    private static AsymmetricAlgorithm NewKey(CertificateKeyKind kind) =>
        kind == CertificateKeyKind.Rsa ? RSA.Create(3072) : ECDsa.Create(ECCurve.NamedCurves.nistP256);

    private static CertificateRequest Request(X500DistinguishedName subject, AsymmetricAlgorithm key) => key switch
    {
        ECDsa ecdsa => new CertificateRequest(subject, ecdsa, HashAlgorithmName.SHA256),
        RSA rsa => new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        _ => throw new InvalidOperationException("Unknown key type"),
    };
}
