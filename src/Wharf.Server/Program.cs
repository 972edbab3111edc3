using Wharf.Server.Hosting;

// A first argument that names a command (Commands.cs) runs it instead of the server.
if (await Commands.TryRunAsync(args, Console.Out, Console.Error) is { } exitCode)
{
    return exitCode;
}

try
{
    await using var app = await WharfApp.BuildAsync(args);
    await app.RunAsync();
    return 0;
}
catch (WharfApp.InvalidSettingsException e)
{
    await Console.Error.WriteLineAsync(e.Message);
    return 2;
}
