using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Wharf.Server.Hosting;

namespace Wharf.Server.Tests.Support;

/// <summary>
/// A private CA and a server certificate for localhost and 127.0.0.1, written by the real
/// <c>certificate create</c> command (in-process) to a temporary folder, removed on dispose; and
/// clients that trust that CA and nothing else.
/// </summary>
public sealed class TlsFiles : IDisposable
{
    private TlsFiles(string directory)
    {
        Directory = directory;
        CertDir = Path.Combine(directory, "cert-dir");
    }

    /// <summary>The folder the command wrote ca.crt, ca.key, server.crt and server.key to.</summary>
    public string Directory { get; }

    public string CaFile => Path.Combine(Directory, "ca.crt");

    /// <summary>A folder holding only ca.crt, as skopeo's and podman's --cert-dir want it (a *.key there would be taken for a client key).</summary>
    public string CertDir { get; }

    /// <summary>Runs <c>certificate create --out &lt;new folder&gt; --host localhost --ip 127.0.0.1</c> with <paramref name="extra"/> arguments.</summary>
    public static async Task<TlsFiles> CreateAsync(params string[] extra)
    {
        var files = new TlsFiles(Path.Combine(Path.GetTempPath(), "wharf-tls-" + Guid.NewGuid().ToString("N")));
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await Commands.TryRunAsync(["certificate", "create", "--out", files.Directory, "--host", "localhost", "--ip", "127.0.0.1", .. extra], output, error);
        Assert.True(exitCode == 0, $"certificate create exited {exitCode}: {error}");
        System.IO.Directory.CreateDirectory(files.CertDir);
        File.Copy(files.CaFile, Path.Combine(files.CertDir, "ca.crt"));
        return files;
    }

    /// <summary>An HTTP client for <paramref name="baseAddress"/> that trusts this CA alone (a full chain and host name check).</summary>
    public HttpClient Client(Uri baseAddress, string? user = null, string? password = null)
    {
        var client = new HttpClient(Handler()) { BaseAddress = baseAddress };
        if (user is not null)
        {
            client.DefaultRequestHeaders.Authorization = WharfServer.Basic(user, password ?? "");
        }

        return client;
    }

    /// <summary>
    /// A handler that trusts this CA alone (a full chain and host name check), follows no redirect
    /// and uses no proxy; with <paramref name="allToLoopback"/> every host name connects to
    /// 127.0.0.1 while the URL's name stays the SNI name and <c>Host</c>, as a DNS entry would make it.
    /// </summary>
    public SocketsHttpHandler Handler(bool allToLoopback = false)
    {
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.Add(X509CertificateLoader.LoadCertificateFromFile(CaFile));
        var handler = new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false, UseProxy = false };
        handler.SslOptions.CertificateChainPolicy = policy;
        if (allToLoopback)
        {
            handler.ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, context.DnsEndPoint.Port), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }

        return handler;
    }

    public void Dispose()
    {
        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}
