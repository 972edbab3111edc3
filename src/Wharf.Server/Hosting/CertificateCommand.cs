using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Wharf.Server.Hosting;

/// <summary>
/// <c>certificate create</c>: a private CA and a server certificate it signs, as PEM files Wharf
/// (<c>Wharf:Tls</c>) and its clients use directly. Existing files are never replaced without
/// <c>--force</c>; a CA already in the folder signs the new server certificate (renewal: clients
/// keep trusting it) unless <c>--new-ca</c>.
/// </summary>
internal static class CertificateCommand
{
    public const string Usage = """
        Usage: dotnet Wharf.Server.dll certificate create --out <dir> --host <name> [--host <name> ...] [--ip <address> ...]
                                                          [--wildcard] [--days <n>] [--key ecdsa|rsa] [--new-ca] [--force]

        Writes to <dir> (created when missing) a private CA and a server certificate it signs, as PEM:
          ca.crt      the CA certificate: what clients trust
          ca.key      the CA's private key (mode 0600): needed only to sign server certificates
          server.crt  the server certificate followed by the CA (Wharf:Tls:Certificate)
          server.key  the server's private key (mode 0600, Wharf:Tls:Key)

          --out <dir>       the folder to write to (required)
          --host <name>     a DNS name clients connect to (repeatable); the first one is the Common Name
          --ip <address>    an IP address clients connect to (repeatable), e.g. 10.0.0.5 or ::1
          --wildcard        also *.<name> for every --host: needed for the subdomain access method (<repoKey>.<name>)
          --days <n>        how long the server certificate is valid, 1 to 3650 days (default 825; Apple clients refuse longer)
          --key ecdsa|rsa   ECDSA P-256 keys (default) or RSA 3072
          --new-ca          make a new CA even when <dir> holds one (with --force to replace it)
          --force           replace files that exist

        When <dir> already holds ca.crt and ca.key, that CA signs the new server certificate, so
        clients that trust it need nothing new. Exit code 0 when done, 2 for bad arguments or files
        in the way (nothing written), 1 when writing failed.
        """;

    public static async Task<int> RunAsync(string[] arguments, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (arguments.Length == 0)
        {
            await error.WriteLineAsync(Usage.AsMemory(), cancellationToken);
            return Commands.BadArguments;
        }

        if (arguments is ["--help" or "-h" or "help", ..] || arguments is ["create", .. var rest] && rest.Any(a => a is "--help" or "-h"))
        {
            await output.WriteLineAsync(Usage.AsMemory(), cancellationToken);
            return 0;
        }

        if (arguments[0] != "create")
        {
            return await FailAsync(error, $"unknown subcommand '{arguments[0]}'; the certificate command has one: create.", cancellationToken);
        }

        var (options, problem) = CertificateArguments.Parse(arguments[1..]);
        if (problem is not null)
        {
            return await FailAsync(error, problem, cancellationToken);
        }

        return await CreateAsync(options!, TimeProvider.System.GetUtcNow(), output, error, cancellationToken);
    }

