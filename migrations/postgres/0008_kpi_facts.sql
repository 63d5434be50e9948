-- KPI facts (docs/kpis.md), as in the SQLite store: what each decision left for the reports,
-- dated with the event's own time, with the ticket's dimensions then; a fact written again
-- under its key replaces the row.
CREATE TABLE kpi_facts (
    key            TEXT PRIMARY KEY,
    ticket_id      TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    kind           TEXT NOT NULL,
    at             TIMESTAMPTZ NOT NULL,
    secs           BIGINT,
    business_secs  BIGINT,
    target_secs    BIGINT,
    metric         TEXT,
    policy         TEXT,
    breached       BOOLEAN NOT NULL DEFAULT FALSE,
    score          BIGINT,
    replies        BIGINT,
    reopens        BIGINT,
    channel        TEXT NOT NULL,
    priority       TEXT NOT NULL,
    team           TEXT,
    agent          TEXT,
    language       TEXT
);
CREATE INDEX kpi_facts_at ON kpi_facts (at);
CREATE INDEX kpi_facts_ticket ON kpi_facts (ticket_id);
