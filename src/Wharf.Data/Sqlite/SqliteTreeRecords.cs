using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Tree;

namespace Wharf.Data.Sqlite;

internal sealed class SqliteTreeRecords(Db db) : ITreeRecords
{
    private const string ItemColumns = "repo, path, folder, size, sha256, mime, created, created_by, modified, modified_by";

    public async Task<TreeItem?> GetAsync(string repo, string path, CancellationToken cancellationToken)
    {
        if (path.Length == 0)
        {
            return null;
        }

        var row = await db.QuerySingleOrDefaultAsync<ItemRow>(
            $"SELECT {ItemColumns} FROM items WHERE repo = @repo AND path = @path;", new { repo, path }, cancellationToken);
        return row?.ToItem();
    }

    public async Task<IReadOnlyList<TreeItem>> ListChildrenAsync(string repo, string path, CancellationToken cancellationToken)
    {
        var rows = await db.QueryAsync<ItemRow>(
            $"SELECT {ItemColumns} FROM items WHERE repo = @repo AND parent = @path ORDER BY name;", new { repo, path }, cancellationToken);
        return [.. rows.Select(r => r.ToItem())];
    }

    public async Task<IReadOnlyList<TreeItem>> ListDescendantsAsync(string repo, string path, CancellationToken cancellationToken)
    {
        var (from, to) = DescendantRange(path);
        var rows = await db.QueryAsync<ItemRow>(
            path.Length == 0
                ? $"SELECT {ItemColumns} FROM items WHERE repo = @repo ORDER BY path;"
                : $"SELECT {ItemColumns} FROM items WHERE repo = @repo AND path > @from AND path < @to ORDER BY path;",
            new { repo, from, to }, cancellationToken);
        return [.. rows.Select(r => r.ToItem())];
    }

    public async Task<IReadOnlyList<TreeItem>> ListGrandChildrenNamedAsync(string repo, string grandParent, string name, CancellationToken cancellationToken)
    {
        var rows = await db.QueryAsync<ItemRow>(
            $"""
            SELECT {Prefixed("i")} FROM items i
            JOIN items f ON f.repo = i.repo AND f.path = i.parent AND f.folder = 1
            WHERE i.repo = @repo AND i.name = @name AND f.parent = @grandParent AND i.folder = 0
            ORDER BY i.path;
            """,
            new { repo, grandParent, name }, cancellationToken);
        return [.. rows.Select(r => r.ToItem())];
    }

    public async Task<IReadOnlyList<TreeItem>> ListNamedAsync(string repo, string name, CancellationToken cancellationToken)
    {
        var rows = await db.QueryAsync<ItemRow>(
            $"SELECT {ItemColumns} FROM items WHERE repo = @repo AND name = @name AND folder = 0 ORDER BY path;",
            new { repo, name }, cancellationToken);
        return [.. rows.Select(r => r.ToItem())];
    }

