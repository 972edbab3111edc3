namespace Wharf.Data.Sqlite;

/// <summary>Ordered migrations; each runs once, in its own transaction, recorded in schema_version.</summary>
internal static class SqliteSchema
{
    public static readonly string[] Migrations =
    [
        """
        CREATE TABLE repositories (
            key TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
            docker_api_version TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            force_docker_authentication INTEGER NOT NULL DEFAULT 0,
            anonymous_read INTEGER NOT NULL DEFAULT 0,
            registry_port INTEGER NULL
        );
        CREATE TABLE blobs (
            sha256 TEXT NOT NULL PRIMARY KEY,
            size INTEGER NOT NULL,
            sha1 TEXT NULL,
            md5 TEXT NULL,
            created INTEGER NOT NULL
        );
        CREATE TABLE items (
            id INTEGER PRIMARY KEY,
            repo TEXT NOT NULL,
            path TEXT NOT NULL,
            parent TEXT NOT NULL,
            name TEXT NOT NULL,
            folder INTEGER NOT NULL,
            size INTEGER NOT NULL,
            sha256 TEXT NULL,
            mime TEXT NULL,
            created INTEGER NOT NULL,
            created_by TEXT NOT NULL,
            modified INTEGER NOT NULL,
            modified_by TEXT NOT NULL,
            UNIQUE (repo, path)
        );
        CREATE INDEX items_by_parent ON items (repo, parent);
        CREATE INDEX items_by_name ON items (repo, name);
        CREATE INDEX items_by_blob ON items (sha256);
        CREATE TABLE properties (
            item_id INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            value TEXT NOT NULL
        );
        CREATE INDEX properties_by_item ON properties (item_id, key);
        CREATE INDEX properties_by_key_value ON properties (key, value);
        CREATE TABLE v1_uploads (
            repo TEXT NOT NULL,
            image_id TEXT NOT NULL,
            json BLOB NOT NULL,
            parent TEXT NULL,
            ancestry TEXT NOT NULL,
            layer_sha256 TEXT NULL,
            layer_size INTEGER NOT NULL,
            payload_checksum TEXT NULL,
            updated INTEGER NOT NULL,
            PRIMARY KEY (repo, image_id)
        );
        CREATE TABLE users (
            name TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
            password_hash TEXT NOT NULL,
            admin INTEGER NOT NULL,
            disabled INTEGER NOT NULL
        );
        CREATE TABLE settings (
            name TEXT NOT NULL PRIMARY KEY,
            value TEXT NOT NULL
        );
        """,
        """
        ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';
        ALTER TABLE users ADD COLUMN profile_updatable INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE users ADD COLUMN disable_ui_access INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE users ADD COLUMN internal_password_disabled INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE users ADD COLUMN last_logged_in INTEGER NULL;
        CREATE TABLE groups (
            name TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
            description TEXT NOT NULL DEFAULT '',
            auto_join INTEGER NOT NULL DEFAULT 0,
            admin_privileges INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE user_groups (
            user_name TEXT NOT NULL COLLATE NOCASE REFERENCES users (name) ON DELETE CASCADE,
            group_name TEXT NOT NULL COLLATE NOCASE REFERENCES groups (name) ON DELETE CASCADE,
            PRIMARY KEY (user_name, group_name)
        );
        CREATE TABLE permission_targets (
            name TEXT NOT NULL PRIMARY KEY,
            includes_pattern TEXT NOT NULL,
            excludes_pattern TEXT NOT NULL,
            repositories TEXT NOT NULL,
            users TEXT NOT NULL,
            groups TEXT NOT NULL
        );
        """,
        """
        CREATE TABLE api_keys (
            user_name TEXT NOT NULL PRIMARY KEY COLLATE NOCASE REFERENCES users (name) ON DELETE CASCADE,
            key_sha256 TEXT NOT NULL UNIQUE,
            prefix TEXT NOT NULL,
            created INTEGER NOT NULL
        );
        CREATE TABLE access_tokens (
            id TEXT NOT NULL PRIMARY KEY,
            token_sha256 TEXT NOT NULL UNIQUE,
            refresh_sha256 TEXT NULL UNIQUE,
            subject TEXT NOT NULL,
            groups TEXT NULL,
            scope TEXT NOT NULL,
            issued INTEGER NOT NULL,
            expiry INTEGER NULL,
            revoked INTEGER NOT NULL DEFAULT 0
        );
        """,
        """
        ALTER TABLE repositories ADD COLUMN notes TEXT NOT NULL DEFAULT '';
        ALTER TABLE repositories ADD COLUMN includes_pattern TEXT NOT NULL DEFAULT '**/*';
        ALTER TABLE repositories ADD COLUMN excludes_pattern TEXT NOT NULL DEFAULT '';
        ALTER TABLE repositories ADD COLUMN repo_layout_ref TEXT NOT NULL DEFAULT 'simple-default';
        ALTER TABLE repositories ADD COLUMN max_unique_tags INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE repositories ADD COLUMN docker_tag_retention INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE repositories ADD COLUMN block_pushing_schema1 INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE repositories ADD COLUMN blacked_out INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE repositories ADD COLUMN property_sets TEXT NOT NULL DEFAULT '';
        ALTER TABLE repositories ADD COLUMN created INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX v1_uploads_by_layer ON v1_uploads (layer_sha256);
        CREATE INDEX v1_uploads_by_age ON v1_uploads (updated);
        CREATE INDEX items_by_name_nocase ON items (name COLLATE NOCASE);
        CREATE INDEX items_empty_folders ON items (folder, created);
        CREATE INDEX blobs_by_age ON blobs (created);
        """,
        """
        CREATE TABLE v2_uploads (
            id TEXT NOT NULL PRIMARY KEY,
            repo TEXT NOT NULL,
            image TEXT NOT NULL,
            size INTEGER NOT NULL,
            chunks INTEGER NOT NULL,
            single_chunk_sha256 TEXT NULL,
            created INTEGER NOT NULL,
            updated INTEGER NOT NULL
        );
        CREATE INDEX v2_uploads_by_age ON v2_uploads (updated);
        """,
        """
        ALTER TABLE v2_uploads ADD COLUMN chunk_keys TEXT NOT NULL DEFAULT '[]';
        """,
        """
        ALTER TABLE blobs ADD COLUMN sha512 TEXT NULL;
        """,

        // 8: every user gets an immutable random id (registry and V1 tokens bind to it, not to the
        // name) and a credential generation (a password change or disabling ends derived tokens).
        """
        ALTER TABLE users ADD COLUMN id TEXT NULL;
        ALTER TABLE users ADD COLUMN credential_generation INTEGER NOT NULL DEFAULT 0;
        UPDATE users SET id = lower(hex(randomblob(16))) WHERE id IS NULL;
        CREATE UNIQUE INDEX users_by_id ON users (id);
        """,

        // 9: an access token names its subject by immutable user id (null: no such user when it was
        // issued, and never one created later) and the access token it was minted with, if any
        // (it dies with that one). Tokens issued before bind to the user of their subject's name
        // now: the best the old rows tell.
        """
        ALTER TABLE access_tokens ADD COLUMN subject_id TEXT NULL;
        ALTER TABLE access_tokens ADD COLUMN parent_id TEXT NULL;
        UPDATE access_tokens SET subject_id = (SELECT users.id FROM users WHERE users.name = access_tokens.subject COLLATE NOCASE);
        """,
        // 10: the registry's index of V2 and V1 repositories (V2Index.cs, V1Index.cs), kept in the transaction of every
        // tree write. Filled from the existing trees at start-up (RegistryIndexBackfill), not here:
        // a manifest's references come from its bytes, which SQL cannot read.
        """
        CREATE TABLE v2_manifests (
            repo TEXT NOT NULL,
            path TEXT NOT NULL,
            image TEXT NOT NULL,
            folder TEXT NOT NULL,
            is_tag INTEGER NOT NULL,
            digest TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            media_type TEXT NOT NULL,
            size INTEGER NOT NULL,
            config_digest TEXT NULL,
            subject TEXT NULL,
            artifact_type TEXT NULL,
            created INTEGER NOT NULL,
            modified INTEGER NOT NULL,
            PRIMARY KEY (repo, path)
        ) WITHOUT ROWID;
        CREATE INDEX v2_manifests_by_folder ON v2_manifests (repo, image, folder);
        CREATE INDEX v2_manifests_by_content ON v2_manifests (repo, image, sha256);
        CREATE INDEX v2_manifests_by_tag ON v2_manifests (repo, is_tag, image);
        CREATE INDEX v2_manifests_by_subject ON v2_manifests (repo, image, subject) WHERE subject IS NOT NULL;
        CREATE TABLE v2_manifest_references (
            manifest_sha256 TEXT NOT NULL,
            position INTEGER NOT NULL,
            kind TEXT NOT NULL,
            digest TEXT NOT NULL,
            size INTEGER NOT NULL,
            PRIMARY KEY (manifest_sha256, position)
        ) WITHOUT ROWID;
        CREATE INDEX v2_manifest_references_by_digest ON v2_manifest_references (digest);
        CREATE TABLE v2_blob_links (
            repo TEXT NOT NULL,
            path TEXT NOT NULL,
            image TEXT NOT NULL,
            folder TEXT NOT NULL,
            digest TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            size INTEGER NOT NULL,
            modified INTEGER NOT NULL,
            PRIMARY KEY (repo, path)
        ) WITHOUT ROWID;
        CREATE INDEX v2_blob_links_by_image ON v2_blob_links (repo, image, digest);
        CREATE INDEX v2_blob_links_by_digest ON v2_blob_links (repo, digest);
        CREATE INDEX v2_blob_links_uploads ON v2_blob_links (modified) WHERE folder = '_uploads';
        CREATE TABLE v1_images (
            repo TEXT NOT NULL,
            id TEXT NOT NULL,
            ancestry TEXT NULL,
            complete INTEGER NOT NULL,
            json_sha256 TEXT NULL,
            json_size INTEGER NOT NULL,
            layer_sha256 TEXT NULL,
            layer_size INTEGER NOT NULL,
            ancestry_sha256 TEXT NULL,
            payload_checksum TEXT NULL,
            created INTEGER NOT NULL,
            PRIMARY KEY (repo, id)
        ) WITHOUT ROWID;
        CREATE TABLE v1_tags (
            repo TEXT NOT NULL,
            path TEXT NOT NULL,
            repository TEXT NOT NULL,
            tag TEXT NOT NULL,
            image_id TEXT NOT NULL,
            created INTEGER NOT NULL,
            PRIMARY KEY (repo, path)
        ) WITHOUT ROWID;
        CREATE INDEX v1_tags_by_repository ON v1_tags (repo, repository);
        CREATE TABLE v1_index_images (
            repo TEXT NOT NULL,
            path TEXT NOT NULL,
            position INTEGER NOT NULL,
            image_id TEXT NOT NULL,
            PRIMARY KEY (repo, path, position)
        ) WITHOUT ROWID;
        """,
    ];
}
