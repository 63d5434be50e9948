-- The client's id of a customer's chat message and the answer it got, so a resend of the same
-- message (a retry after a lost response) is answered from here instead of being taken twice.

ALTER TABLE chat_messages ADD COLUMN client_id TEXT;   -- on the customer's line; NULL without
ALTER TABLE chat_messages ADD COLUMN answer TEXT;      -- JSON: the request and the answer sent
CREATE UNIQUE INDEX chat_messages_client_id ON chat_messages (session_id, client_id)
    WHERE client_id IS NOT NULL;
