using System.Text.Json;
using Wharf.Core.Metadata;

namespace Wharf.Data.Sqlite;

internal sealed class SqliteRepositoryRecords(Db db) : IRepositoryRecords
{
    private const string Columns =
        "key, docker_api_version, description, force_docker_authentication, anonymous_read, registry_port, notes, includes_pattern, excludes_pattern, "
        + "repo_layout_ref, max_unique_tags, docker_tag_retention, block_pushing_schema1, blacked_out, property_sets, created";

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
            VALUES (@Key, @version, @Description, @ForceDockerAuthentication, @AnonymousRead, @RegistryPort, @Notes, @IncludesPattern, @ExcludesPattern,
                    @RepoLayoutRef, @MaxUniqueTags, @DockerTagRetention, @BlockPushingSchema1, @BlackedOut, @PropertySets, @created)
            ON CONFLICT (key) DO NOTHING;
            """,
            Args(config), cancellationToken) == 1;

    public async Task<bool> UpdateAsync(RepositoryConfig config, CancellationToken cancellationToken) =>
        await db.ExecuteAsync(
            """
            UPDATE repositories SET description = @Description, force_docker_authentication = @ForceDockerAuthentication,
                anonymous_read = @AnonymousRead, registry_port = @RegistryPort, notes = @Notes, includes_pattern = @IncludesPattern,
                excludes_pattern = @ExcludesPattern, repo_layout_ref = @RepoLayoutRef, max_unique_tags = @MaxUniqueTags,
                docker_tag_retention = @DockerTagRetention, block_pushing_schema1 = @BlockPushingSchema1, blacked_out = @BlackedOut,
                property_sets = @PropertySets
            WHERE key = @Key;
            """,
            Args(config), cancellationToken) == 1;

    public async Task<bool> DeleteAsync(string key, CancellationToken cancellationToken)
    {
        var deleted = await db.ExecuteAsync("DELETE FROM repositories WHERE key = @key;", new { key }, cancellationToken) == 1;
        if (deleted)
        {
            await db.ExecuteAsync(
                "DELETE FROM items WHERE repo = @key; DELETE FROM v1_uploads WHERE repo = @key; DELETE FROM v2_manifests WHERE repo = @key; DELETE FROM v2_blob_links WHERE repo = @key; "
                + "DELETE FROM v1_images WHERE repo = @key; DELETE FROM v1_tags WHERE repo = @key; DELETE FROM v1_index_images WHERE repo = @key;",
                new { key }, cancellationToken);
        }

        return deleted;
    }

    private static object Args(RepositoryConfig config) => new
    {
        config.Key,
        version = config.DockerApiVersion.ToString(),
        config.Description,
        config.ForceDockerAuthentication,
        config.AnonymousRead,
        config.RegistryPort,
        config.Notes,
        config.IncludesPattern,
        config.ExcludesPattern,
        config.RepoLayoutRef,
        config.MaxUniqueTags,
        config.DockerTagRetention,
        config.BlockPushingSchema1,
        config.BlackedOut,
        config.PropertySets,
        created = config.Created.ToUnixTimeMilliseconds(),
    };

    private sealed class Row
    {
        public string key { get; set; } = "";

        public string docker_api_version { get; set; } = "";

        public string description { get; set; } = "";

        public long force_docker_authentication { get; set; }

        public long anonymous_read { get; set; }

        public long? registry_port { get; set; }

        public string notes { get; set; } = "";

        public string includes_pattern { get; set; } = "";

        public string excludes_pattern { get; set; } = "";

        public string repo_layout_ref { get; set; } = "";

        public long max_unique_tags { get; set; }

        public long docker_tag_retention { get; set; }

        public long block_pushing_schema1 { get; set; }

        public long blacked_out { get; set; }

        public string property_sets { get; set; } = "";

        public long created { get; set; }

        public RepositoryConfig ToConfig() => new(
            key, Enum.Parse<DockerApiVersion>(docker_api_version), description,
            force_docker_authentication != 0, anonymous_read != 0, (int?)registry_port)
        {
            Notes = notes,
            IncludesPattern = includes_pattern,
            ExcludesPattern = excludes_pattern,
            RepoLayoutRef = repo_layout_ref,
            MaxUniqueTags = (int)max_unique_tags,
            DockerTagRetention = (int)docker_tag_retention,
            BlockPushingSchema1 = block_pushing_schema1 != 0,
            BlackedOut = blacked_out != 0,
            PropertySets = property_sets,
            Created = DateTimeOffset.FromUnixTimeMilliseconds(created),
        };
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

    public Task<int> DeleteStaleAsync(DateTimeOffset updatedBefore, CancellationToken cancellationToken) =>
        db.ExecuteAsync("DELETE FROM v1_uploads WHERE updated < @cutoff;", new { cutoff = updatedBefore.ToUnixTimeMilliseconds() }, cancellationToken);

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

internal sealed class SqliteBlobRecords(Db db) : IBlobRecords
{
    private const string Unreferenced = """
        NOT EXISTS (SELECT 1 FROM items i WHERE i.sha256 = b.sha256)
        AND NOT EXISTS (SELECT 1 FROM v1_uploads u WHERE u.layer_sha256 = b.sha256)
        """;

    public Task RecordSha512Async(string sha256, string sha512, CancellationToken cancellationToken) =>
        db.ExecuteAsync("UPDATE blobs SET sha512 = @sha512 WHERE sha256 = @sha256;", new { sha256, sha512 }, cancellationToken);

    public Task<string?> GetSha512Async(string sha256, CancellationToken cancellationToken) =>
        db.ScalarAsync<string?>("SELECT sha512 FROM blobs WHERE sha256 = @sha256;", new { sha256 }, cancellationToken);

    public async Task<IReadOnlyList<StoredBlobRow>> ListUnreferencedAsync(DateTimeOffset recordedBefore, int limit, CancellationToken cancellationToken)
    {
        var rows = await db.QueryAsync<StoredBlobRow>(
            $"SELECT b.sha256 AS Sha256, b.size AS Size FROM blobs b WHERE b.created < @cutoff AND {Unreferenced} ORDER BY b.created LIMIT @limit;",
            new { cutoff = recordedBefore.ToUnixTimeMilliseconds(), limit }, cancellationToken);
        return [.. rows];
    }

    public async Task<bool> IsReferencedAsync(string sha256, CancellationToken cancellationToken) =>
        await db.ScalarAsync<long>(
            """
            SELECT EXISTS (SELECT 1 FROM items WHERE sha256 = @sha256)
                OR EXISTS (SELECT 1 FROM v1_uploads WHERE layer_sha256 = @sha256);
            """,
            new { sha256 }, cancellationToken) != 0;

    public Task DeleteAsync(string sha256, CancellationToken cancellationToken) =>
        db.ExecuteAsync("DELETE FROM blobs WHERE sha256 = @sha256;", new { sha256 }, cancellationToken);

    public Task<BlobTotals> TotalsAsync(CancellationToken cancellationToken) =>
        db.QuerySingleOrDefaultAsync<BlobTotals>(
            $"""
            SELECT COUNT(*) AS Count, COALESCE(SUM(b.size), 0) AS Bytes,
                   COALESCE(SUM(CASE WHEN {Unreferenced} THEN 1 ELSE 0 END), 0) AS UnreferencedCount,
                   COALESCE(SUM(CASE WHEN {Unreferenced} THEN b.size ELSE 0 END), 0) AS UnreferencedBytes
            FROM blobs b;
            """,
            null, cancellationToken)!;
}

internal sealed class SqliteV2UploadRecords(Db db) : IV2UploadRecords
{
    private const string Columns = "id AS Id, repo AS Repo, image AS Image, size AS Size, chunks AS Chunks, single_chunk_sha256 AS SingleChunkSha256, created AS CreatedMillis, updated AS UpdatedMillis, chunk_keys AS ChunkKeys";

    public async Task<V2Upload?> GetAsync(string id, CancellationToken cancellationToken)
    {
        var row = await db.QuerySingleOrDefaultAsync<Row>($"SELECT {Columns} FROM v2_uploads WHERE id = @id;", new { id }, cancellationToken);
        return row?.ToUpload();
    }

    public Task UpsertAsync(V2Upload upload, CancellationToken cancellationToken) =>
        db.ExecuteAsync(
            """
            INSERT INTO v2_uploads (id, repo, image, size, chunks, single_chunk_sha256, created, updated, chunk_keys)
            VALUES (@Id, @Repo, @Image, @Size, @Chunks, @SingleChunkSha256, @created, @updated, @keys)
            ON CONFLICT (id) DO UPDATE SET size = excluded.size, chunks = excluded.chunks,
                single_chunk_sha256 = excluded.single_chunk_sha256, updated = excluded.updated, chunk_keys = excluded.chunk_keys;
            """,
            new
            {
                upload.Id,
                upload.Repo,
                upload.Image,
                upload.Size,
                upload.Chunks,
                upload.SingleChunkSha256,
                created = upload.Created.ToUnixTimeMilliseconds(),
                updated = upload.Updated.ToUnixTimeMilliseconds(),
                keys = JsonSerializer.Serialize(upload.ChunkKeys),
            },
            cancellationToken);

    public Task DeleteAsync(string id, CancellationToken cancellationToken) =>
        db.ExecuteAsync("DELETE FROM v2_uploads WHERE id = @id;", new { id }, cancellationToken);

    public async Task<IReadOnlyList<V2Upload>> DeleteForRepositoryAsync(string repo, CancellationToken cancellationToken)
    {
        var rows = await db.QueryAsync<Row>($"DELETE FROM v2_uploads WHERE repo = @repo COLLATE NOCASE RETURNING {Columns};", new { repo }, cancellationToken);
        return [.. rows.Select(r => r.ToUpload())];
    }

    public async Task<IReadOnlyList<V2Upload>> DeleteStaleAsync(DateTimeOffset updatedBefore, CancellationToken cancellationToken)
    {
        var rows = await db.QueryAsync<Row>(
            $"DELETE FROM v2_uploads WHERE updated < @cutoff RETURNING {Columns};", new { cutoff = updatedBefore.ToUnixTimeMilliseconds() }, cancellationToken);
        return [.. rows.Select(r => r.ToUpload())];
    }

    private sealed class Row
    {
        public string Id { get; set; } = "";

        public string Repo { get; set; } = "";

        public string Image { get; set; } = "";

        public long Size { get; set; }

        public long Chunks { get; set; }

        public string? SingleChunkSha256 { get; set; }

        public long CreatedMillis { get; set; }

        public long UpdatedMillis { get; set; }

        public string ChunkKeys { get; set; } = "[]";

        public V2Upload ToUpload() => new(
            Id, Repo, Image, Size, (int)Chunks, SingleChunkSha256,
            DateTimeOffset.FromUnixTimeMilliseconds(CreatedMillis), DateTimeOffset.FromUnixTimeMilliseconds(UpdatedMillis))
        {
            ChunkKeys = JsonSerializer.Deserialize<string[]>(ChunkKeys) ?? [],
        };
    }
}
