ALTER TABLE events DROP COLUMN reason;
ALTER TABLE servers DROP COLUMN state_reason;
