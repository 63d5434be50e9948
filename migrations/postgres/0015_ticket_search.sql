-- What tickets are listed and searched by, kept beside each ticket's JSON by the write that
-- stores the ticket (`plan::TicketKeys`), as in the SQLite store. `subject_key`,
-- `customer_key` (id, e-mail, name, a line each) and `tag_keys` (each tag between line breaks)
-- are lower case; `created_at` is the helpdesk's, else when frontdesk first saw the ticket;
-- `sla_breached_at` the latest breach of an SLA clock and `sla_breach_running` whether a
-- breached clock still runs.
ALTER TABLE tickets ADD COLUMN status TEXT NOT NULL DEFAULT 'new';
ALTER TABLE tickets ADD COLUMN priority TEXT NOT NULL DEFAULT 'normal';
ALTER TABLE tickets ADD COLUMN team TEXT;
ALTER TABLE tickets ADD COLUMN created_at TIMESTAMPTZ;
ALTER TABLE tickets ADD COLUMN subject_key TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN customer_key TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN tag_keys TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN sla_breached_at TIMESTAMPTZ;
ALTER TABLE tickets ADD COLUMN sla_breach_running BOOLEAN NOT NULL DEFAULT false;

-- Tickets stored before, from their JSON. lower() folds as the database's locale does; the
-- ticket's next decision writes its keys as frontdesk folds them.
UPDATE tickets SET
    status = COALESCE(s.j ->> 'status', 'new'),
    priority = COALESCE(s.j ->> 'priority', 'normal'),
    team = s.j ->> 'group',
    created_at = COALESCE(
        (s.j ->> 'created_at')::timestamptz,
        (SELECT MIN(e.received_at) FROM events e WHERE e.ticket_id = tickets.id),
        tickets.updated_at),
    subject_key = lower(COALESCE(s.j ->> 'subject', '')),
    customer_key = lower(COALESCE(s.j #>> '{customer,id}', '') || E'\n'
        || COALESCE(s.j #>> '{customer,email}', '') || E'\n'
        || COALESCE(s.j #>> '{customer,name}', '')),
    tag_keys = COALESCE((SELECT E'\n' || string_agg(lower(t.tag), E'\n' ORDER BY t.n) || E'\n'
                         FROM jsonb_array_elements_text(
                             CASE jsonb_typeof(s.j -> 'tags') WHEN 'array' THEN s.j -> 'tags' END)
                             WITH ORDINALITY AS t(tag, n)), ''),
    sla_breached_at = (SELECT MAX((c.value ->> 'breached_at')::timestamptz)
                       FROM jsonb_each(CASE jsonb_typeof(s.j -> 'sla') WHEN 'object' THEN s.j -> 'sla' END) c
                       WHERE jsonb_typeof(c.value) = 'object' AND (c.value ->> 'breached')::boolean),
    sla_breach_running = EXISTS (SELECT 1
                                 FROM jsonb_each(CASE jsonb_typeof(s.j -> 'sla') WHEN 'object' THEN s.j -> 'sla' END) c
                                 WHERE jsonb_typeof(c.value) = 'object' AND (c.value ->> 'breached')::boolean
                                   AND c.value ->> 'running_since' IS NOT NULL)
FROM (SELECT id, state::jsonb AS j FROM tickets) s
WHERE s.id = tickets.id;

-- Newest first (ties by id), with the columns a filter compares for equality; the text keys
-- (which may be long) are read from the table.
CREATE INDEX tickets_recent ON tickets (updated_at, id)
    INCLUDE (status, priority, channel, team, assignee, is_open);
-- Open tickets, the latest SLA breach last: counted live, and walked back for the SLA board's
-- breached tickets.
CREATE INDEX tickets_open ON tickets (sla_breached_at, id) WHERE is_open;

-- The text of an event's message in lower case (NULL: no message), written with the event;
-- a search for words in messages reads a ticket's events through `events_ticket`.
ALTER TABLE events ADD COLUMN text_key TEXT;
UPDATE events SET text_key = lower(event::jsonb #>> '{message,text}')
WHERE event::jsonb #>> '{message,text}' <> '';

-- Events received in the last minute (counted live); a ticket's outbox rows; outbox rows of
-- one state, newest first (counted, and listed a page at a time).
CREATE INDEX events_received ON events (received_at);
CREATE INDEX outbox_ticket ON outbox (ticket_id);
CREATE INDEX outbox_state ON outbox (state, seq);
