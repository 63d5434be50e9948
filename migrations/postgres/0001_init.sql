-- The PostgreSQL schema: the same tables as the SQLite store, with native times. JSON documents
-- are kept as TEXT, exactly as serialised, so a replayed decision is the stored one byte for byte.

-- Tickets as frontdesk last decided them.
CREATE TABLE tickets (
    id          TEXT PRIMARY KEY,
    state       TEXT NOT NULL,            -- JSON Ticket after the last decision
    version     BIGINT NOT NULL,          -- events decided for this ticket
    updated_at  TIMESTAMPTZ NOT NULL
);

-- Every accepted event, once: the id is the idempotency key across all replicas.
CREATE TABLE events (
    id           TEXT PRIMARY KEY,
    ticket_id    TEXT NOT NULL,
    type         TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,           -- sha256 of the event as accepted
    received_at  TIMESTAMPTZ NOT NULL,
    event        TEXT NOT NULL,           -- JSON Event
    decision     TEXT NOT NULL            -- JSON Decision
);
CREATE INDEX events_ticket ON events (ticket_id, received_at);

-- Audit log: one row per rule that fired.
CREATE TABLE decisions (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id   TEXT NOT NULL,
    ticket_id  TEXT NOT NULL,
    rule       TEXT NOT NULL,
    at         TIMESTAMPTZ NOT NULL,
    actions    TEXT NOT NULL              -- JSON array of the decision's actions
);
CREATE INDEX decisions_ticket ON decisions (ticket_id, seq);
CREATE INDEX decisions_rule ON decisions (rule, seq);

-- Durable timers, claimed by any replica under a lease.
CREATE TABLE timers (
    id           TEXT PRIMARY KEY,        -- "<event id>/<timer name>": stable across retries
    ticket_id    TEXT NOT NULL,
    name         TEXT NOT NULL,
    rule         TEXT NOT NULL,
    due_at       TIMESTAMPTZ NOT NULL,
    cancel_on    JSONB NOT NULL,          -- array of event types
    state        TEXT NOT NULL,           -- pending | fired | cancelled
    created_by   TEXT NOT NULL,           -- event id
    claimed_by   TEXT,                    -- instance holding the lease
    lease_until  TIMESTAMPTZ,
    attempt      BIGINT NOT NULL DEFAULT 0,
    finished_at  TIMESTAMPTZ
);
CREATE INDEX timers_due ON timers (due_at) WHERE state = 'pending';
CREATE INDEX timers_ticket ON timers (ticket_id, state);

-- Actions that need a call outside (webhook, notify), written with the decision and claimed
-- like timers: a lease per attempt; `attempts` is the fencing token.
CREATE TABLE outbox (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id           TEXT PRIMARY KEY,        -- "<event id>/<action index>": stable delivery id
    event_id     TEXT NOT NULL,
    ticket_id    TEXT NOT NULL,
    action       TEXT NOT NULL,           -- JSON Action
    state        TEXT NOT NULL,           -- pending | delivered | dead
    attempts     BIGINT NOT NULL DEFAULT 0,
    next_at      TIMESTAMPTZ NOT NULL,
    last_error   TEXT,
    claimed_by   TEXT,
    lease_until  TIMESTAMPTZ
);
CREATE INDEX outbox_due ON outbox (next_at) WHERE state = 'pending';
