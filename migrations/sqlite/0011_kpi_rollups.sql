-- Reports over months read a day's figures from a rollup instead of its facts.
--
-- `seq` numbers every write of a fact: AUTOINCREMENT never hands out a number twice, and a
-- fact written again under its key is replaced (a new row, a new, higher number). A day's
-- fact count and sum of `seq` therefore change whenever one of its facts is added, removed or
-- rewritten; a rollup stores the pair it was computed from and is used only while the pair
-- still holds. `day` is the fact's UTC day (days since 1970-01-01), so a day's facts are one
-- index range read in order.
CREATE TABLE kpi_facts_new (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    key            TEXT NOT NULL UNIQUE,
    ticket_id      TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    kind           TEXT NOT NULL,
    at             TEXT NOT NULL,
    day            INTEGER NOT NULL,
    secs           INTEGER,
    business_secs  INTEGER,
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
INSERT INTO kpi_facts_new (key, ticket_id, event_id, kind, at, day, secs, business_secs,
    target_secs, metric, policy, breached, score, replies, reopens, channel, priority, team,
    agent, language)
SELECT key, ticket_id, event_id, kind, at,
    CAST(julianday(substr(at, 1, 10)) - 2440587.5 AS INTEGER), secs, business_secs,
    target_secs, metric, policy, breached, score, replies, reopens, channel, priority, team,
    agent, language
FROM kpi_facts ORDER BY at;
DROP TABLE kpi_facts;
ALTER TABLE kpi_facts_new RENAME TO kpi_facts;

CREATE INDEX kpi_facts_at ON kpi_facts (at);
CREATE INDEX kpi_facts_ticket ON kpi_facts (ticket_id);
-- A day's count and sum of `seq` from the index alone (it holds `seq` as the rowid).
CREATE INDEX kpi_facts_day ON kpi_facts (day);
-- The backlog before a report's range: the created, reopened and solved facts before it with
-- every dimension, read from the index without touching the table.
CREATE INDEX kpi_facts_open ON kpi_facts (at, kind, team, agent, channel, priority, language)
    WHERE kind IN ('created', 'reopened', 'solved');

-- A day's tallies (JSON) per dimension grouped by ('' for none), with the fact count and seq
-- sum they were counted from.
CREATE TABLE kpi_rollups (
    day      INTEGER NOT NULL,
    dim      TEXT NOT NULL,
    facts    INTEGER NOT NULL,
    seq_sum  INTEGER NOT NULL,
    tallies  TEXT NOT NULL,
    PRIMARY KEY (day, dim)
);
