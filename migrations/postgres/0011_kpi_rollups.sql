-- Reports over months read a day's figures from a rollup instead of its facts (as in the
-- SQLite store).
--
-- `seq` numbers every write of a fact: a fact written again under its key takes the next
-- number. A day's fact count and sum of `seq` therefore change whenever one of its facts is
-- added, removed or rewritten; a rollup stores the pair it was computed from and is used only
-- while the pair still holds. `day` is the fact's UTC day (days since 1970-01-01).
CREATE SEQUENCE kpi_facts_seq;
ALTER TABLE kpi_facts ADD COLUMN seq BIGINT NOT NULL DEFAULT nextval('kpi_facts_seq');
ALTER TABLE kpi_facts ADD COLUMN day BIGINT;
UPDATE kpi_facts SET day = floor(extract(epoch FROM at) / 86400)::bigint;
ALTER TABLE kpi_facts ALTER COLUMN day SET NOT NULL;

-- A day's count and sum of `seq` from the index alone.
CREATE INDEX kpi_facts_day ON kpi_facts (day, seq);
-- The backlog before a report's range: the created, reopened and solved facts before it with
-- every dimension, read from the index.
DROP INDEX kpi_facts_kind_at;
CREATE INDEX kpi_facts_open ON kpi_facts (at, kind, team, agent, channel, priority, language)
    WHERE kind IN ('created', 'reopened', 'solved');

-- A day's tallies (JSON) per dimension grouped by ('' for none), with the fact count and seq
-- sum they were counted from.
CREATE TABLE kpi_rollups (
    day      BIGINT NOT NULL,
    dim      TEXT NOT NULL,
    facts    BIGINT NOT NULL,
    seq_sum  BIGINT NOT NULL,
    tallies  TEXT NOT NULL,
    PRIMARY KEY (day, dim)
);
