using Microsoft.Data.Sqlite;

namespace Wharf.Data.Sqlite;

/// <summary>
/// Group commit, as databases do it with their write-ahead logs. SQLite admits one writer and, with
/// <c>synchronous=FULL</c>, fsyncs its WAL on every commit while holding the write lock, so under
/// concurrent small pushes the writers queue on one fsync each. Instead, a logical transaction
/// (<see cref="SqliteMetadataStore.BeginAsync"/>) is a savepoint inside one physical transaction
/// that the writers queued behind each other share: each runs alone under the write gate as
/// before, sees the work of those before it, and "commits" by releasing its savepoint; the
/// physical commit (one fsync) follows once every writer that was waiting when the first member
/// committed has had its turn, and only then does any member's commit return. Other connections
/// see a group's work only once it is durable, all of it at once. A member that rolls back undoes
/// its savepoint alone. If the physical transaction itself is lost (a failed commit, or SQLite
/// rolling it back after an error), every member's commit fails.
/// </summary>
internal sealed class SqliteCommitGroup(SqliteConnection connection, SqliteTransaction transaction)
{
    /// <summary>The savepoint a member's work runs in (members run one after another, so one name serves).</summary>
    public const string Member = "member";

    public SqliteConnection Connection => connection;

    public SqliteTransaction Transaction => transaction;

    /// <summary>Completes when the group's commit is durable; fails when the group is lost.</summary>
    public TaskCompletionSource Durable { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Members that committed into the group.</summary>
    public int Members { get; set; }

    public bool FlushQueued { get; set; }

    /// <summary>Rolled back, or committed with nothing in it: nothing may use it any more.</summary>
    public bool Broken { get; set; }
}
