using System.Text.Json;
using Wharf.Core.Metadata;
using Wharf.Core.Security;

namespace Wharf.Data.Sqlite;

internal sealed class SqliteUserRecords(Db db) : IUserRecords
{
    private const string Columns = "name, password_hash, admin, disabled, email, profile_updatable, disable_ui_access, internal_password_disabled, last_logged_in, id, credential_generation";

    public async Task<UserRecord?> GetAsync(string name, CancellationToken cancellationToken) =>
        (await db.QuerySingleOrDefaultAsync<Row>($"SELECT {Columns} FROM users WHERE name = @name;", new { name }, cancellationToken))?.ToRecord();

    public async Task<UserRecord?> GetByIdAsync(string id, CancellationToken cancellationToken) =>
        (await db.QuerySingleOrDefaultAsync<Row>($"SELECT {Columns} FROM users WHERE id = @id;", new { id }, cancellationToken))?.ToRecord();

    public async Task<IReadOnlyList<UserRecord>> ListAsync(CancellationToken cancellationToken) =>
        [.. (await db.QueryAsync<Row>($"SELECT {Columns} FROM users ORDER BY name;", null, cancellationToken)).Select(r => r.ToRecord())];

    public async Task<bool> TryCreateAsync(UserRecord user, CancellationToken cancellationToken) =>
        await db.ExecuteAsync(
            $"INSERT INTO users ({Columns}) VALUES (@Name, @PasswordHash, @Admin, @Disabled, @Email, @ProfileUpdatable, @DisableUIAccess, @InternalPasswordDisabled, @lastLoggedIn, @id, 0) ON CONFLICT (name) DO NOTHING;",
            Args(user with { Id = NewId() }), cancellationToken) == 1;

    public async Task<bool> UpdateAsync(UserRecord user, CancellationToken cancellationToken) =>
        await db.ExecuteAsync(
            """
            UPDATE users SET password_hash = @PasswordHash, admin = @Admin, disabled = @Disabled, email = @Email,
                profile_updatable = @ProfileUpdatable, disable_ui_access = @DisableUIAccess,
                internal_password_disabled = @InternalPasswordDisabled, last_logged_in = @lastLoggedIn
            WHERE name = @Name;
            """,
            Args(user), cancellationToken) == 1;

    public async Task<bool> BumpCredentialGenerationAsync(string name, CancellationToken cancellationToken) =>
        await db.ExecuteAsync("UPDATE users SET credential_generation = credential_generation + 1 WHERE name = @name;", new { name }, cancellationToken) == 1;

    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken) =>
        await db.ExecuteAsync("DELETE FROM users WHERE name = @name;", new { name }, cancellationToken) == 1;

    /// <summary>A user's immutable id: 128 random bits, as the migration that added ids backfilled them.</summary>
    private static string NewId() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    public async Task<int> CountAsync(CancellationToken cancellationToken) =>
        (int)await db.ScalarAsync<long>("SELECT COUNT(*) FROM users;", null, cancellationToken);

    private static object Args(UserRecord user) => new
    {
        user.Name,
        user.PasswordHash,
        user.Admin,
        user.Disabled,
        user.Email,
        user.ProfileUpdatable,
        user.DisableUIAccess,
        user.InternalPasswordDisabled,
        lastLoggedIn = user.LastLoggedIn?.ToUnixTimeMilliseconds(),
        id = user.Id,
    };

    private sealed class Row
    {
        public string name { get; set; } = "";

        public string password_hash { get; set; } = "";

        public long admin { get; set; }

        public long disabled { get; set; }

        public string email { get; set; } = "";

        public long profile_updatable { get; set; }

        public long disable_ui_access { get; set; }

        public long internal_password_disabled { get; set; }

        public long? last_logged_in { get; set; }

        public string? id { get; set; }

        public long credential_generation { get; set; }

        public UserRecord ToRecord() => new(
            name, password_hash, admin != 0, disabled != 0, email, profile_updatable != 0, disable_ui_access != 0,
            internal_password_disabled != 0, last_logged_in is { } t ? DateTimeOffset.FromUnixTimeMilliseconds(t) : null,
            id ?? "", credential_generation);
    }
}

internal sealed class SqliteGroupRecords(Db db) : IGroupRecords
{
    public async Task<GroupRecord?> GetAsync(string name, CancellationToken cancellationToken) =>
        (await db.QuerySingleOrDefaultAsync<Row>("SELECT name, description, auto_join, admin_privileges FROM groups WHERE name = @name;", new { name }, cancellationToken))?.ToRecord();

    public async Task<IReadOnlyList<GroupRecord>> ListAsync(CancellationToken cancellationToken) =>
        [.. (await db.QueryAsync<Row>("SELECT name, description, auto_join, admin_privileges FROM groups ORDER BY name;", null, cancellationToken)).Select(r => r.ToRecord())];

