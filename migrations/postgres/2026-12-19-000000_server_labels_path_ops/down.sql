DROP INDEX servers_labels_path;
