using System.Text.Json;
using Wharf.Core.Docker.V1;
using Wharf.Core.Repositories;
using Wharf.Core.Tree;

namespace Wharf.Data.Sqlite;

internal sealed class SqliteRepositoryRecords(Db db) : IRepositoryRecords
{
    private const string Columns = "key, docker_api_version, description, force_docker_authentication, anonymous_read, registry_port";

    public async Task<RepositoryConfig?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var row = await db.QuerySingleOrDefaultAsync<Row>($"SELECT {Columns} FROM repositories WHERE key = @key;", new { key }, cancellationToken);
        return row?.ToConfig();
    }

    public async Task<IReadOnlyList<RepositoryConfig>> ListAsync(CancellationToken cancellationToken)
    {
        var rows = await db.QueryAsync<Row>($"SELECT {Columns} FROM repositories ORDER BY key;", null, cancellationToken);
        return [.. rows.Select(r => r.ToConfig())];
    }

    public async Task<bool> TryCreateAsync(RepositoryConfig config, CancellationToken cancellationToken) =>
        await db.ExecuteAsync(
            $"""
            INSERT INTO repositories ({Columns})
            VALUES (@Key, @version, @Description, @ForceDockerAuthentication, @AnonymousRead, @RegistryPort)
            ON CONFLICT (key) DO NOTHING;
            """,
            new { config.Key, version = config.DockerApiVersion.ToString(), config.Description, config.ForceDockerAuthentication, config.AnonymousRead, config.RegistryPort },
            cancellationToken) == 1;

    private sealed class Row
    {
        public string key { get; set; } = "";

        public string docker_api_version { get; set; } = "";

        public string description { get; set; } = "";

        public long force_docker_authentication { get; set; }

        public long anonymous_read { get; set; }

        public long? registry_port { get; set; }

        public RepositoryConfig ToConfig() => new(
            key, Enum.Parse<DockerApiVersion>(docker_api_version), description,
            force_docker_authentication != 0, anonymous_read != 0, (int?)registry_port);
    }
}

internal sealed class SqliteV1UploadRecords(Db db) : IV1UploadRecords
{
    public async Task<V1Upload?> GetAsync(string repo, string imageId, CancellationToken cancellationToken)
    {
        var row = await db.QuerySingleOrDefaultAsync<Row>(
            "SELECT repo, image_id, json, parent, ancestry, layer_sha256, layer_size, payload_checksum, updated FROM v1_uploads WHERE repo = @repo AND image_id = @imageId;",
            new { repo, imageId }, cancellationToken);
        return row is null
            ? null
            : new V1Upload(row.repo, row.image_id, row.json, row.parent, JsonSerializer.Deserialize<string[]>(row.ancestry) ?? [],
                row.layer_sha256, row.layer_size, row.payload_checksum, DateTimeOffset.FromUnixTimeMilliseconds(row.updated));
    }

    public Task UpsertAsync(V1Upload upload, CancellationToken cancellationToken) =>
        db.ExecuteAsync(
            """
            INSERT INTO v1_uploads (repo, image_id, json, parent, ancestry, layer_sha256, layer_size, payload_checksum, updated)
            VALUES (@Repo, @ImageId, @Json, @Parent, @ancestry, @LayerSha256, @LayerSize, @PayloadChecksum, @updated)
            ON CONFLICT (repo, image_id) DO UPDATE SET
                json = excluded.json, parent = excluded.parent, ancestry = excluded.ancestry,
                layer_sha256 = excluded.layer_sha256, layer_size = excluded.layer_size,
                payload_checksum = excluded.payload_checksum, updated = excluded.updated;
            """,
            new
            {
                upload.Repo,
                upload.ImageId,
                upload.Json,
                upload.Parent,
                ancestry = JsonSerializer.Serialize(upload.Ancestry),
                upload.LayerSha256,
                upload.LayerSize,
                upload.PayloadChecksum,
                updated = upload.Updated.ToUnixTimeMilliseconds(),
            },
            cancellationToken);

    public Task DeleteAsync(string repo, string imageId, CancellationToken cancellationToken) =>
        db.ExecuteAsync("DELETE FROM v1_uploads WHERE repo = @repo AND image_id = @imageId;", new { repo, imageId }, cancellationToken);

    private sealed class Row
    {
        public string repo { get; set; } = "";

        public string image_id { get; set; } = "";

        public byte[] json { get; set; } = [];

        public string? parent { get; set; }

        public string ancestry { get; set; } = "[]";

        public string? layer_sha256 { get; set; }

        public long layer_size { get; set; }

        public string? payload_checksum { get; set; }

        public long updated { get; set; }
    }
}

internal sealed class SqliteSettingRecords(Db db) : ISettingRecords
{
    public Task<string?> GetAsync(string name, CancellationToken cancellationToken) =>
        db.ScalarAsync<string?>("SELECT value FROM settings WHERE name = @name;", new { name }, cancellationToken);

    public async Task<string> GetOrAddAsync(string name, string value, CancellationToken cancellationToken)
    {
        await db.ExecuteAsync("INSERT INTO settings (name, value) VALUES (@name, @value) ON CONFLICT (name) DO NOTHING;", new { name, value }, cancellationToken);
        return (await GetAsync(name, cancellationToken))!;
    }

    public Task SetAsync(string name, string value, CancellationToken cancellationToken) =>
        db.ExecuteAsync("INSERT INTO settings (name, value) VALUES (@name, @value) ON CONFLICT (name) DO UPDATE SET value = excluded.value;", new { name, value }, cancellationToken);
}
