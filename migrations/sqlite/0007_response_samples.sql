-- Measured first responses (settings.measured_response): one row per ticket whose SLA
-- first-response clock was met, with the active time it took.
CREATE TABLE response_samples (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    queue TEXT NOT NULL,
    priority TEXT NOT NULL,
    achieved_at TEXT NOT NULL,
    secs INTEGER NOT NULL
);
CREATE INDEX response_samples_recent ON response_samples (queue, priority, achieved_at);
