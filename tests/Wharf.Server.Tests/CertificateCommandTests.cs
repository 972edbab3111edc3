using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Wharf.Server.Hosting;

namespace Wharf.Server.Tests;

/// <summary>
/// <c>certificate create</c>, in-process through the command dispatcher (and once as the real
/// program): what the CA and the server certificate carry, the files and their modes, what it
/// prints, renewal under the same CA, and bad arguments (exit code 2, nothing written).
/// </summary>
public sealed class CertificateCommandTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "wharf-certcmd-" + Guid.NewGuid().ToString("N"));

    private string Out => Path.Combine(_root, "tls");

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task Writes_a_ca_and_a_server_certificate_it_signs_for_every_host_and_address()
    {
        var (exitCode, output, error) = await Run("--out", Out, "--host", "Registry.Example.com", "--host", "localhost", "--ip", "127.0.0.1", "--ip", "::1", "--wildcard", "--days", "90");
        Assert.True(exitCode == 0, error);
        Assert.Equal(["ca.crt", "ca.key", "server.crt", "server.key"], Directory.GetFiles(Out).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, Mode(Path.Combine(Out, "ca.key")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, Mode(Path.Combine(Out, "server.key")));
        Assert.Equal(UnixFileMode.OtherRead, Mode(Path.Combine(Out, "server.crt")) & UnixFileMode.OtherRead);

        using var ca = X509Certificate2.CreateFromPemFile(Path.Combine(Out, "ca.crt"), Path.Combine(Out, "ca.key"));
        var constraints = ca.Extensions.OfType<X509BasicConstraintsExtension>().Single();
        Assert.True(constraints.CertificateAuthority && constraints.Critical);
        Assert.True(ca.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages.HasFlag(X509KeyUsageFlags.KeyCertSign));
        Assert.NotNull(ca.GetECDsaPublicKey());

        using var server = X509Certificate2.CreateFromPemFile(Path.Combine(Out, "server.crt"), Path.Combine(Out, "server.key"));
        Assert.Equal("CN=registry.example.com", server.Subject);
        Assert.False(server.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.Equal("1.3.6.1.5.5.7.3.1", server.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Single().Value);
        var names = server.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["registry.example.com", "*.registry.example.com", "localhost", "*.localhost"], names.EnumerateDnsNames());
        Assert.Equal([IPAddress.Loopback, IPAddress.IPv6Loopback], names.EnumerateIPAddresses());
        Assert.True(server.MatchesHostname("docker-v2-local.registry.example.com"));
        Assert.InRange(server.NotAfter.ToUniversalTime(), DateTime.UtcNow.AddDays(89), DateTime.UtcNow.AddDays(91));
        Assert.True(ca.NotAfter > DateTime.Now.AddYears(9));

        // server.crt is the server certificate, then the CA; the chain verifies against the CA alone.
        X509Certificate2Collection pem = [];
        pem.ImportFromPemFile(Path.Combine(Out, "server.crt"));
        Assert.Equal([server.Thumbprint, ca.Thumbprint], pem.Select(c => c.Thumbprint));
        using var chain = new X509Chain { ChainPolicy = { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck } };
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.1"));
        Assert.True(chain.Build(server), string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation)));

        // What it prints: the files, the Wharf settings, and how clients trust the CA.
        Assert.Contains($"Wharf__Tls__Certificate={Path.Combine(Out, "server.crt")}", output, StringComparison.Ordinal);
        Assert.Contains($"Wharf__Tls__Key={Path.Combine(Out, "server.key")}", output, StringComparison.Ordinal);
        Assert.Contains("/usr/local/share/ca-certificates/wharf-ca.crt && sudo update-ca-certificates", output, StringComparison.Ordinal);
        Assert.Contains("/etc/docker/certs.d/registry.example.com:8443/ca.crt", output, StringComparison.Ordinal);
        Assert.Contains("insecure-registries", output, StringComparison.Ordinal);
        Assert.Contains("--cert-dir", output, StringComparison.Ordinal);
        Assert.Empty(error);
    }

    [Fact]
    public async Task Rsa_keys_on_request()
    {
        Assert.Equal(0, (await Run("--out", Out, "--ip", "10.1.2.3", "--key", "rsa")).ExitCode);
        using var server = X509Certificate2.CreateFromPemFile(Path.Combine(Out, "server.crt"), Path.Combine(Out, "server.key"));
        Assert.Equal(3072, server.GetRSAPublicKey()!.KeySize);
        Assert.Equal("CN=10.1.2.3", server.Subject);
        Assert.True(server.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages.HasFlag(X509KeyUsageFlags.KeyEncipherment));
    }

    [Fact]
    public async Task Existing_files_are_kept_unless_forced_and_a_renewal_keeps_the_ca()
    {
        Assert.Equal(0, (await Run("--out", Out, "--host", "localhost")).ExitCode);
        var first = Snapshot();

        var refused = await Run("--out", Out, "--host", "localhost");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("already holds server.crt, server.key: pass --force to replace them", refused.Error, StringComparison.Ordinal);
        Assert.Equal(first, Snapshot());

        // --force renews the server certificate under the CA that is there: clients trust it already.
        var renewed = await Run("--out", Out, "--host", "localhost", "--force");
        Assert.Equal(0, renewed.ExitCode);
        Assert.Contains("kept: the existing CA", renewed.Output, StringComparison.Ordinal);
        var second = Snapshot();
        Assert.Equal(first["ca.crt"], second["ca.crt"]);
        Assert.Equal(first["ca.key"], second["ca.key"]);
        Assert.NotEqual(first["server.crt"], second["server.crt"]);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, Mode(Path.Combine(Out, "server.key")));
        using var ca = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(Out, "ca.crt"));
        using var server = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(Out, "server.crt"));
        Assert.Equal(ca.Subject, server.Issuer);

        // A new CA needs --new-ca, and --force when one is there.
        Assert.Equal(2, (await Run("--out", Out, "--host", "localhost", "--new-ca")).ExitCode);
        Assert.Equal(0, (await Run("--out", Out, "--host", "localhost", "--new-ca", "--force")).ExitCode);
        Assert.NotEqual(first["ca.crt"], Snapshot()["ca.crt"]);
        Assert.Empty(Directory.GetFiles(Out, "*.tmp", SearchOption.AllDirectories).Concat(Directory.GetFiles(Out, ".*")));
    }

    [Fact]
    public async Task A_half_ca_or_a_ca_too_short_lived_is_refused()
    {
        Assert.Equal(0, (await Run("--out", Out, "--host", "localhost")).ExitCode);
        File.Delete(Path.Combine(Out, "ca.key"));
        var half = await Run("--out", Out, "--host", "localhost", "--force");
        Assert.Equal(2, half.ExitCode);
        Assert.Contains("holds ca.crt but no ca.key", half.Error, StringComparison.Ordinal);

        Assert.Equal(0, (await Run("--out", Out, "--host", "localhost", "--new-ca", "--force")).ExitCode);
        var tooLong = await Run("--out", Out, "--host", "localhost", "--force", "--days", "3650");
        Assert.Equal(2, tooLong.ExitCode);
        Assert.Contains("before a server certificate of 3650 days would", tooLong.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--out {out} --ip 1.2.3", "--ip '1.2.3' is not an IP address")]
    [InlineData("--out {out} --ip 300.1.1.1", "--ip '300.1.1.1' is not an IP address")]
    [InlineData("--out {out} --ip [::1]", "--ip '[::1]' is not an IP address")]
    [InlineData("--out {out} --host=", "--host must not be empty")]
    [InlineData("--out {out} --host 10.0.0.1", "--host '10.0.0.1' is an IP address: pass it with --ip")]
    [InlineData("--out {out} --host *.example.com", "give the name without '*.' and add --wildcard")]
    [InlineData("--out {out} --host bad_name.example", "--host 'bad_name.example' is not a DNS name")]
    [InlineData("--out {out} --host -x.example", "--host '-x.example' is not a DNS name")]
    [InlineData("--out {out} --host a..b", "--host 'a..b' is not a DNS name")]
    [InlineData("--out {out} --host bücher.example", "ASCII (xn--) form")]
    [InlineData("--out {out} --host a --bogus", "unknown option '--bogus'")]
    [InlineData("--out {out} --host a stray", "unexpected argument 'stray'")]
    [InlineData("--out {out} --host", "--host needs a value")]
    [InlineData("--out {out}", "give at least one --host or --ip")]
    [InlineData("--host a", "--out <dir> is required")]
    [InlineData("--out {out} --out {out} --host a", "--out may be given once")]
    [InlineData("--out {out} --host a --days 0", "--days must be a whole number of days from 1 to 3650")]
    [InlineData("--out {out} --host a --days 3651", "--days must be a whole number")]
    [InlineData("--out {out} --host a --days ten", "--days must be a whole number")]
    [InlineData("--out {out} --host a --key dsa", "--key must be ecdsa or rsa")]
    [InlineData("--out {out} --host a --force=yes", "unknown option '--force=yes'")]
    public async Task Bad_arguments_exit_2_with_a_clear_message_and_write_nothing(string arguments, string message)
    {
        var (exitCode, output, error) = await Run([.. arguments.Replace("{out}", Out, StringComparison.Ordinal).Split(' ')]);
        Assert.Equal(2, exitCode);
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.Contains("certificate --help", error, StringComparison.Ordinal);
        Assert.Empty(output);
        Assert.False(Directory.Exists(_root));
    }

    [Fact]
    public async Task Dispatch_runs_only_known_commands_and_help_is_usage()
    {
        Assert.Null(await Commands.TryRunAsync([], TextWriter.Null, TextWriter.Null));
        Assert.Null(await Commands.TryRunAsync(["--urls=http://127.0.0.1:0"], TextWriter.Null, TextWriter.Null));
        Assert.Contains("certificate", Commands.Names);

        using var output = new StringWriter();
        Assert.Equal(0, await Commands.TryRunAsync(["certificate", "--help"], output, TextWriter.Null));
        Assert.Contains("certificate create --out <dir> --host <name>", output.ToString(), StringComparison.Ordinal);
        using var error = new StringWriter();
        Assert.Equal(2, await Commands.TryRunAsync(["certificate", "renew"], TextWriter.Null, error));
        Assert.Contains("unknown subcommand 'renew'", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(2, await Commands.TryRunAsync(["certificate"], TextWriter.Null, TextWriter.Null));
    }

    [Fact]
    public async Task The_program_runs_the_command_instead_of_the_server()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "Wharf.Server.dll"), "certificate", "create", "--out", Out, "--host", "localhost", "--ip", "127.0.0.1" })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, error);
        Assert.Contains("server.crt", output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(Out, "server.key")));
    }

    private static UnixFileMode Mode(string path) => OperatingSystem.IsWindows() ? UnixFileMode.None : File.GetUnixFileMode(path);

    private Dictionary<string, string> Snapshot() =>
        Directory.GetFiles(Out).ToDictionary(f => Path.GetFileName(f)!, f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    private static async Task<(int ExitCode, string Output, string Error)> Run(params string[] arguments)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await Commands.TryRunAsync(["certificate", "create", .. arguments], output, error);
        return (exitCode!.Value, output.ToString(), error.ToString());
    }
}
