ALTER TABLE usage_records RENAME COLUMN amount_micros TO amount;
ALTER TABLE usage_records RENAME COLUMN hourly_price_micros TO hourly_price;
ALTER TABLE servers RENAME COLUMN billed_amount_micros TO billed_amount;
ALTER TABLE servers RENAME COLUMN hourly_price_micros TO hourly_price;
