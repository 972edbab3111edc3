using Wharf.Data.Sqlite;

namespace Wharf.Data.Tests;

/// <summary>
/// SQLite's group commit (<see cref="SqliteCommitGroup"/>): concurrent writers share one physical
/// transaction, yet each sees the writes committed before it, a rollback undoes only its own
/// writer's work, and every commit that returned is there.
/// </summary>
public sealed class SqliteCommitGroupTests : IAsyncLifetime, IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "wharf-group-" + Guid.NewGuid().ToString("N"));
    private SqliteMetadataStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = new SqliteMetadataStore(Path.Combine(_dir, "wharf.db"));
        await _store.MigrateAsync(default);
    }

    public Task DisposeAsync()
    {
        _store.Dispose();
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task Concurrent_writers_commit_and_roll_back_independently()
    {
        var writers = Enumerable.Range(0, 48).Select(i => Task.Run(async () =>
        {
            await using var tx = await _store.BeginAsync(default);
            Assert.Equal($"v{i}", await tx.Settings.GetOrAddAsync($"s{i}", $"v{i}", default));
            if (i % 4 != 3)
            {
                await tx.CommitAsync(default);
            }
        }));
        await Task.WhenAll(writers);

        await using (var session = await _store.OpenAsync(default))
        {
            for (var i = 0; i < 48; i++)
            {
                Assert.Equal(i % 4 == 3 ? null : $"v{i}", await session.Settings.GetAsync($"s{i}", default));
            }
        }

        await using var after = await _store.BeginAsync(default);
        Assert.Equal("v0", await after.Settings.GetOrAddAsync("s0", "other", default));
        Assert.Equal("again", await after.Settings.GetOrAddAsync("s3", "again", default));
        await after.CommitAsync(default);
    }

    /// <summary>A writer that fails mid-way (a constraint, say) and rolls back leaves the others' commits whole.</summary>
    [Fact]
    public async Task A_failing_writer_among_concurrent_ones_loses_only_its_own_work()
    {
        var writers = Enumerable.Range(0, 24).Select(i => Task.Run(async () =>
        {
            await using var tx = await _store.BeginAsync(default);
            await tx.Settings.GetOrAddAsync($"f{i}", "x", default);
            if (i % 5 == 0)
            {
                throw new InvalidOperationException("the request failed");
            }

            await tx.CommitAsync(default);
        }));
        var outcome = await Task.WhenAll(writers.Select(async w =>
        {
            try
            {
                await w;
                return true;
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }));

        await using var session = await _store.OpenAsync(default);
        for (var i = 0; i < 24; i++)
        {
            Assert.Equal(i % 5 != 0, outcome[i]);
            Assert.Equal(i % 5 == 0 ? null : "x", await session.Settings.GetAsync($"f{i}", default));
        }
    }
}