    public async Task<bool> UpsertAsync(GroupRecord group, CancellationToken cancellationToken)
    {
        var existed = await db.ScalarAsync<long>("SELECT COUNT(*) FROM groups WHERE name = @Name;", group, cancellationToken) > 0;
        await db.ExecuteAsync(
            """
            INSERT INTO groups (name, description, auto_join, admin_privileges) VALUES (@Name, @Description, @AutoJoin, @AdminPrivileges)
            ON CONFLICT (name) DO UPDATE SET description = excluded.description, auto_join = excluded.auto_join, admin_privileges = excluded.admin_privileges;
            """,
            group, cancellationToken);
        return !existed;
    }

    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken) =>
        await db.ExecuteAsync("DELETE FROM groups WHERE name = @name;", new { name }, cancellationToken) == 1;

    public async Task<IReadOnlyList<string>> MembersAsync(string group, CancellationToken cancellationToken) =>
        [.. await db.QueryAsync<string>(
            "SELECT u.name FROM user_groups g JOIN users u ON u.name = g.user_name WHERE g.group_name = @group ORDER BY u.name;",
            new { group }, cancellationToken)];

    public async Task<IReadOnlyList<string>> GroupsOfAsync(string user, CancellationToken cancellationToken) =>
        [.. await db.QueryAsync<string>(
            "SELECT gr.name FROM user_groups g JOIN groups gr ON gr.name = g.group_name WHERE g.user_name = @user ORDER BY gr.name;",
            new { user }, cancellationToken)];

    public async Task SetMembersAsync(string group, IReadOnlyList<string> users, CancellationToken cancellationToken)
    {
        await db.ExecuteAsync("DELETE FROM user_groups WHERE group_name = @group;", new { group }, cancellationToken);
        foreach (var user in users)
        {
            await db.ExecuteAsync("INSERT INTO user_groups (user_name, group_name) VALUES (@user, @group) ON CONFLICT DO NOTHING;", new { user, group }, cancellationToken);
        }
    }

    public async Task SetGroupsOfAsync(string user, IReadOnlyList<string> groups, CancellationToken cancellationToken)
    {
        await db.ExecuteAsync("DELETE FROM user_groups WHERE user_name = @user;", new { user }, cancellationToken);
        foreach (var group in groups)
        {
            await db.ExecuteAsync("INSERT INTO user_groups (user_name, group_name) VALUES (@user, @group) ON CONFLICT DO NOTHING;", new { user, group }, cancellationToken);
        }
    }

    private sealed class Row
    {
        public string name { get; set; } = "";

        public string description { get; set; } = "";

        public long auto_join { get; set; }

        public long admin_privileges { get; set; }

        public GroupRecord ToRecord() => new(name, description, auto_join != 0, admin_privileges != 0);
    }
}

internal sealed class SqlitePermissionRecords(Db db) : IPermissionRecords
{
    private const string Columns = "name, includes_pattern, excludes_pattern, repositories, users, groups";

    public async Task<PermissionTarget?> GetAsync(string name, CancellationToken cancellationToken) =>
        (await db.QuerySingleOrDefaultAsync<Row>($"SELECT {Columns} FROM permission_targets WHERE name = @name;", new { name }, cancellationToken))?.ToTarget();

    public async Task<IReadOnlyList<PermissionTarget>> ListAsync(CancellationToken cancellationToken) =>
        [.. (await db.QueryAsync<Row>($"SELECT {Columns} FROM permission_targets ORDER BY name;", null, cancellationToken)).Select(r => r.ToTarget())];

    public async Task<bool> UpsertAsync(PermissionTarget target, CancellationToken cancellationToken)
    {
        var existed = await db.ScalarAsync<long>("SELECT COUNT(*) FROM permission_targets WHERE name = @Name;", target, cancellationToken) > 0;
        await db.ExecuteAsync(
            $"""
            INSERT INTO permission_targets ({Columns}) VALUES (@Name, @IncludesPattern, @ExcludesPattern, @repositories, @users, @groups)
            ON CONFLICT (name) DO UPDATE SET includes_pattern = excluded.includes_pattern, excludes_pattern = excluded.excludes_pattern,
                repositories = excluded.repositories, users = excluded.users, groups = excluded.groups;
            """,
            new
            {
                target.Name,
                target.IncludesPattern,
                target.ExcludesPattern,
                repositories = JsonSerializer.Serialize(target.Repositories),
                users = JsonSerializer.Serialize(target.Users.ToDictionary(u => u.Key, u => ActionLetters.Format(u.Value))),
                groups = JsonSerializer.Serialize(target.Groups.ToDictionary(g => g.Key, g => ActionLetters.Format(g.Value))),
            },
            cancellationToken);
        return !existed;
    }

    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken) =>
        await db.ExecuteAsync("DELETE FROM permission_targets WHERE name = @name;", new { name }, cancellationToken) == 1;

    private sealed class Row
    {
        public string name { get; set; } = "";

        public string includes_pattern { get; set; } = "";

        public string excludes_pattern { get; set; } = "";

        public string repositories { get; set; } = "[]";

        public string users { get; set; } = "{}";

        public string groups { get; set; } = "{}";

        public PermissionTarget ToTarget() => new(
            name, includes_pattern, excludes_pattern,
            JsonSerializer.Deserialize<string[]>(repositories) ?? [],
            Principals(users), Principals(groups));

        private static Dictionary<string, AccessActions> Principals(string json) =>
            (JsonSerializer.Deserialize<Dictionary<string, string[]>>(json) ?? [])
                .ToDictionary(p => p.Key, p => ActionLetters.Parse(p.Value) ?? AccessActions.None, StringComparer.OrdinalIgnoreCase);
    }
}
