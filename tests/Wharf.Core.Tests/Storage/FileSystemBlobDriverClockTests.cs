using Wharf.Core.Storage;
using Wharf.Core.Tests.Support;

namespace Wharf.Core.Tests.Storage;

/// <summary>
/// The byte store stamps objects with the injected clock, the one cleanup computes its cut-offs
/// from: a store whose clock disagrees with the system's must still age its objects by its own.
/// </summary>
public sealed class FileSystemBlobDriverClockTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "wharf-fs-clock-" + Guid.NewGuid().ToString("N"));

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData(2)]
    [InlineData(-2)]
    public async Task Written_moved_and_touched_objects_carry_the_injected_clocks_time(int hours)
    {
        var clock = new ShiftedClock(TimeSpan.FromHours(hours));
        var driver = new FileSystemBlobDriver(_root, clock);

        await using (var writer = await driver.CreateWriterAsync("uploads/a", default))
        {
            await writer.WriteAsync(new byte[] { 1, 2, 3 }, default);
            await writer.CommitAsync(default);
        }

        AssertNear(clock.GetUtcNow(), (await driver.StatAsync("uploads/a", default))!.Modified);

        await driver.MoveAsync("uploads/a", "blobs/a", default);
        AssertNear(clock.GetUtcNow(), (await driver.StatAsync("blobs/a", default))!.Modified);
        AssertNear(clock.GetUtcNow(), Assert.Single(await ToListAsync(driver.WalkAsync("blobs", default))).Modified);

        File.SetLastWriteTimeUtc(Path.Combine(_root, "blobs", "a"), DateTime.UnixEpoch);
        Assert.True(await driver.TouchAsync("blobs/a", default));
        AssertNear(clock.GetUtcNow(), (await driver.StatAsync("blobs/a", default))!.Modified);
    }

    private static void AssertNear(DateTimeOffset expected, DateTimeOffset actual) =>
        Assert.True((expected - actual).Duration() < TimeSpan.FromMinutes(1), $"expected about {expected:O}, got {actual:O}");

    private static async Task<List<BlobStat>> ToListAsync(IAsyncEnumerable<BlobStat> items)
    {
        var list = new List<BlobStat>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }
}
