using System.Text.Json;
using Wharf.Core.Metadata;

namespace Wharf.Data.Sqlite;

/// <summary>The V1 index in SQLite; reachability is one query over tags and the ancestries recorded with the images.</summary>
internal sealed class SqliteV1IndexRecords(Db db) : IV1IndexRecords
{
    private const string ImageColumns =
        "repo, id, ancestry, complete, json_sha256, json_size, layer_sha256, layer_size, ancestry_sha256, payload_checksum, created";

    private const string TagColumns = "repo, path, repository, tag, image_id, created";

    public Task PutImageAsync(V1ImageRow row, CancellationToken cancellationToken) =>
        db.ExecuteAsync(
            $"""
            INSERT OR REPLACE INTO v1_images ({ImageColumns})
            VALUES (@Repo, @Id, @ancestry, @Complete, @JsonSha256, @JsonSize, @LayerSha256, @LayerSize, @AncestrySha256, @PayloadChecksum, @created);
            """,
            new
            {
                row.Repo,
                row.Id,
                row.Complete,
                row.JsonSha256,
                row.JsonSize,
                row.LayerSha256,
                row.LayerSize,
                row.AncestrySha256,
                row.PayloadChecksum,
                ancestry = row.Ancestry is null ? null : JsonSerializer.Serialize(row.Ancestry),
                created = row.Created.ToUnixTimeMilliseconds(),
            },
            cancellationToken);

    public Task ForgetImageAsync(string repo, string id, CancellationToken cancellationToken) =>
        db.ExecuteAsync("DELETE FROM v1_images WHERE repo = @repo AND id = @id;", new { repo, id }, cancellationToken);

    public Task PutTagAsync(V1TagRow row, CancellationToken cancellationToken) =>
        db.ExecuteAsync(
            $"INSERT OR REPLACE INTO v1_tags ({TagColumns}) VALUES (@Repo, @Path, @Repository, @Tag, @ImageId, @created);",
            new { row.Repo, row.Path, row.Repository, row.Tag, row.ImageId, created = row.Created.ToUnixTimeMilliseconds() }, cancellationToken);

    public async Task PutIndexAsync(string repo, string path, IReadOnlyList<string> imageIds, CancellationToken cancellationToken)
    {
        await db.ExecuteAsync("DELETE FROM v1_index_images WHERE repo = @repo AND path = @path;", new { repo, path }, cancellationToken);
        for (var position = 0; position < imageIds.Count; position++)
        {
            await db.ExecuteAsync(
                "INSERT INTO v1_index_images (repo, path, position, image_id) VALUES (@repo, @path, @position, @id);",
                new { repo, path, position, id = imageIds[position] }, cancellationToken);
        }
    }

    public Task ForgetAsync(string repo, string path, bool below, CancellationToken cancellationToken)
    {
        // Paths below "p" sort between "p/" and "p0" ('0' follows '/'); an image's folder is ".images/<id>".
        string Test(string column) => !below ? $"{column} = @path" : path.Length == 0 ? "1" : $"({column} = @path OR ({column} > @from AND {column} < @to))";
        return db.ExecuteAsync(
            $"""
            DELETE FROM v1_tags WHERE repo = @repo AND {Test("path")};
            DELETE FROM v1_index_images WHERE repo = @repo AND {Test("path")};
            DELETE FROM v1_images WHERE repo = @repo AND {Test("('.images/' || id)")};
            """,
            new { repo, path, from = path + "/", to = path + "0" }, cancellationToken);
    }

    public async Task<V1ImageRow?> ImageAsync(string repo, string id, CancellationToken cancellationToken) =>
        (await db.QuerySingleOrDefaultAsync<ImageRow>($"SELECT {ImageColumns} FROM v1_images WHERE repo = @repo AND id = @id;", new { repo, id }, cancellationToken))?.ToRow();

