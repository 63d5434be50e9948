-- Runs of cron schedules: one row per (schedule, occurrence), so an occurrence runs once.
CREATE TABLE schedule_runs (
    schedule     TEXT NOT NULL,
    fire_at      TEXT NOT NULL,           -- RFC 3339 UTC, sortable
    state        TEXT NOT NULL,           -- running | done | skipped | baseline
    claimed_by   TEXT,
    lease_until  TEXT,
    recorded_at  TEXT NOT NULL,
    finished_at  TEXT,
    PRIMARY KEY (schedule, fire_at)
);
