DROP INDEX servers_by_project_state;
ALTER TABLE servers DROP COLUMN vcpus;
DROP TABLE project_quotas;
