-- Tickets as frontdesk last decided them.
CREATE TABLE tickets (
    id          TEXT PRIMARY KEY,
    state       TEXT NOT NULL,            -- JSON Ticket after the last decision
    version     INTEGER NOT NULL,         -- events decided for this ticket
    updated_at  TEXT NOT NULL
);

-- Every accepted event, once: the id is the idempotency key; the decision is replayed on repeats.
CREATE TABLE events (
    id           TEXT PRIMARY KEY,
    ticket_id    TEXT NOT NULL,
    type         TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,           -- sha256 of the event as accepted
    received_at  TEXT NOT NULL,
    event        TEXT NOT NULL,           -- JSON Event
    decision     TEXT NOT NULL            -- JSON Decision
);
CREATE INDEX events_ticket ON events (ticket_id, received_at);

-- Audit log: one row per rule that fired.
CREATE TABLE decisions (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id   TEXT NOT NULL,
    ticket_id  TEXT NOT NULL,
    rule       TEXT NOT NULL,
    at         TEXT NOT NULL,
    actions    TEXT NOT NULL              -- JSON array of the decision's actions
);
CREATE INDEX decisions_ticket ON decisions (ticket_id, seq);
CREATE INDEX decisions_rule ON decisions (rule, seq);

-- Durable timers: written with the decision that started them, fired as timer.fired events.
CREATE TABLE timers (
    id           TEXT PRIMARY KEY,        -- "<event id>/<timer name>": stable across retries
    ticket_id    TEXT NOT NULL,
    name         TEXT NOT NULL,
    rule         TEXT NOT NULL,
    due_at       TEXT NOT NULL,           -- RFC 3339 UTC, sortable
    cancel_on    TEXT NOT NULL,           -- JSON array of event types
    state        TEXT NOT NULL,           -- pending | fired | cancelled
    created_by   TEXT NOT NULL,           -- event id
    claimed_by   TEXT,
    lease_until  TEXT,
    attempt      INTEGER NOT NULL DEFAULT 0,
    finished_at  TEXT
);
CREATE INDEX timers_due ON timers (state, due_at);
CREATE INDEX timers_ticket ON timers (ticket_id, state);

-- Actions that need a call outside (webhook, notify), written with the decision.
CREATE TABLE outbox (
    id           TEXT PRIMARY KEY,        -- "<event id>/<action index>": stable delivery id
    event_id     TEXT NOT NULL,
    ticket_id    TEXT NOT NULL,
    action       TEXT NOT NULL,           -- JSON Action
    state        TEXT NOT NULL,           -- pending | delivered | dead
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      TEXT NOT NULL,
    last_error   TEXT
);
CREATE INDEX outbox_due ON outbox (state, next_at);
