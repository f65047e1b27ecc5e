ALTER TABLE events DROP COLUMN key_id;
DROP TABLE api_keys;
DROP INDEX servers_by_project_created;
ALTER TABLE servers DROP COLUMN project_id;
DROP TABLE projects;
