using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.WebUtilities;

namespace Wharf.Server.Http;

/// <summary>
/// Sends a response whose body is a whole local file with sendfile(2): the kernel moves the bytes
/// from the page cache to the socket without a copy through the process. Kestrel has no such path,
/// so the response is written on the connection's socket directly (head and file in one call) and
/// the connection is then closed (<c>Connection: close</c>): Kestrel never learns of the bytes, and
/// must not write after them. One new connection per large blob is cheap beside its transfer.
/// Only plain HTTP/1.x qualifies; TLS and HTTP/2 go through Kestrel.
/// </summary>
internal static class ZeroCopy
{
    /// <summary>How long a client may keep the connection open after the whole response and the FIN.</summary>
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(30);

    public static async Task<bool> TrySendFileAsync(HttpContext context, string path, CancellationToken cancellationToken)
    {
        if (context.Features.Get<IConnectionSocketFeature>()?.Socket is not { } socket
            || context.Request.IsHttps
            || context.Features.Get<ITlsHandshakeFeature>() is not null
            || !(HttpProtocol.IsHttp11(context.Request.Protocol) || HttpProtocol.IsHttp10(context.Request.Protocol))
            || context.Response.HasStarted)
        {
            return false;
        }

        var time = context.RequestServices.GetRequiredService<TimeProvider>();
        var head = Head(context.Response, time.GetUtcNow());
        try
        {
            await socket.SendFileAsync(path, head, ReadOnlyMemory<byte>.Empty, TransmitFileOptions.UseDefaultWorkerThread, cancellationToken);

            // The FIN follows the last queued byte. Kestrel closes an aborted connection at once,
            // which would discard bytes still queued, so the connection is left to the client:
            // it closes on the FIN, and Kestrel sees that as the request being aborted.
            socket.Shutdown(SocketShutdown.Send);
            await Task.Delay(DrainTimeout, time, context.RequestAborted);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The client has closed (or went away): nothing more can be said on this connection.
        }

        // Kestrel would otherwise write its own response after the bytes sent above.
        context.Abort();
        return true;
    }

    private static byte[] Head(HttpResponse response, DateTimeOffset now)
    {
        var head = new StringBuilder(512);
        head.Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {response.StatusCode} {ReasonPhrases.GetReasonPhrase(response.StatusCode)}\r\n");
        head.Append(CultureInfo.InvariantCulture, $"Date: {now:r}\r\n");
        foreach (var (name, values) in response.Headers)
        {
            if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase) || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            foreach (var value in values)
            {
                // Header values are set by Wharf itself; a line break would split the head.
                if (value is not null && !value.AsSpan().ContainsAny('\r', '\n'))
                {
                    head.Append(name).Append(": ").Append(value).Append("\r\n");
                }
            }
        }

        head.Append("Connection: close\r\n\r\n");
        return Encoding.ASCII.GetBytes(head.ToString());
    }
}
