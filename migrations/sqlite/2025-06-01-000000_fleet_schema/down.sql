DROP TABLE usage_records;
DROP TABLE events;
DROP TABLE servers;
DROP TABLE free_addresses;
DROP TABLE ip_pools;
