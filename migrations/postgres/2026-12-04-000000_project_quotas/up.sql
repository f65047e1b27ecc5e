-- Project quotas (issue 13): the most servers that are not terminated, and the most vCPUs
-- of servers running or heading there. A table of its own, one row per project that has
-- ever had limits set; no row, or NULL in a column, is no limit.

CREATE TABLE project_quotas (
    project_id  uuid    PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    max_servers integer CHECK (max_servers >= 0),
    max_vcpus   integer CHECK (max_vcpus >= 0)
);

-- Each server's vCPUs, from the catalog at provisioning, so that a project's vCPU use is
-- counted in the database, in the transaction that checks the quota, and a later catalog
-- change does not change what a server holds.
ALTER TABLE servers ADD COLUMN vcpus integer NOT NULL DEFAULT 0 CHECK (vcpus >= 0);

-- The servers that exist were provisioned without it. The migration cannot read the
-- catalog fleetd is configured with, so it knows the default catalog's types
-- (fleet_domain::Catalog::default); a server of any other type gets 0, and holds no vCPUs
-- against a quota until it is replaced.
UPDATE servers SET vcpus = CASE server_type
    WHEN 't2.nano' THEN 1
    WHEN 't2.micro' THEN 1
    WHEN 't2.small' THEN 1
    WHEN 't2.medium' THEN 2
    WHEN 'm5.large' THEN 2
    WHEN 'c5.xlarge' THEN 4
    WHEN 'r5.2xlarge' THEN 8
    ELSE 0
END;

-- From now on every insert names it: one that forgot would fail instead of storing 0.
ALTER TABLE servers ALTER COLUMN vcpus DROP DEFAULT;

-- A project's use, counted under its lock on every limited provision and start.
CREATE INDEX servers_by_project_state ON servers (project_id, state);
