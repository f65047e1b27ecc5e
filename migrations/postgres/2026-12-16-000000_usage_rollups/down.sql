DROP TRIGGER usage_records_roll_up ON usage_records;
DROP FUNCTION usage_rollups_add();
DROP TABLE usage_rollups;
