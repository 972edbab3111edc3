using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Wharf.Server.Tests.Support;
using static Wharf.Server.Tests.V1ConformanceTests;

namespace Wharf.Server.Tests;

/// <summary>
/// Content first, metadata second: a process killed in the middle of a push leaves no tree item
/// pointing at missing bytes and no half-uploaded image visible, and the push can be retried.
/// </summary>
public sealed class CrashConsistencyTests : IDisposable
{
    private const string Password = "crash-password-1";
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "wharf-crash-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dataDir))
        {
            Directory.Delete(_dataDir, recursive: true);
        }
    }

    /// <summary>A V2 upload session lives in storage and the database: a killed process's upload resumes after a restart.</summary>
    [Fact]
    public async Task A_v2_chunked_upload_resumes_after_the_process_is_killed()
    {
        var blob = System.Security.Cryptography.RandomNumberGenerator.GetBytes(200_000);
        string location;
        using (var first = await WharfProcess.StartAsync(_dataDir, Password))
        {
            using var admin = Admin(first);
            using var start = await admin.PostAsync("/artifactory/api/docker/docker-v2-local/v2/resume/app/blobs/uploads/", null);
            Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
            location = start.Headers.Location!.ToString();
            var chunk = new ByteArrayContent(blob[..120_000]);
            chunk.Headers.TryAddWithoutValidation("Content-Range", "0-119999");
            using var patch = await admin.PatchAsync(location, chunk);
            Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
            location = patch.Headers.Location!.ToString();
            first.Kill();
        }

        using var second = await WharfProcess.StartAsync(_dataDir, Password);
        using var client = Admin(second);
        using (var status = await client.GetAsync(location))
        {
            Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
            Assert.Equal("0-119999", status.Headers.GetValues("Range").Single());
        }

        var rest = new ByteArrayContent(blob[120_000..]);
        rest.Headers.TryAddWithoutValidation("Content-Range", "120000-199999");
        var digest = V2ApiTests.Digest(blob);
        using (var done = await client.PutAsync($"{location}?digest={digest}", rest))
        {
            Assert.Equal(HttpStatusCode.Created, done.StatusCode);
        }

        Assert.Equal(blob, await client.GetByteArrayAsync($"/artifactory/api/docker/docker-v2-local/v2/resume/app/blobs/{digest}"));
    }

    [Fact]
    public async Task A_kill_during_a_layer_upload_leaves_consistent_metadata_and_the_push_can_be_retried()
    {
        var complete = TestImage.Chain(DockerVersion.V1_9, 1, layerBytes: 300_000)[0];
        var interrupted = TestImage.Chain(DockerVersion.V1_9, 1, layerBytes: 8 << 20)[0];
        using (var first = await WharfProcess.StartAsync(_dataDir, Password))
        {
            using var admin = Admin(first);
            await PushImageAsync(admin, complete);
            Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync($"/v1/images/{interrupted.Id}/json", new ByteArrayContent(interrupted.Json))).StatusCode);

            // Half of the layer is on the wire when the process dies.
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(first.BaseAddress.Host, first.BaseAddress.Port);
            var stream = tcp.GetStream();
            var auth = WharfServer.Basic("admin", Password).Parameter;
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"PUT /v1/images/{interrupted.Id}/layer HTTP/1.1\r\nHost: {first.BaseAddress.Authority}\r\nAuthorization: Basic {auth}\r\nTransfer-Encoding: chunked\r\n\r\n"));
            var half = interrupted.Layer.Length / 2;
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"{half:x}\r\n"));
            await stream.WriteAsync(interrupted.Layer.AsMemory(0, half));
            await stream.FlushAsync();
            await Task.Delay(500);
            first.Kill();
        }

        using var second = await WharfProcess.StartAsync(_dataDir, Password);
        using var client = Admin(second);

        // The finished image is intact; the interrupted one is still uploading, never complete.
        Assert.Equal(complete.Json, await client.GetByteArrayAsync($"/v1/images/{complete.Id}/json"));
        Assert.Equal(complete.Layer, await client.GetByteArrayAsync($"/v1/images/{complete.Id}/layer"));
        await AssertErrorAsync(await client.GetAsync($"/v1/images/{interrupted.Id}/json"), 400, "Image is being uploaded, retry later");
        await AssertErrorAsync(await Checksum(client, interrupted.Id, interrupted.PayloadChecksum), 400, "Checksum mismatch");

        // Every file of the tree names a blob that exists on disk.
        var files = JsonDocument.Parse(await client.GetStringAsync("/api/storage/docker-local/?list&deep=1")).RootElement.GetProperty("files");
        Assert.NotEmpty(files.EnumerateArray());
        foreach (var file in files.EnumerateArray())
        {
            var sha = file.GetProperty("sha2").GetString()!;
            Assert.True(File.Exists(Path.Combine(_dataDir, "storage", "blobs", "sha256", sha[..2], sha)), $"{file.GetProperty("uri")} points at a missing blob");
        }

        // docker's retry of the whole push succeeds.
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsync($"/v1/images/{interrupted.Id}/json", new ByteArrayContent(interrupted.Json))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsync($"/v1/images/{interrupted.Id}/layer", new ByteArrayContent(interrupted.Layer))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Checksum(client, interrupted.Id, interrupted.PayloadChecksum)).StatusCode);
        Assert.Equal(interrupted.Layer, await client.GetByteArrayAsync($"/v1/images/{interrupted.Id}/layer"));
    }

    [Fact]
    public async Task A_restart_keeps_users_repositories_and_signing_keys()
    {
        string token;
        using (var first = await WharfProcess.StartAsync(_dataDir, Password))
        {
            using var admin = Admin(first);
            var request = new HttpRequestMessage(HttpMethod.Put, "/v1/repositories/keep/me/") { Content = Json("[]") };
            request.Headers.Add("X-Docker-Token", "true");
            using var response = await admin.SendAsync(request);
            token = response.Headers.GetValues("X-Docker-Token").Single();
            first.Kill();
        }

        // A different admin password on restart changes nothing: it applies only when admin is created.
        using var second = await WharfProcess.StartAsync(_dataDir, "another-password-9");
        using var client = Admin(second);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/users/")).StatusCode);
        using var tokenClient = new HttpClient { BaseAddress = second.BaseAddress };
        tokenClient.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Token " + token);
        Assert.Equal(HttpStatusCode.OK, (await tokenClient.GetAsync("/v1/repositories/keep/me/tags")).StatusCode);
    }

    [Fact]
    public async Task A_deleted_admin_is_not_recreated_on_restart()
    {
        using (var first = await WharfProcess.StartAsync(_dataDir, Password))
        {
            using var admin = Admin(first);
            Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync("/api/security/users/root2", Json("{\"email\":\"r@x\",\"password\":\"root2-secret-1\",\"admin\":true}"))).StatusCode);
            using var root2 = new HttpClient { BaseAddress = first.BaseAddress };
            root2.DefaultRequestHeaders.Authorization = WharfServer.Basic("root2", "root2-secret-1");
            Assert.Equal(HttpStatusCode.OK, (await root2.DeleteAsync("/api/security/users/admin")).StatusCode);
            first.Kill();
        }

        using var second = await WharfProcess.StartAsync(_dataDir, Password);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Admin(second).GetAsync("/v1/users/")).StatusCode);
    }

    private static HttpClient Admin(WharfProcess server)
    {
        var client = new HttpClient { BaseAddress = server.BaseAddress };
        client.DefaultRequestHeaders.Authorization = WharfServer.Basic("admin", Password);
        return client;
    }
}
