-- The bot sessions of a KPI report's range (`BOT_SESSIONS`): sessions by the time they began,
-- with what the report reads of them, and the messages that handed a session to a person (few
-- of all messages), so that a report over 25,000 chats reads neither table.
CREATE INDEX chat_sessions_created ON chat_sessions (created_at) INCLUDE (answered, id);
CREATE INDEX chat_messages_handoff ON chat_messages (session_id) WHERE handoff;
