-- Labels on events (issue 16): each event keeps the labels its server had when it happened
-- (a snapshot, written with the event from the server the same transaction writes), as a
-- JSON object of strings like `servers.labels`, so `GET /events?label_selector=…` and the
-- stream select by them and a later relabelling leaves the history as it was.
--
-- Events recorded before this migration get their server's labels as they are now: labels
-- came one migration earlier, so a server labelled since then kept its labels through
-- most of its recent history, and a client that filters the history by the labels it
-- gave its servers finds it. (An event older than a relabelling gets the newer labels:
-- the one thing a backfill cannot know.)
--
-- No per-label rows or index, unlike `server_labels`: a read walks `events_by_seq` (or
-- `events_by_project_seq`) from its cursor in sequence order and stops at its limit,
-- testing each event it passes with JSON functions on this column (fleet_sqlite's
-- `ops::event_selector`), as it tests `event_type`. A mirror table would add a row per
-- label to every event a change appends.

ALTER TABLE events ADD COLUMN labels TEXT NOT NULL DEFAULT '{}'
    CHECK (json_valid(labels) AND json_type(labels) = 'object');

UPDATE events SET labels = (SELECT s.labels FROM servers AS s WHERE s.id = events.server_id)
WHERE EXISTS (SELECT 1 FROM servers AS s WHERE s.id = events.server_id AND s.labels != '{}');
