-- Fewer indexes on the hot insert path (issue 4: scheduling throughput). Every index is a
-- B-tree insertion per scheduled timer; two of the four secondary ones were redundant:
--
-- * `live` is true while a timer runs and NULL after. A unique index over
--   (owner, subject, kind, live) lets only one live timer hold a key (NULLs never collide),
--   and, covering every row, it also serves listings by owner and subject. It replaces
--   both timers_live_key (partial, unique) and timers_subject.
-- * A request id now names the timer itself (the id is a UUIDv5 of owner and request id,
--   see api::timer_id_for), so the primary key makes it idempotent and
--   timers_request_id goes. (A retry that straddles this migration, of a request whose
--   timer has meanwhile ended, would schedule anew: the old id was not derived.)
ALTER TABLE timers
    ADD COLUMN live boolean GENERATED ALWAYS AS
        (CASE WHEN state IN ('scheduled', 'paused') THEN true END) STORED;
CREATE UNIQUE INDEX timers_key ON timers (owner, subject, kind, live);
DROP INDEX timers_live_key;
DROP INDEX timers_subject;
DROP INDEX timers_request_id;
