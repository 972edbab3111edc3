namespace Wharf.Server.Http;

internal enum BodyReadOutcome
{
    Ok,
    TooLarge,
    Truncated,
}

/// <summary>Reads small bodies (JSON documents) whole, refusing anything over a cap before buffering it.</summary>
internal static class RequestBody
{
    public static async Task<(BodyReadOutcome Outcome, byte[] Body)> ReadAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
        {
            return (BodyReadOutcome.TooLarge, []);
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > maxBytes)
                {
                    return (BodyReadOutcome.TooLarge, []);
                }

                buffer.Write(chunk, 0, read);
            }
        }
        catch (IOException)
        {
            return (BodyReadOutcome.Truncated, []);
        }

        return (BodyReadOutcome.Ok, buffer.ToArray());
    }
}
