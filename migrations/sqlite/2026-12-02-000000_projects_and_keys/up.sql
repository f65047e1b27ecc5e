-- Tenancy (issue 13): every server belongs to a project, and API keys act in one project.
-- The servers that exist already move into the project `default`, whose id is fixed
-- (fleet_domain::ids::ProjectId::DEFAULT) because open mode acts in it without a lookup.
--
-- SQLite adds a column with REFERENCES and a default other than NULL to a table holding
-- rows only while foreign keys are off: the store's migrate turns them off around the
-- migrations and runs `PRAGMA foreign_key_check` before it commits (as SQLite's own
-- procedure for schema changes does).

CREATE TABLE projects (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
) STRICT;

INSERT INTO projects (id, name, created_at)
VALUES ('00000000-0000-0000-0000-000000000001', 'default',
        CAST(strftime('%s', 'now') AS INTEGER) * 1000000);

-- The default is what moves the existing rows into `default`; the store names the project
-- of every server it inserts.
ALTER TABLE servers
    ADD COLUMN project_id TEXT NOT NULL DEFAULT '00000000-0000-0000-0000-000000000001'
        REFERENCES projects (id);

-- Lists scoped to one project, by keyset.
CREATE INDEX servers_by_project ON servers (project_id, created_at, id);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY NOT NULL,
    project_id   TEXT NOT NULL REFERENCES projects (id),
    role         TEXT NOT NULL CHECK (role IN ('viewer', 'member', 'admin')),
    description  TEXT NOT NULL,
    -- HMAC-SHA-256 of the secret under the configured pepper; the secret is never stored.
    secret_hash  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
) STRICT;

CREATE INDEX api_keys_by_project ON api_keys (project_id, created_at, id);

-- The key that caused an event. No foreign key: an admin key acts in other projects, and
-- their events keep its id after the key's own project (and the key) is deleted.
ALTER TABLE events ADD COLUMN key_id TEXT;
