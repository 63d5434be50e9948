-- Actions applied through a helpdesk's API (a Chatwoot reply, a Zammad article) carry where:
-- {"helpdesk": "chatwoot", "account": "1", ...}. NULL for webhooks, Slack and e-mail.
ALTER TABLE outbox ADD COLUMN target TEXT;
