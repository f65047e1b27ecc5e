ALTER TABLE free_addresses RENAME CONSTRAINT free_addresses_pkey TO ip_free_pkey;
ALTER TABLE free_addresses RENAME TO ip_free;
