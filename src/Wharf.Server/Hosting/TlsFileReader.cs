using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Wharf.Server.Hosting;

/// <summary>
/// Reads the files of <see cref="TlsOptions"/>: a PEM chain with its key (in the same file or in
/// <c>Wharf:Tls:Key</c>, plain or <c>ENCRYPTED PRIVATE KEY</c>), or a PKCS#12 file. Each way it can
/// fail is one sentence naming the setting and the file; the key must be the certificate's own.
/// </summary>
internal static class TlsFileReader
{
    /// <summary>The HResult of the loader's "cannot be read with the provided password" (ERROR_INVALID_PASSWORD).</summary>
    private const int WrongPassword = unchecked((int)0x80070056);

    private static readonly string[] KeyLabels = ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY"];

    /// <summary>The certificate with its key and the chain after it, or nulls with the reasons in <paramref name="problems"/>.</summary>
    public static (X509Certificate2?, X509Certificate2Collection) Read(TlsOptions options, List<string> problems, List<string> warnings)
    {
        var path = options.Certificate!;
        if (ReadFile("Wharf:Tls:Certificate", path, problems) is not { } bytes)
        {
            return (null, []);
        }

        if (!IsPem(bytes))
        {
            if (!string.IsNullOrEmpty(options.Key))
            {
                problems.Add($"Wharf:Tls:Key is set but '{path}' is not a PEM certificate; a PKCS#12 file holds its own key: remove Wharf:Tls:Key.");
                return (null, []);
            }

            return ReadPkcs12(path, bytes, options.Password, problems);
        }

        X509Certificate2Collection certificates = [];
        var text = Encoding.UTF8.GetString(bytes);
        try
        {
            certificates.ImportFromPem(text);
        }
        catch (CryptographicException e)
        {
            problems.Add($"Wharf:Tls:Certificate '{path}' holds a certificate that cannot be read: {e.Message}");
            return (null, []);
        }

        if (certificates.Count == 0)
        {
            problems.Add($"Wharf:Tls:Certificate '{path}' holds no PEM certificate (-----BEGIN CERTIFICATE-----).");
            return (null, []);
        }

        var leaf = certificates[0];
        certificates.RemoveAt(0);
        string keyPath;
        string keyText;
        if (string.IsNullOrEmpty(options.Key))
        {
            (keyPath, keyText) = (path, text);
            if (!KeyLabelsIn(text).Any())
            {
                problems.Add($"Wharf:Tls:Key is not set and '{path}' holds no private key: set Wharf:Tls:Key to the certificate's PEM private key file.");
                return (null, []);
            }
        }
        else if (ReadFile("Wharf:Tls:Key", options.Key, problems) is { } keyBytes)
        {
            (keyPath, keyText) = (options.Key, Encoding.UTF8.GetString(keyBytes));
        }
        else
        {
            return (null, []);
        }

        var withKey = PemWithKey(leaf, path, keyPath, keyText, options.Password, problems, warnings);
        leaf.Dispose();
        return (withKey, certificates);
    }

    private static X509Certificate2? PemWithKey(X509Certificate2 leaf, string path, string keyPath, string keyText, string? password, List<string> problems, List<string> warnings)
    {
        var labels = KeyLabelsIn(keyText).ToList();
        if (labels.Count == 0)
        {
            problems.Add($"Wharf:Tls:Key '{keyPath}' holds no PEM private key ({string.Join(", ", KeyLabels)}; a legacy 'Proc-Type: 4,ENCRYPTED' key must first be converted: openssl pkcs8 -topk8).");
            return null;
        }

        var encrypted = labels.Contains("ENCRYPTED PRIVATE KEY", StringComparer.Ordinal);
        if (encrypted && string.IsNullOrEmpty(password))
        {
            problems.Add($"Wharf:Tls:Key '{keyPath}' is encrypted: set Wharf:Tls:Password to its password.");
            return null;
        }

        if (!encrypted && !string.IsNullOrEmpty(password))
        {
            warnings.Add($"Wharf:Tls:Password is set but the key '{keyPath}' is not encrypted; the password is not used.");
        }

        // The key's algorithm is whichever reads it; an encrypted key that neither reads is a wrong password.
        using var key = Import(RSA.Create, keyText, encrypted ? password : null) ?? Import(ECDsa.Create, keyText, encrypted ? password : null);
        if (key is null)
        {
            problems.Add(encrypted
                ? $"Wharf:Tls:Password does not decrypt the key '{keyPath}' (wrong password)."
                : $"Wharf:Tls:Key '{keyPath}' holds no RSA or ECDSA private key that can be read.");
            return null;
        }

        try
        {
            return key switch
            {
                RSA rsa => leaf.CopyWithPrivateKey(rsa),
                ECDsa ecdsa => leaf.CopyWithPrivateKey(ecdsa),
                _ => null,
            };
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            problems.Add($"Wharf:Tls:Key '{keyPath}' is not the private key of the certificate in '{path}' ({leaf.Subject}): the certificate and the key must belong together.");
            return null;
        }
    }

    private static AsymmetricAlgorithm? Import(Func<AsymmetricAlgorithm> create, string text, string? password)
    {
        var key = create();
        try
        {
            if (password is null)
            {
                key.ImportFromPem(text);
            }
            else
            {
                key.ImportFromEncryptedPem(text, password);
            }

            return key;
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            key.Dispose();
            return null;
        }
    }

    private static (X509Certificate2?, X509Certificate2Collection) ReadPkcs12(string path, byte[] bytes, string? password, List<string> problems)
    {
        X509Certificate2Collection all;
        try
        {
            // No password: a file written without one opens with null (no MAC, or one over the empty password).
            all = X509CertificateLoader.LoadPkcs12Collection(bytes, string.IsNullOrEmpty(password) ? null : password);
        }
        catch (CryptographicException e) when (e.HResult == WrongPassword)
        {
            problems.Add(string.IsNullOrEmpty(password)
                ? $"Wharf:Tls:Certificate '{path}' is protected by a password: set Wharf:Tls:Password."
                : $"Wharf:Tls:Password does not open '{path}' (wrong password).");
            return (null, []);
        }
        catch (CryptographicException e)
        {
            problems.Add($"Wharf:Tls:Certificate '{path}' is neither a PEM certificate nor a PKCS#12 file (.pfx/.p12) that can be read: {e.Message}");
            return (null, []);
        }

        var leaf = all.FirstOrDefault(c => c.HasPrivateKey);
        if (leaf is null)
        {
            problems.Add($"Wharf:Tls:Certificate '{path}' holds no private key: export the certificate together with its key.");
            foreach (var certificate in all)
            {
                certificate.Dispose();
            }

            return (null, []);
        }

        all.Remove(leaf);
        return (leaf, all);
    }

    private static byte[]? ReadFile(string setting, string path, List<string> problems)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            problems.Add($"{setting} '{path}' does not exist (looked for {Path.GetFullPath(path)}).");
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            problems.Add($"{setting} '{path}' cannot be read: {e.Message}");
        }

        return null;
    }

    private static bool IsPem(byte[] bytes) => bytes.AsSpan().IndexOf("-----BEGIN "u8) >= 0;

    private static IEnumerable<string> KeyLabelsIn(string text)
    {
        var rest = text.AsMemory();
        while (PemEncoding.TryFind(rest.Span, out var fields))
        {
            var label = rest.Span[fields.Label].ToString();
            if (KeyLabels.Contains(label, StringComparer.Ordinal))
            {
                yield return label;
            }

            rest = rest[fields.Location.End..];
        }
    }
}
