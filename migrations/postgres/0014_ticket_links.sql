-- As in the SQLite store: a ticket's id in a helpdesk when frontdesk gave the ticket its own (a chat handed to a person
-- and opened there as a conversation), so the helpdesk's webhooks naming that id reach it.

CREATE TABLE ticket_links (
    helpdesk     TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    ticket_id    TEXT NOT NULL,
    PRIMARY KEY (helpdesk, external_id)
);
