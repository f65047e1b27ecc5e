-- One name for the free list in both stores (the SQLite store's).
ALTER TABLE ip_free RENAME TO free_addresses;
ALTER TABLE free_addresses RENAME CONSTRAINT ip_free_pkey TO free_addresses_pkey;
