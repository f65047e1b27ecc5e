-- The GIN index of servers' labels (`servers_labels`) keeps new entries in a pending list
-- (`fastupdate`) until the list outgrows `gin_pending_list_limit` or a vacuum merges it, and
-- every search of the index reads the whole list. Every change to a server writes a new row
-- version and so new entries (its state is indexed, so no update is HOT). At the default
-- limit (4 MB) a selector that the index serves (one matching few servers) read a 277-page
-- list after 100,000 servers were added: 16 ms of its 18 (the bench's scale test, before a
-- vacuum). At 256 kB a search reads at most a sixteenth of that, and new entries are
-- still merged in batches.
ALTER INDEX servers_labels SET (gin_pending_list_limit = 256);
