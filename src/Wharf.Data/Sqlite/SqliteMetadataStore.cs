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
        new SqliteSession(this, await RentConnectionAsync(cancellationToken), null, null, null);

    public async Task<IMetadataTransaction> BeginAsync(CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken);
        SqliteConnection? connection = null;
        try
        {
            connection = await RentConnectionAsync(cancellationToken);

            // Microsoft.Data.Sqlite begins non-deferred transactions with BEGIN IMMEDIATE, so the
            // write lock is taken up front and a read-then-write never fails with SQLITE_BUSY.
            var transaction = connection.BeginTransaction(deferred: false);
            return new SqliteSession(this, connection, transaction, _writeGate, () => Interlocked.Increment(ref _generation));
        }
        catch
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }

            _writeGate.Release();
            throw;
        }
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
        private readonly SqliteTransaction? _transaction;
        private readonly Action? _committed;
        private SemaphoreSlim? _writeGate;
        private int _disposedFlag;

        public SqliteSession(SqliteMetadataStore store, SqliteConnection connection, SqliteTransaction? transaction, SemaphoreSlim? writeGate, Action? committed)
        {
            _store = store;
            _connection = connection;
            _transaction = transaction;
            _writeGate = writeGate;
            _committed = committed;
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

        public async Task CommitAsync(CancellationToken cancellationToken)
        {
            if (_transaction is null)
            {
                return;
            }

            // Moved before and after: a reader that caches across the commit sees a new generation.
            _committed?.Invoke();
            await _transaction.CommitAsync(cancellationToken);
            _committed?.Invoke();
        }

        public async ValueTask DisposeAsync()
        {
            // Twice would hand the connection to the idle queue twice.
            if (Interlocked.Exchange(ref _disposedFlag, 1) == 1)
            {
                return;
            }

            try
            {
                // A transaction not committed is rolled back by its disposal; a connection whose
                // rollback failed is closed rather than kept.
                var reusable = true;
                if (_transaction is not null)
                {
                    try
                    {
                        await _transaction.DisposeAsync();
                    }
                    catch
                    {
                        reusable = false;
                        throw;
                    }
                    finally
                    {
                        await _store.ReturnConnectionAsync(_connection, reusable);
                    }
                }
                else
                {
                    await _store.ReturnConnectionAsync(_connection, reusable);
                }
            }
            finally
            {
                Interlocked.Exchange(ref _writeGate, null)?.Release();
            }
        }
    }
}

/// <summary>A connection and the transaction every command of a session runs in.</summary>
internal sealed record Db(SqliteConnection Connection, SqliteTransaction? Transaction)
{
    public Task<IEnumerable<T>> QueryAsync<T>(string sql, object? args, CancellationToken cancellationToken) =>
        Connection.QueryAsync<T>(new CommandDefinition(sql, args, Transaction, cancellationToken: cancellationToken));

    public Task<T?> QuerySingleOrDefaultAsync<T>(string sql, object? args, CancellationToken cancellationToken) =>
        Connection.QuerySingleOrDefaultAsync<T>(new CommandDefinition(sql, args, Transaction, cancellationToken: cancellationToken));

    public Task<T?> ScalarAsync<T>(string sql, object? args, CancellationToken cancellationToken) =>
        Connection.ExecuteScalarAsync<T>(new CommandDefinition(sql, args, Transaction, cancellationToken: cancellationToken));

    public Task<int> ExecuteAsync(string sql, object? args, CancellationToken cancellationToken) =>
        Connection.ExecuteAsync(new CommandDefinition(sql, args, Transaction, cancellationToken: cancellationToken));
}
