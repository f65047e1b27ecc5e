ALTER TABLE servers
    DROP COLUMN billing_policy,
    DROP COLUMN billed_stopped_seconds,
    DROP COLUMN month_index,
    DROP COLUMN month_billed_micros;