    /// <summary>Makes and writes the files of <paramref name="options"/>; <paramref name="now"/> is when the certificates start.</summary>
    internal static async Task<int> CreateAsync(CertificateArguments options, DateTimeOffset now, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var dir = Path.GetFullPath(options.Out);
        var (caCrt, caKey, serverCrt, serverKey) = (Path.Join(dir, "ca.crt"), Path.Join(dir, "ca.key"), Path.Join(dir, "server.crt"), Path.Join(dir, "server.key"));
        var haveCrt = File.Exists(caCrt);
        var haveKey = File.Exists(caKey);
        if (!options.NewCa && haveCrt != haveKey)
        {
            return await FailAsync(error, $"{dir} holds {(haveCrt ? "ca.crt but no ca.key" : "ca.key but no ca.crt")}: restore the missing file, or pass --new-ca --force to replace the CA.", cancellationToken);
        }

        var reuseCa = !options.NewCa && haveCrt && haveKey;
        string[] targets = reuseCa ? [serverCrt, serverKey] : [caCrt, caKey, serverCrt, serverKey];
        var inTheWay = targets.Where(File.Exists).Select(Path.GetFileName).ToList();
        if (inTheWay.Count > 0 && !options.Force)
        {
            return await FailAsync(error, $"{dir} already holds {string.Join(", ", inTheWay)}: pass --force to replace {(inTheWay.Count == 1 ? "it" : "them")}.", cancellationToken);
        }

        var spec = options.Spec;
        X509Certificate2 ca;
        if (reuseCa)
        {
            try
            {
                ca = X509Certificate2.CreateFromPemFile(caCrt, caKey);
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException or IOException or UnauthorizedAccessException)
            {
                return await FailAsync(error, $"the CA in {dir} cannot be used (ca.key must be the unencrypted key of ca.crt): {e.Message} Pass --new-ca --force to replace it.", cancellationToken);
            }

            if (!CertificateMaker.IsCa(ca) || ca.NotAfter.ToUniversalTime() < now.UtcDateTime.AddDays(spec.Days))
            {
                var reason = CertificateMaker.IsCa(ca) ? $"expires on {ca.NotAfter.ToUniversalTime():yyyy-MM-dd}, before a server certificate of {spec.Days} days would" : "is not a CA certificate";
                ca.Dispose();
                return await FailAsync(error, $"{caCrt} {reason}: pass fewer --days, or --new-ca --force to make a new CA.", cancellationToken);
            }
        }
        else
        {
            var lifetime = TimeSpan.FromDays(spec.Days + 1) > CertificateMaker.CaLifetime ? TimeSpan.FromDays(spec.Days + 1) : CertificateMaker.CaLifetime;
            ca = CertificateMaker.CreateCa(spec.CommonName, spec.Key, now, lifetime);
        }

        using (ca)
        using (var server = CertificateMaker.CreateServer(ca, spec, now))
        {
            var files = new List<(string Path, string Text, bool Secret)>();
            if (!reuseCa)
            {
                files.Add((caCrt, ca.ExportCertificatePem() + "\n", false));
                files.Add((caKey, CertificateMaker.PrivateKeyPem(ca) + "\n", true));
            }

            files.Add((serverCrt, server.ExportCertificatePem() + "\n" + ca.ExportCertificatePem() + "\n", false));
            files.Add((serverKey, CertificateMaker.PrivateKeyPem(server) + "\n", true));
            try
            {
                Directory.CreateDirectory(dir);
                foreach (var (path, text, secret) in files)
                {
                    await WriteAsync(path, text, secret, options.Force, cancellationToken);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await error.WriteLineAsync($"certificate create: writing to {dir} failed: {e.Message}".AsMemory(), cancellationToken);
                return 1;
            }

            await output.WriteAsync(CertificateReport.Text(dir, ca, server, spec, reuseCa).AsMemory(), cancellationToken);
        }

        return 0;
    }

    /// <summary>
    /// Writes a new file beside the target with its final mode from the start (0600 for keys: never
    /// readable by others, not even briefly), then renames it into place.
    /// </summary>
    private static async Task WriteAsync(string path, string text, bool secret, bool replace, CancellationToken cancellationToken)
    {
        var temporary = Path.Join(Path.GetDirectoryName(path), $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        var mode = secret ? UnixFileMode.UserRead | UnixFileMode.UserWrite
            : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            create.UnixCreateMode = mode;
        }

        try
        {
            await using (var stream = new FileStream(temporary, create))
            {
                await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(text), cancellationToken);
                await stream.FlushAsync(cancellationToken);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: replace);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private static async Task<int> FailAsync(TextWriter error, string message, CancellationToken cancellationToken)
    {
        await error.WriteLineAsync($"certificate: {message}{Environment.NewLine}Run 'dotnet Wharf.Server.dll certificate --help' for usage.".AsMemory(), cancellationToken);
        return Commands.BadArguments;
    }
}

/// <summary>The parsed arguments of <c>certificate create</c>.</summary>
internal sealed record CertificateArguments(string Out, ServerCertificateSpec Spec, bool Force, bool NewCa)
{
    /// <summary>825 days: the longest validity Apple's clients accept for a TLS server certificate.</summary>
    public const int DefaultDays = 825;

    private static readonly string[] Flags = ["--wildcard", "--force", "--new-ca"];
    private static readonly string[] Valued = ["--out", "--host", "--ip", "--days", "--key"];

    /// <summary>The arguments after <c>create</c>, or the first problem with them as a sentence.</summary>
    public static (CertificateArguments? Arguments, string? Problem) Parse(IReadOnlyList<string> arguments)
    {
        var values = Valued.ToDictionary(v => v, _ => new List<string>(), StringComparer.Ordinal);
        var flags = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < arguments.Count; i++)
        {
            var (name, value) = arguments[i].Split('=', 2) is [var n, var v] && n.StartsWith("--", StringComparison.Ordinal) ? (n, v) : (arguments[i], null);
            if (Flags.Contains(name, StringComparer.Ordinal) && value is null)
            {
                flags.Add(name);
            }
            else if (values.TryGetValue(name, out var list))
            {
                if (value is null && (i + 1 >= arguments.Count || arguments[i + 1].StartsWith("--", StringComparison.Ordinal)))
                {
                    return (null, $"{name} needs a value.");
                }

                list.Add(value ?? arguments[++i]);
            }
            else
            {
                return (null, name.StartsWith('-') ? $"unknown option '{arguments[i]}'." : $"unexpected argument '{arguments[i]}'.");
            }
        }

        if (values["--out"] is not [var outDir] || string.IsNullOrWhiteSpace(outDir))
        {
            return (null, values["--out"].Count > 1 ? "--out may be given once." : "--out <dir> is required: the folder to write the files to.");
        }

        var hosts = new List<string>();
        foreach (var host in values["--host"])
        {
            if (HostProblem(host) is { } hostProblem)
            {
                return (null, hostProblem);
            }

            hosts.Add(host.ToLowerInvariant());
        }

        var addresses = new List<IPAddress>();
        foreach (var ip in values["--ip"])
        {
            if (!TryParseAddress(ip, out var address))
            {
                return (null, $"--ip '{ip}' is not an IP address (e.g. 10.0.0.5 or fd00::5, without brackets or zone).");
            }

            addresses.Add(address);
        }

        if (hosts.Count + addresses.Count == 0)
        {
            return (null, "give at least one --host or --ip: the names clients connect to.");
        }

        var days = DefaultDaysOr(values["--days"]);
        if (days is null)
        {
            return (null, "--days must be a whole number of days from 1 to 3650, given once.");
        }

        var key = values["--key"] switch
        {
            [] or ["ecdsa"] => CertificateKeyKind.Ecdsa,
            ["rsa"] => CertificateKeyKind.Rsa,
            _ => (CertificateKeyKind?)null,
        };
        if (key is null)
        {
            return (null, "--key must be ecdsa or rsa, given once.");
        }

        var spec = new ServerCertificateSpec([.. hosts.Distinct(StringComparer.Ordinal)], [.. addresses.Distinct()], flags.Contains("--wildcard"), days.Value, key.Value);
        return (new CertificateArguments(outDir, spec, flags.Contains("--force"), flags.Contains("--new-ca")), null);
    }

    private static int? DefaultDaysOr(List<string> given) => given switch
    {
        [] => DefaultDays,
        [var text] when int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var days) && days is >= 1 and <= 3650 => days,
        _ => null,
    };

