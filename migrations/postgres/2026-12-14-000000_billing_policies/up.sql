-- A server keeps the billing policy of its type when it was provisioned (fleet_domain's
-- BillingPolicy::encode), the stopped seconds a policy that bills stopped servers charged,
-- and what it was charged in the month of its latest usage record (months since 1970-01),
-- which a monthly cap limits.
ALTER TABLE servers
    ADD COLUMN billing_policy TEXT NOT NULL DEFAULT 'per_second:60:0',
    ADD COLUMN billed_stopped_seconds BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN month_index INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN month_billed_micros BIGINT NOT NULL DEFAULT 0;
