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
/// Only plain HTTP/1.x qualifies; TLS and HTTP/2 go through Kestrel. The head carries the headers
/// set so far: anything a middleware would add in <c>Response.OnStarting</c> is not sent (none does).
/// </summary>
internal static class ZeroCopy
{
    /// <summary>How long a client may keep the connection open after the whole response and the FIN.</summary>
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Slowest reader served (bytes per second), after a grace period: Kestrel's own minimum
    /// response rate does not see these bytes, so a client that stops reading is cut off here.
    /// </summary>
    private const double MinSendRate = 64 * 1024;

    private static readonly TimeSpan SendGrace = TimeSpan.FromSeconds(30);

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
        var stopping = context.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        var head = Head(context.Response, time.GetUtcNow());
        var limit = SendGrace + TimeSpan.FromSeconds((context.Response.ContentLength ?? 0) / MinSendRate);
        using var tooSlow = new CancellationTokenSource(limit, time);
        using var sending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, context.RequestAborted, stopping, tooSlow.Token);
        var handedOver = true;
        try
        {
            try
            {
                await socket.SendFileAsync(path, head, ReadOnlyMemory<byte>.Empty, TransmitFileOptions.UseDefaultWorkerThread, sending.Token);

                // Kestrel never sees these bytes: the access log and the download counter learn them
                // here (the body only, as for responses through Kestrel; a send cut short counts none).
                Telemetry.RequestRecord.Of(context)?.SentPastKestrel(context.Response.ContentLength ?? 0);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                // The file is opened before anything is sent: the connection is still Kestrel's.
                handedOver = false;
                return false;
            }

            // The FIN follows the last queued byte. Kestrel closes an aborted connection at once,
            // which would discard bytes still queued, so the connection is left to the client:
            // it closes on the FIN, and Kestrel sees that as the request being aborted.
            socket.Shutdown(SocketShutdown.Send);
            using var draining = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
            await Task.Delay(DrainTimeout, time, draining.Token);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The client has closed, went away or read too slowly: this connection is done.
        }
        finally
        {
            // Kestrel would otherwise write its own response after bytes it never saw.
            if (handedOver)
            {
                context.Abort();
            }
        }

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
                // Header values are set by Wharf itself; anything Kestrel would refuse (a line
                // break would even split the head) is left out.
                if (value is not null && value.All(c => c is '\t' or (>= ' ' and <= '~')))
                {
                    head.Append(name).Append(": ").Append(value).Append("\r\n");
                }
            }
        }

        head.Append("Connection: close\r\n\r\n");
        return Encoding.ASCII.GetBytes(head.ToString());
    }
}
