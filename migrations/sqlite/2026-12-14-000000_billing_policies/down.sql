ALTER TABLE servers DROP COLUMN billing_policy;
ALTER TABLE servers DROP COLUMN billed_stopped_seconds;
ALTER TABLE servers DROP COLUMN month_index;
ALTER TABLE servers DROP COLUMN month_billed_micros;
