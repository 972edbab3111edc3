using Wharf.Core.Metadata;
using Wharf.Core.Tree;
using Wharf.Data.Sqlite;

namespace Wharf.Data.Tests;

/// <summary>
/// Behaviour every metadata store must have; SQLite runs it now, PostgreSQL will run the same class.
/// Each test gets a fresh, migrated store.
/// </summary>
public abstract class MetadataStoreConformanceTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    internal IMetadataStore Store { get; private set; } = null!;

    internal abstract IMetadataStore CreateStore();

    public async Task InitializeAsync()
    {
        Store = CreateStore();
        await Store.MigrateAsync(default);
    }

    public virtual Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Migrations_are_idempotent()
    {
        await Store.MigrateAsync(default);
        await using var session = await Store.OpenAsync(default);
        Assert.Empty(await session.Repositories.ListAsync(default));
    }

    [Fact]
    public async Task Repository_keys_are_unique_case_insensitively()
    {
        await using var tx = await Store.BeginAsync(default);
        Assert.True(await tx.Repositories.TryCreateAsync(new RepositoryConfig("docker-local", DockerApiVersion.V1, "d", AnonymousRead: true), default));
        Assert.False(await tx.Repositories.TryCreateAsync(new RepositoryConfig("DOCKER-local", DockerApiVersion.V2), default));
        await tx.CommitAsync(default);

        await using var session = await Store.OpenAsync(default);
        var stored = await session.Repositories.GetAsync("docker-local", default);
        Assert.Equal(new RepositoryConfig("docker-local", DockerApiVersion.V1, "d", AnonymousRead: true), stored);
    }

    [Fact]
    public async Task Files_create_their_folders_and_keep_their_properties()
    {
        await using (var tx = await Store.BeginAsync(default))
        {
            var properties = new Dictionary<string, IReadOnlyList<string>> { ["k"] = ["1", "2"], ["docker.tag.name"] = ["latest"] };
            await tx.Tree.PutFileAsync("r", new NewFile("a/b/c.json", new string('1', 64), 10, "application/json", properties), "alice", T0, default);
            await tx.CommitAsync(default);
        }

        await using var session = await Store.OpenAsync(default);
        var file = await session.Tree.GetAsync("r", "a/b/c.json", default);
        Assert.Equal(new TreeItem("r", "a/b/c.json", false, 10, new string('1', 64), "application/json", T0, "alice", T0, "alice"), file);
        Assert.True((await session.Tree.GetAsync("r", "a/b", default))!.IsFolder);
        Assert.True((await session.Tree.GetAsync("r", "a", default))!.IsFolder);
        Assert.Equal(["a"], (await session.Tree.ListChildrenAsync("r", "", default)).Select(i => i.Path));
        Assert.Equal(["a/b", "a/b/c.json"], (await session.Tree.ListDescendantsAsync("r", "a", default)).Select(i => i.Path));
        var stored = await session.Tree.GetPropertiesAsync("r", "a/b/c.json", default);
        Assert.Equal(["1", "2"], stored["k"]);
        Assert.Equal(["latest"], stored["docker.tag.name"]);
        Assert.Equal(new BlobChecksums(new string('1', 64), null, null), await session.Tree.GetChecksumsAsync(new string('1', 64), default));
    }

    [Fact]
    public async Task Replacing_a_file_replaces_its_blob_and_properties()
    {
        await PutAsync("x/f", new string('1', 64), new Dictionary<string, IReadOnlyList<string>> { ["old"] = ["v"] });
        await PutAsync("x/f", new string('2', 64), new Dictionary<string, IReadOnlyList<string>> { ["new"] = ["v"] });
        await using var session = await Store.OpenAsync(default);
        Assert.Equal(new string('2', 64), (await session.Tree.GetAsync("r", "x/f", default))!.Sha256);
        Assert.Equal(["new"], (await session.Tree.GetPropertiesAsync("r", "x/f", default)).Keys);
    }

    [Fact]
    public async Task Delete_removes_a_subtree_and_only_that()
    {
        await PutAsync("a/b/one", new string('1', 64));
        await PutAsync("a/b/two", new string('2', 64));
        await PutAsync("a/bc/three", new string('3', 64));
        await PutAsync("a/b0", new string('4', 64));
        await using (var tx = await Store.BeginAsync(default))
        {
            Assert.Equal(3, await tx.Tree.DeleteAsync("r", "a/b", default));
            await tx.CommitAsync(default);
        }

        await using var session = await Store.OpenAsync(default);
        Assert.Equal(["a/b0", "a/bc", "a/bc/three"], (await session.Tree.ListDescendantsAsync("r", "a", default)).Select(i => i.Path));
        Assert.Empty(await session.Tree.GetPropertiesAsync("r", "a/b/one", default));
    }

    [Fact]
    public async Task A_transaction_that_is_not_committed_changes_nothing()
    {
        await using (var tx = await Store.BeginAsync(default))
        {
            await tx.Tree.PutFileAsync("r", new NewFile("lost", new string('1', 64), 1, "x"), "u", T0, default);
        }

        await using var session = await Store.OpenAsync(default);
        Assert.Null(await session.Tree.GetAsync("r", "lost", default));
        Assert.Null(await session.Tree.GetChecksumsAsync(new string('1', 64), default));
    }

    [Fact]
    public async Task Grandchildren_by_name_find_tag_files_of_one_repository_only()
    {
        await PutAsync("repositories/acme/web/_index_images.json", new string('1', 64));
        await PutAsync("repositories/acme/web/1.0/tag.json", new string('2', 64));
        await PutAsync("repositories/acme/web/sub/2.0/tag.json", new string('3', 64));
        await using var session = await Store.OpenAsync(default);
        var tags = await session.Tree.ListGrandChildrenNamedAsync("r", "repositories/acme/web", "tag.json", default);
        Assert.Equal(["repositories/acme/web/1.0/tag.json"], tags.Select(t => t.Path));
        Assert.Equal(["repositories/acme/web/_index_images.json"], (await session.Tree.ListNamedAsync("r", "_index_images.json", default)).Select(t => t.Path));
    }

    [Fact]
    public async Task The_root_holds_every_path_whatever_its_characters()
    {
        await PutAsync("\U0001F600/x", new string('1', 64));
        await PutAsync("~tilde", new string('2', 64));
        await using (var session = await Store.OpenAsync(default))
        {
            Assert.Equal(3, (await session.Tree.ListDescendantsAsync("r", "", default)).Count);
        }

        await using var tx = await Store.BeginAsync(default);
        Assert.Equal(3, await tx.Tree.DeleteAsync("r", "", default));
    }

    [Fact]
    public async Task Files_and_folders_never_replace_each_other()
    {
        await PutAsync("a/b", new string('1', 64));
        await using var tx = await Store.BeginAsync(default);
        await Assert.ThrowsAsync<InvalidOperationException>(() => tx.Tree.PutFileAsync("r", new NewFile("a", new string('2', 64), 1, "x"), "u", T0, default));
        await Assert.ThrowsAsync<InvalidOperationException>(() => tx.Tree.PutFileAsync("r", new NewFile("a/b/c", new string('2', 64), 1, "x"), "u", T0, default));
    }

    /// <summary>What stands in the way of an item is found before anything is written; TryPutFileAsync writes nothing then.</summary>
    [Fact]
    public async Task Obstacles_are_found_first_and_a_refused_put_writes_nothing()
    {
        await PutAsync("a/b", new string('1', 64));
        await PutAsync("d/e/f", new string('1', 64));
        await using var tx = await Store.BeginAsync(default);
        Assert.Equal("a/b", (await tx.Tree.FindObstacleAsync("r", "a/b/c/d", folder: false, default))?.Path);
        Assert.Equal("a/b", (await tx.Tree.FindObstacleAsync("r", "a/b", folder: true, default))?.Path);
        Assert.Equal("a", (await tx.Tree.FindObstacleAsync("r", "a", folder: false, default))?.Path);
        Assert.Equal("d/e", (await tx.Tree.FindObstacleAsync("r", "d/e", folder: false, default))?.Path);
        Assert.Null(await tx.Tree.FindObstacleAsync("r", "a/b", folder: false, default));
        Assert.Null(await tx.Tree.FindObstacleAsync("r", "d/e/g/h", folder: false, default));
        Assert.Null(await tx.Tree.FindObstacleAsync("other", "a/b/c", folder: false, default));

        Assert.False(await tx.Tree.TryPutFileAsync("r", new NewFile("a/b/c/d", new string('2', 64), 1, "x"), "u", T0, default));
        Assert.False(await tx.Tree.TryPutFileAsync("r", new NewFile("d/e", new string('2', 64), 1, "x"), "u", T0, default));
        Assert.Null(await tx.Tree.GetAsync("r", "a/b/c", default));
        Assert.Null(await tx.Tree.GetChecksumsAsync(new string('2', 64), default));
        Assert.True(await tx.Tree.TryPutFileAsync("r", new NewFile("d/e/g/h", new string('2', 64), 1, "x"), "u", T0, default));
        Assert.Equal(new string('2', 64), (await tx.Tree.GetAsync("r", "d/e/g/h", default))?.Sha256);
    }

    /// <summary>
    /// Stale uploads are the blob links of folders named exactly <c>_uploads</c> (a tag folder
    /// <c>_UPLOADS</c> differs only in case and is a tag like any other), older than the cut-off.
    /// </summary>
    [Fact]
    public async Task Stale_uploads_are_old_links_in_folders_named_exactly_uploads()
    {
        await using (var tx = await Store.BeginAsync(default))
        {
            await tx.V2Index.PutBlobLinkAsync(Link("img/_uploads/sha256__1", T0), default);
            await tx.V2Index.PutBlobLinkAsync(Link("img/_UPLOADS/sha256__2", T0), default);
            await tx.V2Index.PutBlobLinkAsync(Link("img/1.0/sha256__3", T0), default);
            await tx.V2Index.PutBlobLinkAsync(Link("img/_uploads/sha256__4", T0.AddSeconds(5)), default);
            await tx.CommitAsync(default);
        }

        await using var session = await Store.OpenAsync(default);
        Assert.Equal(["img/_uploads/sha256__1"], (await session.V2Index.StaleUploadsAsync(T0.AddSeconds(1), 10, default)).Select(l => l.Path));
    }

    /// <summary>Forgetting a path forgets it and, when asked, everything below it, and nothing that only shares its prefix.</summary>
    [Fact]
    public async Task Index_rows_are_forgotten_by_path_and_below()
    {
        await using (var tx = await Store.BeginAsync(default))
        {
            await tx.V2Index.PutManifestAsync(Manifest("a/b/1.0/manifest.json", "1"), [new(0, "config", "sha256:c", 2)], default);
            await tx.V2Index.PutManifestAsync(Manifest("a/b/2.0/manifest.json", "1"), null, default);
            await tx.V2Index.PutManifestAsync(Manifest("a/bc/1.0/manifest.json", "2"), null, default);
            await tx.V2Index.PutBlobLinkAsync(Link("a/b/1.0/sha256__3", T0), default);
            await tx.V2Index.ForgetAsync("r", "a/b/1.0", below: true, default);
            await tx.V2Index.ForgetAsync("r", "a/bc", below: false, default);
            await tx.CommitAsync(default);
        }

        await using var session = await Store.OpenAsync(default);
        Assert.Equal(["a/b/2.0/manifest.json", "a/bc/1.0/manifest.json"], (await session.V2Index.AllManifestsAsync("r", default)).Select(m => m.Path));
        Assert.Empty(await session.V2Index.AllBlobLinksAsync("r", default));
        Assert.Equal(["2.0"], (await session.V2Index.TagsAsync("r", "a/b", default)).Select(t => t.Folder));
        Assert.Equal(["a/b", "a/bc"], await session.V2Index.TaggedImagesAsync("r", default));
        Assert.Equal([new V2ManifestReference(0, "config", "sha256:c", 2)], await session.V2Index.ReferencesAsync(new string('1', 64), default));
        Assert.True(await session.V2Index.HasReferencesAsync(new string('1', 64), default));
    }

    private static V2BlobLinkRow Link(string path, DateTimeOffset modified)
    {
        var folder = path.Split('/')[^2];
        return new V2BlobLinkRow("r", path, path[..path.LastIndexOf('/' + folder + '/', StringComparison.Ordinal)], folder, "sha256:" + path[^1], new string(path[^1], 64), 1, modified);
    }

    private static V2ManifestRow Manifest(string path, string content)
    {
        var parts = path.Split('/');
        var sha256 = new string(content[0], 64);
        return new V2ManifestRow("r", path, string.Join('/', parts[..^2]), parts[^2], true, "sha256:" + sha256, sha256, "application/vnd.oci.image.manifest.v1+json", 10, null, null, null, T0, T0);
    }

    [Fact]
    public async Task Legacy_checksums_are_remembered()
    {
        await PutAsync("f", new string('1', 64));
        await using (var tx = await Store.BeginAsync(default))
        {
            await tx.Tree.SetLegacyChecksumsAsync(new string('1', 64), "s1", "m5", default);
            await tx.CommitAsync(default);
        }

        await using var session = await Store.OpenAsync(default);
        Assert.Equal(new BlobChecksums(new string('1', 64), "s1", "m5"), await session.Tree.GetChecksumsAsync(new string('1', 64), default));
    }

    [Fact]
    public async Task V1_uploads_round_trip_and_delete()
    {
        var upload = new V1Upload("r", new string('a', 64), [1, 2, 3], null, [new string('a', 64)], null, 0, null, T0);
        await using (var tx = await Store.BeginAsync(default))
        {
            await tx.V1Uploads.UpsertAsync(upload, default);
            await tx.V1Uploads.UpsertAsync(upload with { LayerSha256 = new string('b', 64), LayerSize = 5, PayloadChecksum = "sha256:x" }, default);
            await tx.CommitAsync(default);
        }

        await using (var session = await Store.OpenAsync(default))
        {
            var stored = (await session.V1Uploads.GetAsync("r", new string('a', 64), default))!;
            Assert.Equal(new byte[] { 1, 2, 3 }, stored.Json);
            Assert.Equal([new string('a', 64)], stored.Ancestry);
            Assert.Equal((new string('b', 64), 5L, "sha256:x"), (stored.LayerSha256, stored.LayerSize, stored.PayloadChecksum));
            Assert.Null(await session.V1Uploads.GetAsync("other", new string('a', 64), default));
        }

        await using (var tx = await Store.BeginAsync(default))
        {
            await tx.V1Uploads.DeleteAsync("r", new string('a', 64), default);
            await tx.CommitAsync(default);
        }

        await using var after = await Store.OpenAsync(default);
        Assert.Null(await after.V1Uploads.GetAsync("r", new string('a', 64), default));
    }

    [Fact]
    public async Task Users_and_settings_are_created_once()
    {
        await using var tx = await Store.BeginAsync(default);
        Assert.True(await tx.Users.TryCreateAsync(new UserRecord("alice", "h", false, false), default));
        Assert.False(await tx.Users.TryCreateAsync(new UserRecord("ALICE", "h2", true, false), default));
        var alice = await tx.Users.GetAsync("Alice", default);
        Assert.Equal(new UserRecord("alice", "h", false, false) with { Id = alice!.Id }, alice);
        Assert.Equal(1, await tx.Users.CountAsync(default));
        Assert.Equal("first", await tx.Settings.GetOrAddAsync("k", "first", default));
        Assert.Equal("first", await tx.Settings.GetOrAddAsync("k", "second", default));
    }

    [Fact]
    public async Task Users_get_an_immutable_random_id_and_a_credential_generation()
    {
        await using var tx = await Store.BeginAsync(default);
        Assert.True(await tx.Users.TryCreateAsync(new UserRecord("bob", "h", false, false, Id: "chosen", CredentialGeneration: 7), default));
        var bob = (await tx.Users.GetAsync("bob", default))!;
        Assert.Matches("^[0-9a-f]{32}$", bob.Id);
        Assert.Equal(0, bob.CredentialGeneration);
        Assert.Equal(bob, await tx.Users.GetByIdAsync(bob.Id, default));

        // Updates keep the id and the generation; only a bump moves the generation.
        Assert.True(await tx.Users.UpdateAsync(bob with { Email = "b@x", Id = "other", CredentialGeneration = 9 }, default));
        Assert.True(await tx.Users.BumpCredentialGenerationAsync("BOB", default));
        Assert.Equal(bob with { Email = "b@x", CredentialGeneration = 1 }, await tx.Users.GetAsync("bob", default));
        Assert.False(await tx.Users.BumpCredentialGenerationAsync("nobody", default));

        // A later user of the same name is someone else.
        Assert.True(await tx.Users.DeleteAsync("bob", default));
        Assert.Null(await tx.Users.GetByIdAsync(bob.Id, default));
        Assert.True(await tx.Users.TryCreateAsync(new UserRecord("bob", "h", false, false), default));
        Assert.NotEqual(bob.Id, (await tx.Users.GetAsync("bob", default))!.Id);
    }

    [Fact]
    public async Task Access_tokens_keep_their_subject_id_and_parent_and_chains_walk_up_to_the_root()
    {
        static AccessTokenRecord Token(string id, string? parent, bool revoked = false) =>
            new(id, "sha-" + id, null, "u", null, "api:*", T0, T0.AddHours(1), revoked, "uid-1", parent);

        await using (var tx = await Store.BeginAsync(default))
        {
            await tx.Credentials.AddTokenAsync(Token("root", null), default);
            await tx.Credentials.AddTokenAsync(Token("child", "root", revoked: true), default);
            await tx.Credentials.AddTokenAsync(Token("grandchild", "child"), default);
            await tx.Credentials.AddTokenAsync(Token("orphan", "gone"), default);
            await tx.CommitAsync(default);
        }

        await using var session = await Store.OpenAsync(default);
        Assert.Equal(Token("grandchild", "child"), await session.Credentials.TokenByIdAsync("grandchild", default));
        Assert.Equal(["grandchild", "child", "root"], (await session.Credentials.TokenChainAsync("grandchild", 16, default)).Select(t => t.Id));
        Assert.True((await session.Credentials.TokenChainAsync("grandchild", 16, default))[1].Revoked);
        Assert.Equal(["grandchild", "child"], (await session.Credentials.TokenChainAsync("grandchild", 2, default)).Select(t => t.Id));
        Assert.Equal(["orphan"], (await session.Credentials.TokenChainAsync("orphan", 16, default)).Select(t => t.Id));
        Assert.Empty(await session.Credentials.TokenChainAsync("gone", 16, default));
    }

    [Fact]
    public async Task Concurrent_writers_are_serialised_without_losing_updates()
    {
        await Task.WhenAll(Enumerable.Range(0, 16).Select(async i =>
        {
            await using var tx = await Store.BeginAsync(default);
            await tx.Tree.PutFileAsync("r", new NewFile($"c/{i}", new string('1', 64), 1, "x"), "u", T0, default);
            await tx.CommitAsync(default);
        }));

        await using var session = await Store.OpenAsync(default);
        Assert.Equal(16, (await session.Tree.ListChildrenAsync("r", "c", default)).Count);
    }

    private async Task PutAsync(string path, string sha, IReadOnlyDictionary<string, IReadOnlyList<string>>? properties = null)
    {
        await using var tx = await Store.BeginAsync(default);
        await tx.Tree.PutFileAsync("r", new NewFile(path, sha, 1, "application/octet-stream", properties), "u", T0, default);
        await tx.CommitAsync(default);
    }
}

