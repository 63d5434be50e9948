-- KPI facts (docs/kpis.md): what each decision left for the reports — a ticket created, its
-- first and next responses, solved, reopened, handed off, an SLA clock met or breached, a
-- satisfaction rating — dated with the event's own time, with the ticket's dimensions then.
-- A fact written again under its key replaces the row (a rebuild, a late reply that meets a
-- clock its breach timer had marked).
CREATE TABLE kpi_facts (
    key            TEXT PRIMARY KEY,
    ticket_id      TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    kind           TEXT NOT NULL,         -- created | first_response | next_response | solved | reopened | handoff | sla | csat
    at             TEXT NOT NULL,         -- RFC 3339 UTC, sortable
    secs           INTEGER,               -- calendar seconds measured
    business_secs  INTEGER,               -- active seconds in the SLA calendar
    target_secs    INTEGER,
    metric         TEXT,
    policy         TEXT,
    breached       INTEGER NOT NULL DEFAULT 0,
    score          INTEGER,
    replies        INTEGER,
    reopens        INTEGER,
    channel        TEXT NOT NULL,
    priority       TEXT NOT NULL,
    team           TEXT,
    agent          TEXT,
    language       TEXT
);
CREATE INDEX kpi_facts_at ON kpi_facts (at);
CREATE INDEX kpi_facts_ticket ON kpi_facts (ticket_id);
