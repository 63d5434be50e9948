-- The backlog before a report's range counts the created, reopened and solved facts dated
-- before it: by kind and time, without reading every other fact of those months.
CREATE INDEX kpi_facts_kind_at ON kpi_facts (kind, at);
