using System.Text.Json;
using Wharf.Core.Metadata;

namespace Wharf.Data.Sqlite;

internal sealed class SqliteCredentialRecords(Db db) : ICredentialRecords
{
    private const string TokenColumns = "id, token_sha256, refresh_sha256, subject, groups, scope, issued, expiry, revoked, subject_id, parent_id";

    public async Task<ApiKeyRecord?> ApiKeyOfAsync(string user, CancellationToken cancellationToken) =>
        (await db.QuerySingleOrDefaultAsync<KeyRow>("SELECT user_name, key_sha256, prefix, created FROM api_keys WHERE user_name = @user;", new { user }, cancellationToken))?.ToRecord();

    public async Task<ApiKeyRecord?> ApiKeyByHashAsync(string keySha256, CancellationToken cancellationToken) =>
        (await db.QuerySingleOrDefaultAsync<KeyRow>("SELECT user_name, key_sha256, prefix, created FROM api_keys WHERE key_sha256 = @keySha256;", new { keySha256 }, cancellationToken))?.ToRecord();

    public async Task<bool> SetApiKeyAsync(ApiKeyRecord key, bool replace, CancellationToken cancellationToken) =>
        await db.ExecuteAsync(
            replace
                ? "INSERT INTO api_keys (user_name, key_sha256, prefix, created) VALUES (@UserName, @KeySha256, @Prefix, @created) ON CONFLICT (user_name) DO UPDATE SET key_sha256 = excluded.key_sha256, prefix = excluded.prefix, created = excluded.created;"
                : "INSERT INTO api_keys (user_name, key_sha256, prefix, created) VALUES (@UserName, @KeySha256, @Prefix, @created) ON CONFLICT (user_name) DO NOTHING;",
            new { key.UserName, key.KeySha256, key.Prefix, created = key.Created.ToUnixTimeMilliseconds() },
            cancellationToken) == 1;

    public async Task<bool> DeleteApiKeyAsync(string user, CancellationToken cancellationToken) =>
        await db.ExecuteAsync("DELETE FROM api_keys WHERE user_name = @user;", new { user }, cancellationToken) == 1;

    public Task AddTokenAsync(AccessTokenRecord token, CancellationToken cancellationToken) =>
        db.ExecuteAsync(
            $"INSERT INTO access_tokens ({TokenColumns}) VALUES (@Id, @TokenSha256, @RefreshSha256, @Subject, @groups, @Scope, @issued, @expiry, @Revoked, @SubjectId, @ParentId);",
            new
            {
                token.Id,
                token.TokenSha256,
                token.RefreshSha256,
                token.Subject,
                token.Scope,
                token.Revoked,
                token.SubjectId,
                token.ParentId,
                groups = token.Groups is null ? null : JsonSerializer.Serialize(token.Groups),
                issued = token.Issued.ToUnixTimeMilliseconds(),
                expiry = token.Expiry?.ToUnixTimeMilliseconds(),
            },
            cancellationToken);

    public async Task<AccessTokenRecord?> TokenByHashAsync(string tokenSha256, CancellationToken cancellationToken) =>
        (await db.QuerySingleOrDefaultAsync<TokenRow>($"SELECT {TokenColumns} FROM access_tokens WHERE token_sha256 = @tokenSha256;", new { tokenSha256 }, cancellationToken))?.ToRecord();

    public async Task<AccessTokenRecord?> TokenByIdAsync(string id, CancellationToken cancellationToken) =>
        (await db.QuerySingleOrDefaultAsync<TokenRow>($"SELECT {TokenColumns} FROM access_tokens WHERE id = @id;", new { id }, cancellationToken))?.ToRecord();

    public async Task<IReadOnlyList<AccessTokenRecord>> TokenChainAsync(string id, int maxDepth, CancellationToken cancellationToken) =>
        [.. (await db.QueryAsync<TokenRow>(
            $"""
            WITH RECURSIVE chain (link, depth) AS (
                SELECT @id, 0
                UNION ALL
                SELECT t.parent_id, chain.depth + 1 FROM access_tokens t JOIN chain ON t.id = chain.link
                WHERE t.parent_id IS NOT NULL AND chain.depth + 1 < @maxDepth)
            SELECT {TokenColumns} FROM chain JOIN access_tokens ON access_tokens.id = chain.link ORDER BY chain.depth;
            """,
            new { id, maxDepth },
            cancellationToken)).Select(r => r.ToRecord())];

    public async Task<AccessTokenRecord?> TokenByRefreshHashAsync(string refreshSha256, CancellationToken cancellationToken) =>
        (await db.QuerySingleOrDefaultAsync<TokenRow>($"SELECT {TokenColumns} FROM access_tokens WHERE refresh_sha256 = @refreshSha256;", new { refreshSha256 }, cancellationToken))?.ToRecord();

    public async Task<IReadOnlyList<AccessTokenRecord>> ListTokensAsync(CancellationToken cancellationToken) =>
        [.. (await db.QueryAsync<TokenRow>($"SELECT {TokenColumns} FROM access_tokens WHERE revoked = 0 ORDER BY issued;", null, cancellationToken)).Select(r => r.ToRecord())];

    public Task<int> RevokeTokensOfAsync(string subject, CancellationToken cancellationToken) =>
        db.ExecuteAsync("UPDATE access_tokens SET revoked = 1 WHERE revoked = 0 AND subject = @subject COLLATE NOCASE;", new { subject }, cancellationToken);

    public async Task<bool> RevokeTokenAsync(string? id, string? tokenSha256, CancellationToken cancellationToken) =>
        await db.ExecuteAsync(
            "UPDATE access_tokens SET revoked = 1 WHERE revoked = 0 AND (id = @id OR token_sha256 = @tokenSha256);",
            new { id, tokenSha256 }, cancellationToken) > 0;

    private sealed class KeyRow
    {
        public string user_name { get; set; } = "";

        public string key_sha256 { get; set; } = "";

        public string prefix { get; set; } = "";

        public long created { get; set; }

        public ApiKeyRecord ToRecord() => new(user_name, key_sha256, prefix, DateTimeOffset.FromUnixTimeMilliseconds(created));
    }

    private sealed class TokenRow
    {
        public string id { get; set; } = "";

        public string token_sha256 { get; set; } = "";

        public string? refresh_sha256 { get; set; }

        public string subject { get; set; } = "";

        public string? groups { get; set; }

        public string scope { get; set; } = "";

        public long issued { get; set; }

        public long? expiry { get; set; }

        public long revoked { get; set; }

        public string? subject_id { get; set; }

        public string? parent_id { get; set; }

        public AccessTokenRecord ToRecord() => new(
            id, token_sha256, refresh_sha256, subject,
            groups is null ? null : JsonSerializer.Deserialize<string[]>(groups),
            scope, DateTimeOffset.FromUnixTimeMilliseconds(issued),
            expiry is { } e ? DateTimeOffset.FromUnixTimeMilliseconds(e) : null, revoked != 0, subject_id, parent_id);
    }
}
