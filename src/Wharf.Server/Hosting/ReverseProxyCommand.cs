using Wharf.Core.WebServer;
using Wharf.Data.Sqlite;

namespace Wharf.Server.Hosting;

/// <summary>
/// <c>dotnet Wharf.Server.dll reverse-proxy nginx|apache [settings]</c>: writes the reverse-proxy
/// file of rest-api §7.3 to standard output, the same text as
/// <c>GET /api/system/configuration/reverseProxy/…</c>, from the data directory and settings the
/// server would use (<c>Wharf__DataDir</c>, <c>ASPNETCORE_URLS</c>, appsettings.json, command-line
/// settings), without starting the server or writing anything. It reads the database while a
/// server may be running on it (SQLite WAL readers never block).
/// Exit codes: 0 written; 1 no database there, or a configuration that makes no working file;
/// 2 usage or invalid settings.
/// </summary>
internal static class ReverseProxyCommand
{
    public const string Name = "reverse-proxy";

    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        output ??= Console.Out;
        error ??= Console.Error;
        if (args is not [var kind, .. var settings] || kind is not ("nginx" or "apache"))
        {
            await error.WriteLineAsync($"Usage: dotnet Wharf.Server.dll {Name} nginx|apache [--Wharf:DataDir=<dir>] (writes the web server's configuration file to standard output)");
            return 2;
        }

        // The server's own configuration sources (appsettings.json, environment, command line), as WharfApp reads them.
        var configuration = WebApplication.CreateSlimBuilder(["--hostBuilder:reloadConfigOnChange=false", .. settings]).Configuration;
        var options = configuration.GetSection(WharfOptions.Section).Get<WharfOptions>() ?? new WharfOptions();
        if (options.Validate() is { Count: > 0 } problems)
        {
            await error.WriteLineAsync(new WharfApp.InvalidSettingsException(problems).Message);
            return 2;
        }

        var database = Path.Join(Path.GetFullPath(options.DataDir), "wharf.db");
        if (!File.Exists(database))
        {
            await error.WriteLineAsync($"No Wharf database at {database}: set Wharf__DataDir to the data directory of the Wharf to put behind the web server.");
            return 1;
        }

        using var store = new SqliteMetadataStore(database);
        await using var session = await store.OpenAsync(CancellationToken.None);
        var config = await WebServerSettings.ReadAsync(session.Settings, CancellationToken.None)
            ?? WebServerConfiguration.Defaults("localhost", MainListener.Port(configuration["urls"]));
        var repositories = await session.Repositories.ListAsync(CancellationToken.None);
        var (text, problem) = ReverseProxySnippet.Generate(kind == "nginx" ? WebServerType.Nginx : WebServerType.Apache, config, repositories);
        if (text is null)
        {
            await error.WriteLineAsync(problem);
            return 1;
        }

        await output.WriteAsync(text);
        await output.FlushAsync();
        return 0;
    }
}
