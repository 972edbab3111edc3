using Wharf.Server.Hosting;

if (args is [ReverseProxyCommand.Name, .. var reverseProxyArgs])
{
    return await ReverseProxyCommand.RunAsync(reverseProxyArgs);
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
