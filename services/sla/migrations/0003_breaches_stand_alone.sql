-- A breach is a compliance record that stands on its own: it copies the owner, subject,
-- kind and times it reports, and is written only from the timer row its statement has
-- just updated. The foreign key to timers added a key-share lookup per expiry (a quarter
-- of the cost of recording one under bench-sla firing) and would tie breach history to
-- the retention of timers.
-- Dropping it locks timers: give up rather than queue every writer behind a long
-- statement (the migration is retried).
SET LOCAL lock_timeout = '5s';
ALTER TABLE breaches DROP CONSTRAINT IF EXISTS breaches_timer_id_fkey;
