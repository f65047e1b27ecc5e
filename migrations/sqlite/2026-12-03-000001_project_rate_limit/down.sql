ALTER TABLE projects DROP COLUMN rate_limit_per_minute;
