-- Tenancy (issue 13): every server belongs to a project, and API keys act in one project.
-- The servers that exist already move into the project `default`, whose id is fixed
-- (fleet_domain::ids::ProjectId::DEFAULT) because open mode acts in it without a lookup.

CREATE TABLE projects (
    id         uuid        PRIMARY KEY,
    -- Named so the store can tell a taken name (a client's mistake) from any other
    -- violated key (a fault). Byte order, as the SQLite store sorts, whatever the
    -- database's collation.
    name       text        COLLATE "C" NOT NULL CONSTRAINT projects_name_unique UNIQUE,
    created_at timestamptz NOT NULL
);

INSERT INTO projects (id, name, created_at)
VALUES ('00000000-0000-0000-0000-000000000001', 'default', now());

-- The default is what moves the existing rows into `default`; the store names the project
-- of every server it inserts.
ALTER TABLE servers
    ADD COLUMN project_id uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000001'
        REFERENCES projects (id);

-- Lists scoped to one project, by keyset.
CREATE INDEX servers_by_project_created ON servers (project_id, created_at, id);

CREATE TABLE api_keys (
    id           uuid        PRIMARY KEY,
    project_id   uuid        NOT NULL REFERENCES projects (id),
    role         text        NOT NULL CHECK (role IN ('viewer', 'member', 'admin')),
    description  text        NOT NULL,
    -- HMAC-SHA-256 of the secret under the configured pepper; the secret is never stored.
    secret_hash  text        NOT NULL,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE INDEX api_keys_by_project ON api_keys (project_id, created_at, id);

-- The key that caused an event. No foreign key: an admin key acts in other projects, and
-- their events keep its id after the key's own project (and the key) is deleted.
ALTER TABLE events ADD COLUMN key_id uuid;
