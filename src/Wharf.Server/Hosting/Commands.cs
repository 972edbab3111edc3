namespace Wharf.Server.Hosting;

/// <summary>
/// Commands that run instead of the server when the first argument names one, e.g.
/// <c>dotnet Wharf.Server.dll certificate create --out tls --host registry.example.com</c>.
/// Program calls <see cref="TryRunAsync"/> before it builds the application; adding a command is
/// one line in <see cref="Known"/>. Exit codes: 0 done, 1 failed, <see cref="BadArguments"/> for bad
/// arguments (the same as invalid settings of the server).
/// </summary>
internal static class Commands
{
    /// <summary>The exit code of bad arguments, and of settings that stop the server's start.</summary>
    public const int BadArguments = 2;

    /// <summary>Runs one command with the arguments after its name; returns the exit code.</summary>
    internal delegate Task<int> Command(string[] arguments, TextWriter output, TextWriter error, CancellationToken cancellationToken);

    private static readonly Dictionary<string, Command> Known = new(StringComparer.Ordinal)
    {
        ["certificate"] = CertificateCommand.RunAsync,
        [ReverseProxyCommand.Name] = (arguments, output, error, _) => ReverseProxyCommand.RunAsync(arguments, output, error),
    };

    /// <summary>The names of the commands, for help texts.</summary>
    public static IEnumerable<string> Names => Known.Keys;

    /// <summary>Runs the command <paramref name="args"/> names and returns its exit code; null when the first argument names none (start the server).</summary>
    public static async Task<int?> TryRunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default) =>
        args.Length > 0 && Known.TryGetValue(args[0], out var command) ? await command(args[1..], output, error, cancellationToken) : null;
}
