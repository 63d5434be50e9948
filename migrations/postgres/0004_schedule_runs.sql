-- Runs of cron schedules: one row per (schedule, occurrence), so an occurrence runs once on
-- all replicas together.
CREATE TABLE schedule_runs (
    schedule     TEXT NOT NULL,
    fire_at      TIMESTAMPTZ NOT NULL,
    state        TEXT NOT NULL,           -- running | done | skipped | baseline
    claimed_by   TEXT,
    lease_until  TIMESTAMPTZ,
    recorded_at  TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    PRIMARY KEY (schedule, fire_at)
);
