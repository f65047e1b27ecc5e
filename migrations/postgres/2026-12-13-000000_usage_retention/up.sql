-- Retention prunes the ledger's oldest detail by when each record's period ended.
CREATE INDEX usage_records_by_period_end ON usage_records (period_end);
