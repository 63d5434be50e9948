-- As in the SQLite store: a person's lines in a chat handed over to them: their name, and the event that brought the
-- line (a helpdesk's webhook, `POST /v1/events`, the agent-messages endpoint), so a repeated
-- delivery of that event adds the line once.

ALTER TABLE chat_messages ADD COLUMN name TEXT;       -- on an agent's line: who wrote it
ALTER TABLE chat_messages ADD COLUMN event_id TEXT;   -- on an agent's line: the event's id
CREATE UNIQUE INDEX chat_messages_event ON chat_messages (session_id, event_id)
    WHERE event_id IS NOT NULL;