    /// <summary>Why <paramref name="host"/> is no DNS name a certificate can carry; null when it is one.</summary>
    private static string? HostProblem(string host)
    {
        if (string.IsNullOrWhiteSpace(host))
        {
            return "--host must not be empty.";
        }

        if (TryParseAddress(host, out _) || host.StartsWith('['))
        {
            return $"--host '{host}' is an IP address: pass it with --ip.";
        }

        if (host.StartsWith("*.", StringComparison.Ordinal))
        {
            return $"--host '{host}': give the name without '*.' and add --wildcard.";
        }

        if (host.Any(c => c > 127))
        {
            return $"--host '{host}': give a non-ASCII name in its ASCII (xn--) form.";
        }

        var labels = host.Split('.');
        return host.Length > 253 || labels.Any(l => l.Length is 0 or > 63 || l[0] == '-' || l[^1] == '-' || !l.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            ? $"--host '{host}' is not a DNS name (labels of letters, digits and '-', separated by dots)."
            : null;
    }

    /// <summary>Dotted-quad IPv4 (four decimal parts) or IPv6 without zone; not the short forms IPAddress also takes ("10.1", "1").</summary>
    private static bool TryParseAddress(string text, out IPAddress address) =>
        IPAddress.TryParse(text, out address!) && !text.Contains('%', StringComparison.Ordinal) && !text.Contains('[', StringComparison.Ordinal)
        && (text.Contains(':', StringComparison.Ordinal) || text.Split('.') is { Length: 4 } parts && parts.All(p => p.Length is >= 1 and <= 3 && p.All(char.IsAsciiDigit)));
}