public sealed class SqliteMetadataStoreTests : MetadataStoreConformanceTests
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "wharf-db-" + Guid.NewGuid().ToString("N"));

    internal override IMetadataStore CreateStore() => new SqliteMetadataStore(Path.Combine(_dir, "wharf.db"));

    [Fact]
    public async Task Migration_8_gives_every_existing_user_its_own_id()
    {
        var path = Path.Combine(_dir, "old.db");
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=false"))
        {
            await connection.OpenAsync();
            var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE schema_version (version INTEGER NOT NULL);"
                + string.Concat(SqliteSchema.Migrations[..7].Select((sql, i) => sql + $";INSERT INTO schema_version (version) VALUES ({i + 1});"))
                + "INSERT INTO users (name, password_hash, admin, disabled) VALUES ('admin', 'h', 1, 0), ('anonymous', 'h', 0, 0), ('carol', 'h', 0, 0);";
            await command.ExecuteNonQueryAsync();
        }

        using var store = new SqliteMetadataStore(path);
        await store.MigrateAsync(default);
        await using var session = await store.OpenAsync(default);
        var users = await session.Users.ListAsync(default);
        Assert.Equal(3, users.Count);
        Assert.All(users, u => Assert.Matches("^[0-9a-f]{32}$", u.Id));
        Assert.Equal(3, users.Select(u => u.Id).Distinct().Count());
        Assert.Equal("carol", (await session.Users.GetByIdAsync(users.Single(u => u.Name == "carol").Id, default))?.Name);
    }

    [Fact]
    public async Task Migration_9_binds_existing_tokens_to_the_user_of_their_subject_and_leaves_the_others_transient()
    {
        var path = Path.Combine(_dir, "old8.db");
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=false"))
        {
            await connection.OpenAsync();
            var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE schema_version (version INTEGER NOT NULL);"
                + string.Concat(SqliteSchema.Migrations[..8].Select((sql, i) => sql + $";INSERT INTO schema_version (version) VALUES ({i + 1});"))
                + "INSERT INTO users (name, password_hash, admin, disabled, id) VALUES ('carol', 'h', 0, 0, 'carol-id');"
                + "INSERT INTO access_tokens (id, token_sha256, subject, scope, issued) VALUES ('t1', 's1', 'CAROL', 'api:*', 0), ('t2', 's2', 'bot', 'api:*', 0);";
            await command.ExecuteNonQueryAsync();
        }

        using var store = new SqliteMetadataStore(path);
        await store.MigrateAsync(default);
        await using var session = await store.OpenAsync(default);
        Assert.Equal("carol-id", (await session.Credentials.TokenByIdAsync("t1", default))?.SubjectId);
        Assert.Null((await session.Credentials.TokenByIdAsync("t2", default))?.SubjectId);
        Assert.Null((await session.Credentials.TokenByIdAsync("t2", default))?.ParentId);
    }

    public override Task DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }
}
