using Wharf.Server.Hosting;

namespace Wharf.Server.Tests;

/// <summary>The main listener's port, the default upstream port of a reverse proxy (rest-api §7.2), from Kestrel's URL forms.</summary>
public sealed class MainListenerTests
{
    [Theory]
    [InlineData(null, 8081)]
    [InlineData("", 8081)]
    [InlineData("http://127.0.0.1:8081", 8081)]
    [InlineData("http://*:5000", 5000)]
    [InlineData("http://+:5000/", 5000)]
    [InlineData("http://[::]:5001", 5001)]
    [InlineData("http://localhost", 80)]
    [InlineData("https://0.0.0.0:8443;http://0.0.0.0:8080", 8080)]
    [InlineData("https://0.0.0.0:8443", 8443)]
    [InlineData("http://127.0.0.1:0", 8081)]
    [InlineData("unix:/run/wharf.sock", 8081)]
    public void The_first_plain_http_url_names_the_port(string? urls, int port) => Assert.Equal(port, MainListener.Port(urls));
}
