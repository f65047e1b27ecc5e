-- State reasons (issue 17): why a server is out of service, as EC2's `StateReason` code
-- (`Client.UserInitiatedShutdown`, `Server.InternalError`, ..., and fleet's own
-- `Client.IdleReaped`), on the server and on each event of the change that set it. Only the
-- code is stored: the message is derived from it (`fleet_domain::reason`).
--
-- No CHECK lists the codes, unlike `state` or `kind`: the list grows with the fault effects
-- that set them, and widening a CHECK on SQLite rebuilds the table. A code this binary does
-- not know is refused when read, as a corrupt row naming the column.
--
-- Servers out of service get the reason of the action that took them out, read from their
-- history: the newest request into `stopping` or `terminating`, the reaper's being
-- `Client.IdleReaped` and a client's `Client.UserInitiatedShutdown` (nothing else asked for
-- those before this migration). Events recorded before it carry none: a backfill of the
-- history would have to follow each server's changes in order, and a client that reads why
-- a server is down reads the server.

ALTER TABLE servers ADD COLUMN state_reason text;
ALTER TABLE events ADD COLUMN reason text;

UPDATE servers AS s SET state_reason = (
    SELECT CASE e.actor
        WHEN 'reaper' THEN 'Client.IdleReaped'
        WHEN 'api' THEN 'Client.UserInitiatedShutdown'
    END
    FROM events AS e
    WHERE e.server_id = s.id AND e.kind = 'action_requested'
        AND e.to_state IN ('stopping', 'terminating')
    ORDER BY e.id DESC
    LIMIT 1)
WHERE s.state IN ('stopping', 'stopped', 'terminating', 'terminated');
