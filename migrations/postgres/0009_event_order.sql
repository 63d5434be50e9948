-- The order events were decided in, for reading the events table back in order (a KPI
-- rebuild, `frontdesk export events`, a replay). Events of one ticket are decided one at a
-- time under the ticket's lock, so their numbers follow their decisions. Rows that were there
-- before this migration are numbered in the table's physical order; readers order by
-- (received_at, seq) where that matters. SQLite keeps this order in its rowid.
ALTER TABLE events ADD COLUMN seq BIGSERIAL;
CREATE UNIQUE INDEX events_seq ON events (seq);
