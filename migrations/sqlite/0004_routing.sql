-- Routing: each ticket's assignee, channel and whether it is open; agents' loads, statuses,
-- round-robin cursors and team queues. A load changes in the same transaction as the ticket
-- that changes it (assigned, reassigned, closed), so it is right after any restart.
ALTER TABLE tickets ADD COLUMN assignee TEXT;
ALTER TABLE tickets ADD COLUMN channel TEXT NOT NULL DEFAULT 'other';
ALTER TABLE tickets ADD COLUMN is_open INTEGER NOT NULL DEFAULT 1;
UPDATE tickets SET
    assignee = json_extract(state, '$.assignee'),
    channel = COALESCE(json_extract(state, '$.channel'), 'other'),
    is_open = CASE WHEN json_extract(state, '$.status') IN ('solved', 'closed') THEN 0 ELSE 1 END;

-- Open tickets per agent and channel: the sum over the tickets above, kept with them.
CREATE TABLE agent_load (
    agent_id    TEXT NOT NULL,
    channel     TEXT NOT NULL,
    open        INTEGER NOT NULL,
    PRIMARY KEY (agent_id, channel)
);
INSERT INTO agent_load (agent_id, channel, open)
    SELECT assignee, channel, COUNT(*) FROM tickets
    WHERE is_open = 1 AND assignee IS NOT NULL GROUP BY assignee, channel;

-- What each agent last said: online | away | offline.
CREATE TABLE agent_status (
    agent_id    TEXT PRIMARY KEY,
    status      TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- Per team, the agent assigned last (round robin goes on after them).
CREATE TABLE routing_cursors (
    team        TEXT PRIMARY KEY,
    last_agent  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- Tickets waiting in a team's queue, and the assign action to try again.
CREATE TABLE queue (
    ticket_id   TEXT PRIMARY KEY,
    team        TEXT NOT NULL,
    channel     TEXT NOT NULL,            -- the ticket's, to offer it only to who has room
    rule        TEXT NOT NULL,
    action      TEXT NOT NULL,
    queued_at   TEXT NOT NULL,
    seq         INTEGER NOT NULL
);
CREATE INDEX queue_team ON queue (team, queued_at, seq);
