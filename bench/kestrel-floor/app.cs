#:sdk Microsoft.NET.Sdk.Web
// The floor under any ASP.NET Core upload on this machine: PUT /{mode} reads a request body with
// Kestrel and, by mode, discards it (null, pipe), hashes it twice (hash, pipehash), writes and
// fsyncs it (write), or both (hashwrite). Run by kestrel-floor.sh; not part of Wharf.
using System.Buffers;
using System.Security.Cryptography;
var b = WebApplication.CreateSlimBuilder(args);
b.WebHost.ConfigureKestrel(k => { k.Limits.MaxRequestBodySize = null; k.Limits.MinRequestBodyDataRate = null; });
b.WebHost.UseUrls("http://127.0.0.1:" + (Environment.GetEnvironmentVariable("FLOOR_PORT") ?? "18190"));
b.Logging.ClearProviders();
var app = b.Build();
var sink = Path.Combine(Path.GetTempPath(), $"kestrel-floor-{Environment.ProcessId}.bin");
app.MapPut("/{mode}", async (string mode, HttpRequest req) =>
{
    var buf = ArrayPool<byte>.Shared.Rent(1 << 20);
    using var h1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    using var h2 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    FileStream? fs = mode.Contains("write") ? new FileStream(sink, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous) : null;
    long total = 0; int n;
    if (mode.Contains("pipe"))
    {
        while (true) {
            var r = await req.BodyReader.ReadAsync();
            foreach (var seg in r.Buffer) { if (mode.Contains("hash")) { h1.AppendData(seg.Span); h2.AppendData(seg.Span); } total += seg.Length; }
            req.BodyReader.AdvanceTo(r.Buffer.End);
            if (r.IsCompleted) break;
        }
    }
    else while ((n = await req.Body.ReadAtLeastAsync(buf.AsMemory(0, 1 << 20), 1 << 20, false)) > 0)
    {
        total += n;
        if (mode.Contains("hash")) { h1.AppendData(buf, 0, n); h2.AppendData(buf, 0, n); }
        if (fs is not null) await fs.WriteAsync(buf.AsMemory(0, n));
    }
    if (fs is not null) { fs.Flush(true); await fs.DisposeAsync(); File.Delete(sink); }
    ArrayPool<byte>.Shared.Return(buf);
    return Results.Text(total.ToString());
});
// GET /get/{mode}: a 1 GiB file (FLOOR_FILE) sent by copying 1 MiB buffers (copy) or by reading straight
// into Kestrel's pipe memory (pipe) or with the framework's SendFileAsync (sendfile).
app.MapGet("/get/{mode}", async (string mode, HttpResponse res) =>
{
    var path = Environment.GetEnvironmentVariable("FLOOR_FILE")!;
    var length = new FileInfo(path).Length;
    res.ContentLength = length;
    if (mode == "sendfile") { await res.SendFileAsync(path, 0, length); return; }
    await using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
    if (mode == "pipe")
    {
        while (true)
        {
            var memory = res.BodyWriter.GetMemory(256 * 1024);
            var n = await fs.ReadAsync(memory);
            if (n == 0) break;
            res.BodyWriter.Advance(n);
            await res.BodyWriter.FlushAsync();
        }
        return;
    }
    var buf = ArrayPool<byte>.Shared.Rent(1 << 20);
    int r;
    while ((r = await fs.ReadAsync(buf.AsMemory(0, 1 << 20))) > 0) await res.Body.WriteAsync(buf.AsMemory(0, r));
    ArrayPool<byte>.Shared.Return(buf);
});
app.Run();
