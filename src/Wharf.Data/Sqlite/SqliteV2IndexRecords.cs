using Wharf.Core.Metadata;

namespace Wharf.Data.Sqlite;

/// <summary>The V2 index in SQLite: one indexed query per question, no scans of the tree.</summary>
internal sealed class SqliteV2IndexRecords(Db db) : IV2IndexRecords
{
    private const string ManifestColumns =
        "repo, path, image, folder, is_tag, digest, sha256, media_type, size, config_digest, subject, artifact_type, created, modified";

    private const string LinkColumns = "repo, path, image, folder, digest, sha256, size, modified";

    /// <summary>Within one folder or image, <c>manifest.json</c> files come before <c>list.manifest.json</c> ones, as the tree was read before.</summary>
    private const string ManifestOrder = "ORDER BY (path GLOB '*/list.manifest.json'), path";

    public async Task PutManifestAsync(V2ManifestRow row, IReadOnlyList<V2ManifestReference>? references, CancellationToken cancellationToken)
    {
        await db.ExecuteAsync(
            $"""
            INSERT OR REPLACE INTO v2_manifests ({ManifestColumns})
            VALUES (@Repo, @Path, @Image, @Folder, @IsTag, @Digest, @Sha256, @MediaType, @Size, @ConfigDigest, @Subject, @ArtifactType, @created, @modified);
            """,
            new
            {
                row.Repo,
                row.Path,
                row.Image,
                row.Folder,
                row.IsTag,
                row.Digest,
                row.Sha256,
                row.MediaType,
                row.Size,
                row.ConfigDigest,
                row.Subject,
                row.ArtifactType,
                created = row.Created.ToUnixTimeMilliseconds(),
                modified = row.Modified.ToUnixTimeMilliseconds(),
            },
            cancellationToken);
        foreach (var reference in references ?? [])
        {
            await db.ExecuteAsync(
                """
                INSERT INTO v2_manifest_references (manifest_sha256, position, kind, digest, size)
                VALUES (@sha256, @Position, @Kind, @Digest, @Size) ON CONFLICT DO NOTHING;
                """,
                new { sha256 = row.Sha256, reference.Position, reference.Kind, reference.Digest, reference.Size }, cancellationToken);
        }
    }

    public Task PutBlobLinkAsync(V2BlobLinkRow row, CancellationToken cancellationToken) =>
        db.ExecuteAsync(
            $"INSERT OR REPLACE INTO v2_blob_links ({LinkColumns}) VALUES (@Repo, @Path, @Image, @Folder, @Digest, @Sha256, @Size, @modified);",
            new { row.Repo, row.Path, row.Image, row.Folder, row.Digest, row.Sha256, row.Size, modified = row.Modified.ToUnixTimeMilliseconds() },
            cancellationToken);

    public async Task<bool> HasReferencesAsync(string manifestSha256, CancellationToken cancellationToken) =>
        await db.ScalarAsync<long?>("SELECT 1 FROM v2_manifest_references WHERE manifest_sha256 = @manifestSha256 LIMIT 1;", new { manifestSha256 }, cancellationToken) is not null;

    public Task ForgetAsync(string repo, string path, bool below, CancellationToken cancellationToken)
    {
        // Paths below "p" sort between "p/" and "p0" ('0' follows '/'), as in the tree's queries.
        var test = !below ? "path = @path" : path.Length == 0 ? "1" : "(path = @path OR (path > @from AND path < @to))";
        return db.ExecuteAsync(
            $"DELETE FROM v2_manifests WHERE repo = @repo AND {test}; DELETE FROM v2_blob_links WHERE repo = @repo AND {test};",
            new { repo, path, from = path + "/", to = path + "0" }, cancellationToken);
    }

    public Task<IReadOnlyList<V2ManifestRow>> ManifestsInFolderAsync(string repo, string image, string folder, CancellationToken cancellationToken) =>
        ManifestsAsync($"repo = @repo AND image = @image AND folder = @folder {ManifestOrder}", new { repo, image, folder }, cancellationToken);

    public Task<IReadOnlyList<V2ManifestRow>> ManifestsOfImageAsync(string repo, string image, CancellationToken cancellationToken) =>
        ManifestsAsync($"repo = @repo AND image = @image {ManifestOrder}", new { repo, image }, cancellationToken);

    public Task<IReadOnlyList<V2ManifestRow>> ManifestsWithContentAsync(string repo, string image, string sha256, CancellationToken cancellationToken) =>
        ManifestsAsync($"repo = @repo AND image = @image AND sha256 = @sha256 {ManifestOrder}", new { repo, image, sha256 }, cancellationToken);

    public Task<IReadOnlyList<V2ManifestRow>> TagsAsync(string repo, string image, CancellationToken cancellationToken) =>
        ManifestsAsync("repo = @repo AND is_tag = 1 AND image = @image ORDER BY folder, (path GLOB '*/list.manifest.json')", new { repo, image }, cancellationToken);

