-- Every three-letter sequence of each message's text (`events.text_key`), so that a search for
-- words in messages reads the events that hold them instead of every ticket's events. The
-- index holds no copy of the text (it reads `events`), no positions (`detail=none`) and no
-- sizes (`columnsize=0`, which only ranking needs): it finds the events holding each three
-- letters of the words asked for, and the search then checks the words in the text itself.
--
-- The writer adds events to it some hundreds at a time, after their own commits (an index
-- written with each event would cost each commit more than the event's own rows), and
-- `text_indexed.events_upto` is the last event it holds. A search reads the events after that
-- one directly, so it finds every event the moment it is committed. Events are never changed
-- or deleted, so nothing else keeps the index.
CREATE VIRTUAL TABLE events_text USING fts5(
    text_key, content = 'events', content_rowid = 'rowid', tokenize = 'trigram', detail = 'none',
    columnsize = 0);
INSERT INTO events_text (events_text) VALUES ('rebuild');
CREATE TABLE text_indexed (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    events_upto INTEGER NOT NULL
);
INSERT INTO text_indexed (id, events_upto) SELECT 1, COALESCE(MAX(rowid), 0) FROM events;
