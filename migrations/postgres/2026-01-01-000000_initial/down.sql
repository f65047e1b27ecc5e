DROP TABLE usage_records;
DROP TABLE events;
DROP TABLE servers;
DROP TABLE ip_free;
DROP TABLE ip_pools;
