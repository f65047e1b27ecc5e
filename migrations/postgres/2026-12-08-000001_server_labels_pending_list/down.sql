ALTER INDEX servers_labels RESET (gin_pending_list_limit);
