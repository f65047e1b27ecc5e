-- Labels on events (issue 16): each event keeps the labels its server had when it happened
-- (a snapshot, written with the event from the server the same transaction writes), so
-- `GET /events?label_selector=…` and the stream select by them and a later relabelling
-- leaves the history as it was.
--
-- Events recorded before this migration get their server's labels as they are now: labels
-- came one migration earlier, so a server labelled since then kept its labels through
-- most of its recent history, and a client that filters the history by the labels it
-- gave its servers finds it. (An event older than a relabelling gets the newer labels:
-- the one thing a backfill cannot know.) A constant default adds the column without
-- rewriting the table; only the events of labelled servers are updated.
--
-- No index on them: a read walks `events_by_seq` (or `events_by_project_seq`) from its
-- cursor in sequence order and stops at its limit, filtering each event it passes, as it
-- does for `type` (fleet_postgres's `event_log`). A GIN index, as on servers, would be
-- written twice for every event (its insert, and the sequencer's numbering, which changes
-- an indexed column), 40 % more time to insert 100,000 events, and would not serve the
-- reads that need it most: labels common alone but rare together are estimated common,
-- and the planner walked the sequence anyway.

ALTER TABLE events
    ADD COLUMN labels jsonb NOT NULL DEFAULT '{}'
        CONSTRAINT events_labels_object CHECK (jsonb_typeof(labels) = 'object');

UPDATE events AS e SET labels = s.labels
FROM servers AS s
WHERE s.id = e.server_id AND s.labels <> '{}';
