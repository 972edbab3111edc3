using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Wharf.Server.Hosting;

/// <summary>What <c>certificate create</c> prints: the files it wrote, and how Wharf and its clients use them.</summary>
internal static class CertificateReport
{
    /// <summary>The port the examples use; any https:// port works.</summary>
    private const int ExamplePort = 8443;

    public static string Text(string dir, X509Certificate2 ca, X509Certificate2 server, ServerCertificateSpec spec, bool reusedCa)
    {
        var caCrt = Path.Join(dir, "ca.crt");
        var host = spec.Hosts.Count > 0 ? spec.Hosts[0]
            : spec.Addresses[0].AddressFamily == AddressFamily.InterNetworkV6 ? $"[{spec.Addresses[0]}]" : spec.Addresses[0].ToString();
        var registry = $"{host}:{ExamplePort}";
        var names = string.Join(", ", spec.DnsNames.Select(n => "DNS:" + n).Concat(spec.Addresses.Select(a => "IP:" + a)));
        var text = new StringBuilder();
        text.AppendLine($"Wrote to {dir}:");
        if (reusedCa)
        {
            text.AppendLine($"  (ca.crt, ca.key   kept: the existing CA \"{ca.Subject}\" signed the new server certificate)");
        }
        else
        {
            text.AppendLine($"  ca.crt      the CA \"{ca.Subject}\", valid until {ca.NotAfter.ToUniversalTime():yyyy-MM-dd}");
            text.AppendLine($"              SHA-256 fingerprint {Fingerprint(ca)}");
            text.AppendLine("  ca.key      the CA's private key (mode 0600): keep it safe; it is needed only to sign server certificates");
        }

        text.AppendLine($"  server.crt  the server certificate for {names}, valid until {server.NotAfter.ToUniversalTime():yyyy-MM-dd}, followed by the CA");
        text.AppendLine("  server.key  the server's private key (mode 0600)");
        text.AppendLine();
        text.AppendLine("Serve HTTPS with Wharf (environment variables, or the Wharf:Tls section of appsettings.json):");
        text.AppendLine($"  export Wharf__Tls__Certificate={Path.Join(dir, "server.crt")}");
        text.AppendLine($"  export Wharf__Tls__Key={Path.Join(dir, "server.key")}");
        text.AppendLine($"  export ASPNETCORE_URLS='https://0.0.0.0:{ExamplePort};http://127.0.0.1:8081'");
        text.AppendLine();
        text.AppendLine("Trust the CA on a Debian client (curl, skopeo, podman; docker's daemon after a restart):");
        text.AppendLine($"  sudo cp {caCrt} /usr/local/share/ca-certificates/wharf-ca.crt && sudo update-ca-certificates");
        text.AppendLine("Or for docker and this registry only (no restart needed; the folder is host:port, just host for port 443):");
        text.AppendLine($"  sudo mkdir -p /etc/docker/certs.d/{registry} && sudo cp {caCrt} /etc/docker/certs.d/{registry}/ca.crt");
        text.AppendLine("skopeo, podman, buildah read /etc/containers/certs.d/<host:port>/ and /etc/docker/certs.d/<host:port>/, or");
        text.AppendLine("  --cert-dir <a folder holding only ca.crt> (skopeo copy: --src-cert-dir, --dest-cert-dir); not this folder:");
        text.AppendLine("  they take every *.key in it for a client key and fail ('missing client certificate ca.cert for key ca.key')");
        text.AppendLine($"curl: --cacert {caCrt}");
        text.AppendLine();
        text.AppendLine("Without the CA, clients can skip verification instead (still encrypted, but anyone on the path can");
        text.AppendLine($"pose as the registry): dockerd --insecure-registry {registry}, or in /etc/docker/daemon.json");
        text.AppendLine($"{{\"insecure-registries\":[\"{registry}\"]}}; skopeo and podman --tls-verify=false.");
        return text.ToString();
    }

    private static string Fingerprint(X509Certificate2 certificate) =>
        string.Join(':', certificate.GetCertHashString(HashAlgorithmName.SHA256).Chunk(2).Select(pair => new string(pair)));
}