    public async Task<bool> ImageExistsAsync(string repo, string image, CancellationToken cancellationToken) =>
        await db.ScalarAsync<long?>(
            """
            SELECT 1 WHERE EXISTS (SELECT 1 FROM v2_manifests WHERE repo = @repo AND image = @image)
                        OR EXISTS (SELECT 1 FROM v2_blob_links WHERE repo = @repo AND image = @image);
            """,
            new { repo, image }, cancellationToken) is not null;

    public async Task<IReadOnlyList<string>> TaggedImagesAsync(string repo, CancellationToken cancellationToken) =>
        [.. (await db.QueryAsync<string>("SELECT DISTINCT image FROM v2_manifests WHERE repo = @repo AND is_tag = 1;", new { repo }, cancellationToken))
            .Order(StringComparer.Ordinal)];

    public Task<IReadOnlyList<V2ManifestRow>> ReferrersAsync(string repo, string image, string subject, CancellationToken cancellationToken) =>
        ManifestsAsync("repo = @repo AND image = @image AND subject = @subject ORDER BY path", new { repo, image, subject }, cancellationToken);

    public Task<IReadOnlyList<V2BlobLinkRow>> BlobLinksAsync(string repo, string image, string digest, CancellationToken cancellationToken) =>
        LinksAsync("repo = @repo AND image = @image AND digest = @digest ORDER BY path", new { repo, image, digest }, cancellationToken);

    public Task<IReadOnlyList<V2BlobLinkRow>> BlobLinksInRepositoryAsync(string repo, string digest, CancellationToken cancellationToken) =>
        LinksAsync("repo = @repo AND digest = @digest ORDER BY path", new { repo, digest }, cancellationToken);

    public Task<IReadOnlyList<V2BlobLinkRow>> StaleUploadsAsync(DateTimeOffset modifiedBefore, int limit, CancellationToken cancellationToken) =>
        LinksAsync("folder = '_uploads' AND modified < @cutoff ORDER BY modified LIMIT @limit", new { cutoff = modifiedBefore.ToUnixTimeMilliseconds(), limit }, cancellationToken);

    public Task<IReadOnlyList<V2ManifestRow>> AllManifestsAsync(string repo, CancellationToken cancellationToken) =>
        ManifestsAsync("repo = @repo ORDER BY path", new { repo }, cancellationToken);

    public Task<IReadOnlyList<V2BlobLinkRow>> AllBlobLinksAsync(string repo, CancellationToken cancellationToken) =>
        LinksAsync("repo = @repo ORDER BY path", new { repo }, cancellationToken);

    public async Task<IReadOnlyList<V2ManifestReference>> ReferencesAsync(string manifestSha256, CancellationToken cancellationToken) =>
        [.. (await db.QueryAsync<ReferenceRow>(
            "SELECT position, kind, digest, size FROM v2_manifest_references WHERE manifest_sha256 = @manifestSha256 ORDER BY position;",
            new { manifestSha256 }, cancellationToken)).Select(r => new V2ManifestReference((int)r.position, r.kind, r.digest, r.size))];

    private async Task<IReadOnlyList<V2ManifestRow>> ManifestsAsync(string where, object args, CancellationToken cancellationToken) =>
        [.. (await db.QueryAsync<ManifestRow>($"SELECT {ManifestColumns} FROM v2_manifests WHERE {where};", args, cancellationToken)).Select(r => r.ToRow())];

    private async Task<IReadOnlyList<V2BlobLinkRow>> LinksAsync(string where, object args, CancellationToken cancellationToken) =>
        [.. (await db.QueryAsync<LinkRow>($"SELECT {LinkColumns} FROM v2_blob_links WHERE {where};", args, cancellationToken)).Select(r => r.ToRow())];

    private sealed class ManifestRow
    {
        public string repo { get; set; } = "";

        public string path { get; set; } = "";

        public string image { get; set; } = "";

        public string folder { get; set; } = "";

        public long is_tag { get; set; }

        public string digest { get; set; } = "";

        public string sha256 { get; set; } = "";

        public string media_type { get; set; } = "";

        public long size { get; set; }

        public string? config_digest { get; set; }

        public string? subject { get; set; }

        public string? artifact_type { get; set; }

        public long created { get; set; }

        public long modified { get; set; }

        public V2ManifestRow ToRow() => new(
            repo, path, image, folder, is_tag != 0, digest, sha256, media_type, size, config_digest, subject, artifact_type,
            DateTimeOffset.FromUnixTimeMilliseconds(created), DateTimeOffset.FromUnixTimeMilliseconds(modified));
    }

    private sealed class LinkRow
    {
        public string repo { get; set; } = "";

        public string path { get; set; } = "";

        public string image { get; set; } = "";

        public string folder { get; set; } = "";

        public string digest { get; set; } = "";

        public string sha256 { get; set; } = "";

        public long size { get; set; }

        public long modified { get; set; }

        public V2BlobLinkRow ToRow() => new(repo, path, image, folder, digest, sha256, size, DateTimeOffset.FromUnixTimeMilliseconds(modified));
    }

    private sealed class ReferenceRow
    {
        public long position { get; set; }

        public string kind { get; set; } = "";

        public string digest { get; set; } = "";

        public long size { get; set; }
    }
}
