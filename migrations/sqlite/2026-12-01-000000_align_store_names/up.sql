-- Money columns say their unit, as the Postgres store's do (instants here are integer
-- microseconds too, but their names say what they are: `*_at`, `period_*`).
ALTER TABLE servers RENAME COLUMN hourly_price TO hourly_price_micros;
ALTER TABLE servers RENAME COLUMN billed_amount TO billed_amount_micros;
ALTER TABLE usage_records RENAME COLUMN hourly_price TO hourly_price_micros;
ALTER TABLE usage_records RENAME COLUMN amount TO amount_micros;
