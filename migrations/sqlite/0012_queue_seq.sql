-- A queued ticket takes the next number (`MAX(seq) + 1`); without an index that read every
-- queued row on each enqueue, so routing slowed as the queue grew.
CREATE INDEX IF NOT EXISTS queue_seq ON queue (seq);
