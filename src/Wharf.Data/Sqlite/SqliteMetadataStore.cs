using Dapper;
using Microsoft.Data.Sqlite;
using Wharf.Core.Metadata;

namespace Wharf.Data.Sqlite;

/// <summary>
/// Metadata in one SQLite file, WAL mode: readers never block the single writer, and writers queue
/// on <c>BEGIN IMMEDIATE</c> with the connection's busy timeout.
/// </summary>
internal sealed class SqliteMetadataStore : IMetadataStore, IDisposable
{
    private readonly string _connectionString;

    /// <summary>
    /// Queues this process's writers without polling: SQLite admits one writer, and
    /// Microsoft.Data.Sqlite answers a busy database by sleeping and retrying.
    /// </summary>
    private readonly SemaphoreSlim _writeGate = new(1, 1);

    /// <summary>The open commit group; read and written only while holding <see cref="_writeGate"/>.</summary>
    private SqliteCommitGroup? _group;

    public SqliteMetadataStore(string databasePath)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(databasePath))!);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,

            // Wharf keeps its own idle connections (below), already set up: Microsoft.Data.Sqlite's
            // pool would hand back connections whose pragmas must be applied again on every open.
            Pooling = false,
            DefaultTimeout = 60,
        }.ToString();
    }

    /// <summary>Most idle connections kept open; more are opened while the load needs them and closed after.</summary>
    private const int MaxIdleConnections = 8;

    private readonly System.Collections.Concurrent.ConcurrentQueue<SqliteConnection> _idle = new();

    private long _generation;

    public long Generation => Interlocked.Read(ref _generation);

    private volatile bool _disposed;

    /// <summary>
    /// Closes the idle connections. Sessions still running (a request that outlives the host's
    /// shutdown) finish, and their connections are closed rather than kept. The write gate is
    /// not disposed: it holds no handle, and such a session still releases it.
    /// </summary>
    public void Dispose()
    {
        _disposed = true;
        while (_idle.TryDequeue(out var connection))
        {
            connection.Dispose();
        }
    }

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync("PRAGMA journal_mode=WAL;");
        await connection.ExecuteAsync("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);");
        var current = await connection.ExecuteScalarAsync<long?>("SELECT MAX(version) FROM schema_version;") ?? 0;
        for (var version = (int)current; version < SqliteSchema.Migrations.Length; version++)
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await connection.ExecuteAsync(SqliteSchema.Migrations[version], transaction: transaction);
            await connection.ExecuteAsync("INSERT INTO schema_version (version) VALUES (@v);", new { v = version + 1 }, transaction);
            await transaction.CommitAsync(cancellationToken);
        }
    }

    public async Task<IMetadataSession> OpenAsync(CancellationToken cancellationToken) =>
        new SqliteSession(this, await RentConnectionAsync(cancellationToken), null, null);

    /// <summary>
    /// Begins a logical write transaction: a savepoint in the commit group's physical transaction
    /// (a new group when none is open). See <see cref="SqliteCommitGroup"/>.
    /// </summary>
    public async Task<IMetadataTransaction> BeginAsync(CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken);
        SqliteCommitGroup? group = null;
        try
        {
            group = _group;
            if (group is null)
            {
                var connection = await RentConnectionAsync(cancellationToken);
                try
                {
                    // Microsoft.Data.Sqlite begins non-deferred transactions with BEGIN IMMEDIATE, so the
                    // write lock is taken up front and a read-then-write never fails with SQLITE_BUSY.
                    group = new SqliteCommitGroup(connection, connection.BeginTransaction(deferred: false));
                }
                catch
                {
                    await connection.DisposeAsync();
                    throw;
                }

                _group = group;
            }

            group.Transaction.Save(SqliteCommitGroup.Member);
            return new SqliteSession(this, group.Connection, group.Transaction, group);
        }
        catch (Exception e)
        {
            if (group is not null)
            {
                await BreakAsync(group, e);
            }

            _writeGate.Release();
            throw;
        }
    }

    /// <summary>
    /// A member's logical commit (held gate, savepoint released): the first member queues the group's
    /// flush behind every writer already waiting for the gate, so those join the group before it
    /// commits; the gate is then handed on. Returns once the group's commit is durable.
    /// </summary>
    private async Task JoinCommitAsync(SqliteCommitGroup group)
    {
        group.Members++;
        if (!group.FlushQueued)
        {
            group.FlushQueued = true;
            _ = FlushAsync(group);
        }

        _writeGate.Release();
        await group.Durable.Task;
    }

    /// <summary>Commits a group (one fsync for all its members) once the writers that were waiting when it was queued have joined.</summary>
    private async Task FlushAsync(SqliteCommitGroup group)
    {
        await _writeGate.WaitAsync(CancellationToken.None);
        try
        {
            if (group.Broken)
            {
                return;
            }

            _group = null;
            var reusable = true;
            try
            {
                // Moved before and after: a reader that caches across the commit sees a new generation.
                Interlocked.Increment(ref _generation);
                await group.Transaction.CommitAsync(CancellationToken.None);
                Interlocked.Increment(ref _generation);
                group.Durable.SetResult();
            }
            catch (Exception e)
            {
                reusable = false;
                group.Durable.SetException(e);
            }

            await group.Transaction.DisposeAsync();
            await ReturnConnectionAsync(group.Connection, reusable);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>
    /// A member's rollback (held gate). Rolling back to its savepoint leaves the other members'
    /// work in place; a group left with no member and no flush is rolled back whole.
    /// </summary>
    private async Task LeaveUncommittedAsync(SqliteCommitGroup group)
    {
        try
        {
            if (!group.Broken)
            {
                group.Transaction.Rollback(SqliteCommitGroup.Member);
                group.Transaction.Release(SqliteCommitGroup.Member);
                if (group.Members == 0 && !group.FlushQueued)
                {
                    _group = null;
                    group.Broken = true;
                    await group.Transaction.DisposeAsync();
                    await ReturnConnectionAsync(group.Connection, reusable: true);
                }
            }
        }
        catch (Exception e)
        {
            await BreakAsync(group, e);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>
    /// The group's transaction cannot go on (SQLite rolled it back, or a statement of it failed in a
    /// way no savepoint undoes): it is rolled back, and every member that committed into it learns
    /// that its commit failed. Called with the gate held.
    /// </summary>
    private async Task BreakAsync(SqliteCommitGroup group, Exception cause)
    {
        if (group.Broken)
        {
            return;
        }

        group.Broken = true;
        if (_group == group)
        {
            _group = null;
        }

        group.Durable.TrySetException(new IOException("The metadata transaction was rolled back.", cause));
        try
        {
            await group.Transaction.DisposeAsync();
        }
        catch (SqliteException)
        {
            // Already rolled back by SQLite; the connection is closed below either way.
        }

        await ReturnConnectionAsync(group.Connection, reusable: false);
    }

    private async ValueTask<SqliteConnection> RentConnectionAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _idle.TryDequeue(out var idle) ? idle : await OpenConnectionAsync(cancellationToken);
    }

    /// <summary>Keeps a connection whose session ended cleanly (no transaction left open) for the next session.</summary>
    private async ValueTask ReturnConnectionAsync(SqliteConnection connection, bool reusable)
    {
        if (reusable && !_disposed && connection.State == System.Data.ConnectionState.Open && _idle.Count < MaxIdleConnections)
        {
            _idle.Enqueue(connection);

            // Disposed meanwhile: the store may have emptied the queue before this connection joined it.
            while (_disposed && _idle.TryDequeue(out var late))
            {
                await late.DisposeAsync();
            }

            return;
        }

        await connection.DisposeAsync();
    }

    private async Task<SqliteConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        // FULL: a commit acknowledged to a client survives a power cut (NORMAL could roll it back).
        // A small page cache per connection: a connection is open per concurrent request, and the
        // operating system caches the database file for all of them anyway.
        await connection.ExecuteAsync("PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL; PRAGMA cache_size=-256;");
        return connection;
    }

    private sealed class SqliteSession : IMetadataTransaction
    {
        private readonly SqliteMetadataStore _store;
        private readonly SqliteConnection _connection;
        private readonly SqliteCommitGroup? _group;
        private bool _committed;
        private int _disposedFlag;

        public SqliteSession(SqliteMetadataStore store, SqliteConnection connection, SqliteTransaction? transaction, SqliteCommitGroup? group)
        {
            _store = store;
            _connection = connection;
            _group = group;
            var db = new Db(connection, transaction);
            Repositories = new SqliteRepositoryRecords(db);
            Tree = new SqliteTreeRecords(db);
            V1Uploads = new SqliteV1UploadRecords(db);
            Users = new SqliteUserRecords(db);
            Groups = new SqliteGroupRecords(db);
            Permissions = new SqlitePermissionRecords(db);
            Credentials = new SqliteCredentialRecords(db);
            Settings = new SqliteSettingRecords(db);
            Blobs = new SqliteBlobRecords(db);
            V2Uploads = new SqliteV2UploadRecords(db);
            V2Index = new SqliteV2IndexRecords(db);
            V1Index = new SqliteV1IndexRecords(db);
        }

        public IRepositoryRecords Repositories { get; }

        public ITreeRecords Tree { get; }

        public IV1UploadRecords V1Uploads { get; }

        public IUserRecords Users { get; }

        public IGroupRecords Groups { get; }

        public IPermissionRecords Permissions { get; }

        public ICredentialRecords Credentials { get; }

        public ISettingRecords Settings { get; }

        public IBlobRecords Blobs { get; }

        public IV2UploadRecords V2Uploads { get; }

        public IV2IndexRecords V2Index { get; }

        public IV1IndexRecords V1Index { get; }

        /// <summary>Returns once the commit is durable (synchronous=FULL), shared with the rest of its group.</summary>
        public async Task CommitAsync(CancellationToken cancellationToken)
        {
            if (_group is null || _committed)
            {
                return;
            }

            cancellationToken.ThrowIfCancellationRequested();
            _group.Transaction.Release(SqliteCommitGroup.Member);
            _committed = true;
            await _store.JoinCommitAsync(_group);
        }

        public async ValueTask DisposeAsync()
        {
            // Twice would hand the connection to the idle queue twice.
            if (Interlocked.Exchange(ref _disposedFlag, 1) == 1)
            {
                return;
            }

            if (_group is null)
            {
                await _store.ReturnConnectionAsync(_connection, reusable: true);
            }
            else if (!_committed)
            {
                // A transaction not committed is rolled back; the group's flush owns the connection.
                await _store.LeaveUncommittedAsync(_group);
            }
        }
    }
}

/// <summary>
/// A connection and the transaction every command of a session runs in. Inside a write transaction a
/// cancellation is honoured between statements, never by interrupting one: SQLite rolls an
/// interrupted write back together with its whole transaction, which holds other requests' work
/// (<see cref="SqliteCommitGroup"/>).
/// </summary>
internal sealed record Db(SqliteConnection Connection, SqliteTransaction? Transaction)
{
    private CancellationToken Uninterrupted(CancellationToken cancellationToken)
    {
        if (Transaction is null)
        {
            return cancellationToken;
        }

        cancellationToken.ThrowIfCancellationRequested();
        return CancellationToken.None;
    }

    public Task<IEnumerable<T>> QueryAsync<T>(string sql, object? args, CancellationToken cancellationToken) =>
        Connection.QueryAsync<T>(new CommandDefinition(sql, args, Transaction, cancellationToken: Uninterrupted(cancellationToken)));

    public Task<T?> QuerySingleOrDefaultAsync<T>(string sql, object? args, CancellationToken cancellationToken) =>
        Connection.QuerySingleOrDefaultAsync<T>(new CommandDefinition(sql, args, Transaction, cancellationToken: Uninterrupted(cancellationToken)));

    public Task<T?> ScalarAsync<T>(string sql, object? args, CancellationToken cancellationToken) =>
        Connection.ExecuteScalarAsync<T>(new CommandDefinition(sql, args, Transaction, cancellationToken: Uninterrupted(cancellationToken)));

    public Task<int> ExecuteAsync(string sql, object? args, CancellationToken cancellationToken) =>
        Connection.ExecuteAsync(new CommandDefinition(sql, args, Transaction, cancellationToken: Uninterrupted(cancellationToken)));
}
