-- The outbox is claimed like timers: a lease per attempt; `attempts` is the fencing token.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN lease_until TEXT;
