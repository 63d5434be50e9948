-- Agents' presence read from a helpdesk. `polled` is the status last read from the helpdesk
-- (NULL: never read); a poll applies the helpdesk's status only when it differs from it, so a
-- status set through the API after the helpdesk's last change stays. `source` says what set
-- the current status: `api` (PUT /v1/agents/{id}/status) or `helpdesk` (a poll).
ALTER TABLE agent_status ADD COLUMN polled TEXT;
ALTER TABLE agent_status ADD COLUMN source TEXT NOT NULL DEFAULT 'api';