    public async Task<IReadOnlyList<V1TagRow>> TagsAsync(string repo, string repository, CancellationToken cancellationToken) =>
        [.. (await db.QueryAsync<TagRow>($"SELECT {TagColumns} FROM v1_tags WHERE repo = @repo AND repository = @repository ORDER BY path;", new { repo, repository }, cancellationToken))
            .Select(r => r.ToRow())];

    public async Task<IReadOnlyList<string>> IndexAsync(string repo, string path, CancellationToken cancellationToken) =>
        [.. await db.QueryAsync<string>("SELECT image_id FROM v1_index_images WHERE repo = @repo AND path = @path ORDER BY position;", new { repo, path }, cancellationToken)];

    /// <summary>An image without a recorded ancestry reaches only itself, as its tag names it.</summary>
    public async Task<IReadOnlyList<(string ImageId, string TagPath)>> ReachableAsync(string repo, CancellationToken cancellationToken) =>
        [.. await db.QueryAsync<(string, string)>(
            """
            SELECT COALESCE(a.value, t.image_id) AS image_id, t.path AS tag_path
            FROM v1_tags t
            LEFT JOIN v1_images i ON i.repo = t.repo AND i.id = t.image_id
            LEFT JOIN json_each(i.ancestry) a
            WHERE t.repo = @repo
            ORDER BY t.path;
            """,
            new { repo }, cancellationToken)];

    public async Task<IReadOnlyList<string>> ListedByIndexesAsync(string repo, IReadOnlyCollection<string> indexPaths, CancellationToken cancellationToken) =>
        indexPaths.Count == 0
            ? []
            : [.. await db.QueryAsync<string>("SELECT DISTINCT image_id FROM v1_index_images WHERE repo = @repo AND path IN @indexPaths;", new { repo, indexPaths }, cancellationToken)];

    public async Task<IReadOnlyList<V1ImageRow>> AllImagesAsync(string repo, CancellationToken cancellationToken) =>
        [.. (await db.QueryAsync<ImageRow>($"SELECT {ImageColumns} FROM v1_images WHERE repo = @repo ORDER BY id;", new { repo }, cancellationToken)).Select(r => r.ToRow())];

    public async Task<IReadOnlyList<V1TagRow>> AllTagsAsync(string repo, CancellationToken cancellationToken) =>
        [.. (await db.QueryAsync<TagRow>($"SELECT {TagColumns} FROM v1_tags WHERE repo = @repo ORDER BY path;", new { repo }, cancellationToken)).Select(r => r.ToRow())];

    public async Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> AllIndexesAsync(string repo, CancellationToken cancellationToken) =>
        (await db.QueryAsync<(string Path, string ImageId)>("SELECT path, image_id FROM v1_index_images WHERE repo = @repo ORDER BY path, position;", new { repo }, cancellationToken))
            .GroupBy(r => r.Path, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<string>)[.. g.Select(r => r.ImageId)], StringComparer.Ordinal);

    private sealed class ImageRow
    {
        public string repo { get; set; } = "";

        public string id { get; set; } = "";

        public string? ancestry { get; set; }

        public long complete { get; set; }

        public string? json_sha256 { get; set; }

        public long json_size { get; set; }

        public string? layer_sha256 { get; set; }

        public long layer_size { get; set; }

        public string? ancestry_sha256 { get; set; }

        public string? payload_checksum { get; set; }

        public long created { get; set; }

        public V1ImageRow ToRow() => new(
            repo, id, ancestry is null ? null : JsonSerializer.Deserialize<string[]>(ancestry), complete != 0, json_sha256, json_size, layer_sha256, layer_size,
            ancestry_sha256, payload_checksum, DateTimeOffset.FromUnixTimeMilliseconds(created));
    }

    private sealed class TagRow
    {
        public string repo { get; set; } = "";

        public string path { get; set; } = "";

        public string repository { get; set; } = "";

        public string tag { get; set; } = "";

        public string image_id { get; set; } = "";

        public long created { get; set; }

        public V1TagRow ToRow() => new(repo, path, repository, tag, image_id, DateTimeOffset.FromUnixTimeMilliseconds(created));
    }
}
