ALTER TABLE api_keys DROP COLUMN secret_sealed;
