-- What tickets are listed and searched by, kept beside each ticket's JSON by the write that
-- stores the ticket (`plan::TicketKeys`), so that a search reads an index instead of every
-- ticket's JSON. `subject_key`, `customer_key` (id, e-mail, name, a line each) and `tag_keys`
-- (each tag between line breaks) are lower case; `created_at` is the helpdesk's, else when
-- frontdesk first saw the ticket; `sla_breached_at` the latest breach of an SLA clock and
-- `sla_breach_running` whether a breached clock still runs.
ALTER TABLE tickets ADD COLUMN status TEXT NOT NULL DEFAULT 'new';
ALTER TABLE tickets ADD COLUMN priority TEXT NOT NULL DEFAULT 'normal';
ALTER TABLE tickets ADD COLUMN team TEXT;
ALTER TABLE tickets ADD COLUMN created_at TEXT;
ALTER TABLE tickets ADD COLUMN subject_key TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN customer_key TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN tag_keys TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN sla_breached_at TEXT;
ALTER TABLE tickets ADD COLUMN sla_breach_running INTEGER NOT NULL DEFAULT 0;

-- Tickets stored before, from their JSON. Times take the store's form (microseconds, `Z`).
-- lower() folds only ASCII letters here; the ticket's next decision writes its keys in full.
UPDATE tickets SET
    status = COALESCE(json_extract(state, '$.status'), 'new'),
    priority = COALESCE(json_extract(state, '$.priority'), 'normal'),
    team = json_extract(state, '$.group'),
    created_at = COALESCE(
        strftime('%Y-%m-%dT%H:%M:%f', json_extract(state, '$.created_at')) || '000Z',
        (SELECT MIN(e.received_at) FROM events e WHERE e.ticket_id = tickets.id),
        updated_at),
    subject_key = lower(COALESCE(json_extract(state, '$.subject'), '')),
    customer_key = lower(COALESCE(json_extract(state, '$.customer.id'), '') || char(10)
        || COALESCE(json_extract(state, '$.customer.email'), '') || char(10)
        || COALESCE(json_extract(state, '$.customer.name'), '')),
    tag_keys = COALESCE((SELECT char(10) || group_concat(lower(t.value), char(10)) || char(10)
                         FROM json_each(state, '$.tags') t), ''),
    sla_breached_at = (SELECT strftime('%Y-%m-%dT%H:%M:%f', MAX(json_extract(c.value, '$.breached_at'))) || '000Z'
                       FROM json_each(state, '$.sla') c
                       WHERE c.type = 'object' AND json_extract(c.value, '$.breached')),
    sla_breach_running = EXISTS (SELECT 1 FROM json_each(state, '$.sla') c
                                 WHERE c.type = 'object' AND json_extract(c.value, '$.breached')
                                   AND json_extract(c.value, '$.running_since') IS NOT NULL);

-- Newest first (ties by id), with every column a filter compares, so that a search checks
-- its filters in the index and reads only the tickets it returns.
CREATE INDEX tickets_recent ON tickets (updated_at, id, status, priority, channel, team, assignee,
    is_open, tag_keys, customer_key, subject_key);
-- Open tickets, the latest SLA breach last: counted live, and walked back for the SLA board's
-- breached tickets. (One index for both: every index here is written on every event.)
CREATE INDEX tickets_open ON tickets (sla_breached_at, id) WHERE is_open = 1;

-- The text of an event's message in lower case (NULL: no message), written with the event. The
-- index of each ticket's events carries it, so a search for words in messages reads that index
-- and no event (one index written per event, as before, rather than a second one).
ALTER TABLE events ADD COLUMN text_key TEXT;
UPDATE events SET text_key = lower(json_extract(event, '$.message.text'))
WHERE json_extract(event, '$.message.text') <> '';
DROP INDEX events_ticket;
CREATE INDEX events_ticket ON events (ticket_id, received_at, text_key);

-- Events received in the last minute (counted live); a ticket's outbox rows; outbox rows of
-- one state, newest first (the index holds the rowid), listed a page at a time.
CREATE INDEX events_received ON events (received_at);
CREATE INDEX outbox_ticket ON outbox (ticket_id);
CREATE INDEX outbox_state ON outbox (state);