    public async Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> GetPropertiesAsync(string repo, string path, CancellationToken cancellationToken)
    {
        var rows = await db.QueryAsync<(string Key, string Value)>(
            """
            SELECT p.key, p.value FROM properties p JOIN items i ON i.id = p.item_id
            WHERE i.repo = @repo AND i.path = @path ORDER BY p.key, p.rowid;
            """,
            new { repo, path }, cancellationToken);
        return rows.GroupBy(r => r.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<string>)[.. g.Select(r => r.Value)], StringComparer.Ordinal);
    }

    public Task<BlobChecksums?> GetChecksumsAsync(string sha256, CancellationToken cancellationToken) =>
        db.QuerySingleOrDefaultAsync<BlobChecksums>(
            "SELECT sha256 AS Sha256, sha1 AS Sha1, md5 AS Md5 FROM blobs WHERE sha256 = @sha256;", new { sha256 }, cancellationToken);

    public Task SetLegacyChecksumsAsync(string sha256, string sha1, string md5, CancellationToken cancellationToken) =>
        db.ExecuteAsync("UPDATE blobs SET sha1 = @sha1, md5 = @md5 WHERE sha256 = @sha256;", new { sha256, sha1, md5 }, cancellationToken);

    public async Task EnsureFolderAsync(string repo, string path, string user, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (path.Length == 0)
        {
            return;
        }

        var millis = now.ToUnixTimeMilliseconds();
        foreach (var folder in ItemPath.Ancestors(path).Append(path))
        {
            // Returns a row when the folder was created or already was one; none when a file holds the path.
            var isFolder = await db.ScalarAsync<long?>(
                """
                INSERT INTO items (repo, path, parent, name, folder, size, sha256, mime, created, created_by, modified, modified_by)
                VALUES (@repo, @folder, @parent, @name, 1, -1, NULL, NULL, @millis, @user, @millis, @user)
                ON CONFLICT (repo, path) DO UPDATE SET folder = 1 WHERE items.folder = 1
                RETURNING folder;
                """,
                new { repo, folder, parent = ItemPath.Parent(folder), name = ItemPath.Name(folder), millis, user }, cancellationToken);
            if (isFolder is null)
            {
                throw new InvalidOperationException($"{repo}/{folder} is a file; nothing can be placed below it.");
            }
        }
    }

    public async Task PutFileAsync(string repo, NewFile file, string user, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var millis = now.ToUnixTimeMilliseconds();
        await EnsureFolderAsync(repo, ItemPath.Parent(file.Path), user, now, cancellationToken);
        await db.ExecuteAsync(
            "INSERT INTO blobs (sha256, size, created) VALUES (@Sha256, @Size, @millis) ON CONFLICT (sha256) DO NOTHING;",
            new { file.Sha256, file.Size, millis }, cancellationToken);
        var id = await db.ScalarAsync<long?>(
            """
            INSERT INTO items (repo, path, parent, name, folder, size, sha256, mime, created, created_by, modified, modified_by)
            VALUES (@repo, @Path, @parent, @name, 0, @Size, @Sha256, @MimeType, @millis, @user, @millis, @user)
            ON CONFLICT (repo, path) DO UPDATE SET
                size = excluded.size, sha256 = excluded.sha256, mime = excluded.mime,
                modified = excluded.modified, modified_by = excluded.modified_by
            WHERE items.folder = 0
            RETURNING id;
            """,
            new { repo, file.Path, parent = ItemPath.Parent(file.Path), name = ItemPath.Name(file.Path), file.Size, file.Sha256, file.MimeType, millis, user },
            cancellationToken)
            ?? throw new InvalidOperationException($"{repo}/{file.Path} is a folder; a file cannot replace it.");
        await db.ExecuteAsync("DELETE FROM properties WHERE item_id = @id;", new { id }, cancellationToken);
        if (file.Properties is not null)
        {
            await InsertPropertiesAsync(id, file.Properties, cancellationToken);
        }
    }

    public async Task<TreeItem?> FindObstacleAsync(string repo, string path, bool folder, CancellationToken cancellationToken)
    {
        if (path.Length == 0)
        {
            return null;
        }

        var paths = ItemPath.Ancestors(path).Append(path).ToList();
        var rows = await db.QueryAsync<ItemRow>(
            $"SELECT {ItemColumns} FROM items WHERE repo = @repo AND path IN @paths;", new { repo, paths }, cancellationToken);
        var items = rows.Select(r => r.ToItem()).ToDictionary(i => i.Path, StringComparer.Ordinal);
        foreach (var each in paths)
        {
            if (items.TryGetValue(each, out var item) && (each == path ? item.IsFolder != folder : !item.IsFolder))
            {
                return item;
            }
        }

        return null;
    }

    public async Task<bool> TryPutFileAsync(string repo, NewFile file, string user, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (await FindObstacleAsync(repo, file.Path, folder: false, cancellationToken) is not null)
        {
            return false;
        }

        await PutFileAsync(repo, file, user, now, cancellationToken);
        return true;
    }

    public async Task SetPropertiesAsync(string repo, string path, IReadOnlyDictionary<string, IReadOnlyList<string>> properties, CancellationToken cancellationToken)
    {
        var id = await db.ScalarAsync<long?>("SELECT id FROM items WHERE repo = @repo AND path = @path;", new { repo, path }, cancellationToken)
            ?? throw new InvalidOperationException($"No item {repo}/{path}.");
        foreach (var key in properties.Keys)
        {
            await db.ExecuteAsync("DELETE FROM properties WHERE item_id = @id AND key = @key;", new { id, key }, cancellationToken);
        }

        await InsertPropertiesAsync(id, properties, cancellationToken);
    }

    public async Task<int> DeleteAsync(string repo, string path, CancellationToken cancellationToken)
    {
        var (from, to) = DescendantRange(path);
        return await db.ExecuteAsync(
            path.Length == 0
                ? "DELETE FROM items WHERE repo = @repo;"
                : "DELETE FROM items WHERE repo = @repo AND (path = @path OR (path > @from AND path < @to));",
            new { repo, path, from, to }, cancellationToken);
    }

    public Task TouchAsync(string repo, string path, string user, DateTimeOffset now, CancellationToken cancellationToken) =>
        db.ExecuteAsync(
            "UPDATE items SET modified = @millis, modified_by = @user WHERE repo = @repo AND path = @path;",
            new { repo, path, user, millis = now.ToUnixTimeMilliseconds() }, cancellationToken);

    public async Task<int> DeletePropertiesAsync(string repo, string path, IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        var id = await db.ScalarAsync<long?>("SELECT id FROM items WHERE repo = @repo AND path = @path;", new { repo, path }, cancellationToken);
        return id is null
            ? 0
            : await db.ExecuteAsync("DELETE FROM properties WHERE item_id = @id AND key IN @keys;", new { id, keys }, cancellationToken);
    }

    public async Task<IReadOnlyList<(string Path, string Value)>> ListPropertyValuesAsync(string repo, string key, CancellationToken cancellationToken)
    {
        var rows = await db.QueryAsync<(string, string)>(
            "SELECT i.path, p.value FROM properties p JOIN items i ON i.id = p.item_id WHERE p.key = @key AND i.repo = @repo ORDER BY i.path;",
            new { repo, key }, cancellationToken);
        return [.. rows];
    }

    public async Task<IReadOnlyList<(long Id, TreeItem Item)>> SearchByPropertiesAsync(
        IReadOnlyList<PropertyCriterion> criteria, IReadOnlyCollection<string>? repos, long afterId, int limit, CancellationToken cancellationToken)
    {
        // One test per key on the (key, value) index; exact values compare with =, wildcard ones with GLOB.
        var args = new Dictionary<string, object?> { ["afterId"] = afterId, ["limit"] = limit, ["repos"] = repos };
        var tests = new List<(string ValueTest, long Rows)>();
        for (var k = 0; k < criteria.Count; k++)
        {
            args["k" + k] = criteria[k].Key;
            var alternatives = new List<string>();
            for (var v = 0; v < criteria[k].Values.Count; v++)
            {
                var value = criteria[k].Values[v];
                var name = $"v{k}_{v}";
                if (value.IndexOfAny(['*', '?']) >= 0)
                {
                    args[name] = GlobFromWildcards(value);
                    alternatives.Add($"p.value GLOB @{name}");
                }
                else
                {
                    args[name] = value;
                    alternatives.Add($"p.value = @{name}");
                }
            }

            var valueTest = $"p.key = @k{k}" + (alternatives.Count == 0 ? "" : " AND (" + string.Join(" OR ", alternatives) + ")");

            // An index-only count tells which key matches fewest rows; that one drives the query.
            var matching = criteria.Count == 1 ? 0 : await db.ScalarAsync<long>($"SELECT COUNT(*) FROM properties p WHERE {valueTest};", new Dapper.DynamicParameters(args), cancellationToken);
            tests.Add((valueTest, matching));
        }

        var ordered = tests.OrderBy(t => t.Rows).ToList();
        var where = new List<string> { $"i.id IN (SELECT p.item_id FROM properties p WHERE {ordered[0].ValueTest})" };
        where.AddRange(ordered.Skip(1).Select(t => $"EXISTS (SELECT 1 FROM properties p WHERE p.item_id = i.id AND {t.ValueTest})"));

        if (repos is not null)
        {
            where.Add("i.repo IN @repos");
        }

        var rows = await db.QueryAsync<IdItemRow>(
            $"SELECT i.id, {Prefixed("i")} FROM items i WHERE i.id > @afterId AND {string.Join(" AND ", where)} ORDER BY i.id LIMIT @limit;",
            new Dapper.DynamicParameters(args), cancellationToken);
        return [.. rows.Select(r => (r.id, r.ToItem()))];
    }

    public async Task<IReadOnlyList<(long Id, TreeItem Item)>> SearchByNameAsync(
        string pattern, IReadOnlyCollection<string>? repos, long afterId, int limit, CancellationToken cancellationToken)
    {
        // Without statistics (the server never runs ANALYZE) SQLite prefers walking the rowid for
        // "ORDER BY id LIMIT n" over the NOCASE name index, a full table scan even for a plain name
        // or a literal prefix. So: a name without wildcards is an equality on the index (its rows
        // come in id order, no sort); a literal prefix is a LIKE range on the index, with the id
        // test hidden from the planner by unary +; only a leading wildcard walks the table in id
        // order, which stops as soon as a page is full. LIKE and NOCASE both fold ASCII case only.
        var like = new System.Text.StringBuilder();
        foreach (var c in pattern)
        {
            like.Append(c switch
            {
                '*' => "%",
                '?' => "_",
                '%' or '_' or '\\' => "\\" + c,
                _ => c.ToString(),
            });
        }

        var wildcard = pattern.IndexOfAny(['*', '?']);
        var test = wildcard < 0
            ? "i.name = @pattern COLLATE NOCASE AND i.id > @afterId"
            : wildcard > 0
                ? "i.name LIKE @like ESCAPE '\\' AND +i.id > @afterId"
                : "i.name LIKE @like ESCAPE '\\' AND i.id > @afterId";
        var rows = await db.QueryAsync<IdItemRow>(
            $"""
            SELECT i.id, {Prefixed("i")} FROM items i
            WHERE {test} {(repos is null ? "" : "AND i.repo IN @repos")}
            ORDER BY i.id LIMIT @limit;
            """,
            new { pattern, like = like.ToString(), afterId, limit, repos }, cancellationToken);
        return [.. rows.Select(r => (r.id, r.ToItem()))];
    }

    public async Task<int> PruneEmptyFoldersAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken)
    {
        var cutoff = createdBefore.ToUnixTimeMilliseconds();
        var total = 0;
        while (true)
        {
            var removed = await db.ExecuteAsync(
                """
                DELETE FROM items WHERE folder = 1 AND created < @cutoff
                AND NOT EXISTS (SELECT 1 FROM items c WHERE c.repo = items.repo AND c.parent = items.path);
                """,
                new { cutoff }, cancellationToken);
            if (removed == 0)
            {
                return total;
            }

            total += removed;
        }
    }

    /// <summary>
    /// Read through a row class, not the record's constructor: Dapper picks a constructor by the
    /// reader's column types, and with no items at all SQLite has no row to take the types of these
    /// computed columns from and reports them as BLOB, which matches no constructor of longs.
    /// </summary>
    public async Task<IReadOnlyList<RepositoryUsage>> UsageAsync(CancellationToken cancellationToken)
    {
        var rows = await db.QueryAsync<UsageRow>(
            """
            SELECT repo, SUM(CASE WHEN folder = 0 THEN 1 ELSE 0 END) AS files, SUM(folder) AS folders,
                   COALESCE(SUM(CASE WHEN folder = 0 THEN size ELSE 0 END), 0) AS used_bytes
            FROM items GROUP BY repo ORDER BY repo;
            """,
            null, cancellationToken);
        return [.. rows.Select(r => new RepositoryUsage(r.repo, r.files, r.folders, r.used_bytes))];
    }

    /// <summary>Wildcards <c>*</c> and <c>?</c> to a GLOB pattern; GLOB's own <c>[</c> is taken literally.</summary>
    private static string GlobFromWildcards(string value) => value.Replace("[", "[[]", StringComparison.Ordinal);

    private async Task InsertPropertiesAsync(long id, IReadOnlyDictionary<string, IReadOnlyList<string>> properties, CancellationToken cancellationToken)
    {
        foreach (var (key, values) in properties)
        {
            foreach (var value in values)
            {
                await db.ExecuteAsync("INSERT INTO properties (item_id, key, value) VALUES (@id, @key, @value);", new { id, key, value }, cancellationToken);
            }
        }
    }

    /// <summary>
    /// Paths strictly below <paramref name="path"/> sort between "path/" and "path0" ('0' follows
    /// '/'), which keeps the query on the (repo, path) index without LIKE escaping. The root has
    /// no range: every item of the repository is below it.
    /// </summary>
    private static (string From, string To) DescendantRange(string path) => (path + "/", path + "0");

    private static string Prefixed(string alias) =>
        string.Join(", ", ItemColumns.Split(", ").Select(c => alias + "." + c));

    private sealed class UsageRow
    {
        public string repo { get; set; } = "";

        public long files { get; set; }

        public long folders { get; set; }

        public long used_bytes { get; set; }
    }

    private sealed class IdItemRow : ItemRow
    {
        public long id { get; set; }
    }

    private class ItemRow
    {
        public string repo { get; set; } = "";

        public string path { get; set; } = "";

        public long folder { get; set; }

        public long size { get; set; }

        public string? sha256 { get; set; }

        public string? mime { get; set; }

        public long created { get; set; }

        public string created_by { get; set; } = "";

        public long modified { get; set; }

        public string modified_by { get; set; } = "";

        public TreeItem ToItem() => new(
            repo, path, folder != 0, size, sha256, mime,
            DateTimeOffset.FromUnixTimeMilliseconds(created), created_by,
            DateTimeOffset.FromUnixTimeMilliseconds(modified), modified_by);
    }
}
