using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Wharf.Server.Tests.Support;

/// <summary>
/// Debian's nginx and Apache httpd (scripts/test.sh installs both) run on generated files: their
/// own syntax checks (<c>nginx -t</c>, <c>apache2 -t</c>) and nginx as a real proxy in front of a
/// test Wharf. Each run gets a private folder for its main configuration, pid, logs and temporary
/// files, so nothing needs root or touches /etc, /var/log or /run.
/// </summary>
internal static class WebServers
{
    public const string Nginx = "/usr/sbin/nginx";
    public const string Apache = "/usr/sbin/apache2";
    private const string ApacheModules = "/usr/lib/apache2/modules";

    /// <summary>The modules a generated Apache file needs (rest-api §7.3), besides the MPM and authorization.</summary>
    public static readonly string[] ProxyModules = ["ssl", "proxy", "proxy_http", "rewrite", "headers", "env"];

    public static string NewDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "wharf-proxy-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        return directory;
    }

    /// <summary>An nginx main configuration whose http {} block includes <paramref name="site"/>; everything nginx writes stays in <paramref name="directory"/>.</summary>
    public static string NginxMain(string directory, string site)
    {
        var include = Path.Combine(directory, "wharf.conf");
        File.WriteAllText(include, site);
        var main = Path.Combine(directory, "nginx.conf");
        File.WriteAllText(main, $$"""
            pid {{directory}}/nginx.pid;
            error_log {{directory}}/error.log;
            daemon off;
            master_process off;
            events {}
            http {
                access_log {{directory}}/access.log;
                client_body_temp_path {{directory}}/client_body;
                proxy_temp_path {{directory}}/proxy;
                fastcgi_temp_path {{directory}}/fastcgi;
                uwsgi_temp_path {{directory}}/uwsgi;
                scgi_temp_path {{directory}}/scgi;
                include {{include}};
            }
            """);
        return main;
    }

    /// <summary><c>nginx -t</c> on <paramref name="site"/> inside an http {} block: the exit code and what nginx said.</summary>
    public static async Task<(int ExitCode, string Output)> NginxTestAsync(string site)
    {
        var directory = NewDirectory();
        try
        {
            return await RunAsync(Nginx, "-t", "-p", directory + "/", "-e", Path.Combine(directory, "error.log"), "-c", NginxMain(directory, site));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// <c>apache2 -t</c> on <paramref name="site"/> inside a main configuration that loads
    /// <paramref name="modules"/> from Debian's module folder and, as Debian's ports.conf does,
    /// listens on 80 and 443.
    /// </summary>
    public static async Task<(int ExitCode, string Output)> ApacheTestAsync(string site, IEnumerable<string>? modules = null)
    {
        var directory = NewDirectory();
        try
        {
            return await RunAsync(Apache, "-t", "-f", ApacheMain(directory, site, modules));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// An Apache main configuration that loads <paramref name="modules"/> and includes <paramref name="site"/>;
    /// for a syntax check it also listens on 80 and 443 as Debian's ports.conf does; for a
    /// <paramref name="running"/> server it listens on the site's (loopback) ports alone and, when
    /// started as root, serves requests as www-data, as Debian's apache2.conf does.
    /// </summary>
    public static string ApacheMain(string directory, string site, IEnumerable<string>? modules, bool running = false)
    {
        File.WriteAllText(Path.Combine(directory, "wharf.conf"), site);
        var loads = new[] { "mpm_event", "authz_core" }.Concat(modules ?? ProxyModules)
            .Select(m => $"LoadModule {m}_module {ApacheModules}/mod_{m}.so");
        var main = Path.Combine(directory, "apache2.conf");
        File.WriteAllText(main, string.Join('\n', [
            $"ServerRoot {directory}",
            $"DefaultRuntimeDir {directory}",
            $"PidFile {directory}/apache2.pid",
            $"ErrorLog {directory}/error.log",
            .. loads,
            "ServerName localhost",
            .. running ? new[] { "User www-data", "Group www-data" } : ["Listen 80", "<IfModule ssl_module>", "    Listen 443", "</IfModule>"],
            $"Include {directory}/wharf.conf",
            "",
        ]));
        return main;
    }

    /// <summary>A throwaway self-signed PEM certificate and key for <paramref name="host"/> in <paramref name="directory"/>.</summary>
    public static (string Certificate, string Key) SelfSignedPem(string directory, string host)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={host}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(host);
        names.AddDnsName("*." + host);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var (certificatePath, keyPath) = (Path.Combine(directory, "wharf.crt"), Path.Combine(directory, "wharf.key"));
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certificatePath, keyPath);
    }

    /// <summary>Waits up to 10 s for <paramref name="port"/> on 127.0.0.1 to accept; false when it does not or <paramref name="process"/> exited.</summary>
    public static async Task<bool> WaitForPortAsync(int port, Process process)
    {
        for (var attempt = 0; attempt < 100 && !process.HasExited; attempt++)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return true;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        return false;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static async Task<(int ExitCode, string Output)> RunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await error);
    }
}
