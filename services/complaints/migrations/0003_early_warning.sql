-- Early warning (SPEC §6, seed 002): each (category, region) key's surge detector state
-- (rules::surge::State, one row per key, locked while a day's count is observed) and the
-- warnings raised. The day's count itself is read from `complaints` (index below).
CREATE INDEX complaints_by_key_day ON complaints (category, region, create_time);

CREATE TABLE surge_keys (
    category   text NOT NULL,
    region     text NOT NULL,
    day        bigint,                 -- the open day (days since the epoch, UTC+8)
    today      integer NOT NULL DEFAULT 0,
    win        integer[] NOT NULL DEFAULT '{}',  -- the 28 stored counts before `day`, oldest first
    history    integer NOT NULL DEFAULT 0,
    in_surge   boolean NOT NULL DEFAULT false,
    quiet      integer NOT NULL DEFAULT 0,
    CONSTRAINT surge_keys_pk PRIMARY KEY (category, region)
);

CREATE TABLE early_warnings (
    id            uuid PRIMARY KEY,   -- UUIDv7: newest first is id DESC
    category      text NOT NULL,
    region        text NOT NULL,
    day           bigint NOT NULL,
    window_start  timestamptz NOT NULL,
    window_end    timestamptz NOT NULL,
    count         integer NOT NULL,
    baseline      double precision NOT NULL,
    ratio         double precision NOT NULL,
    p_value       double precision NOT NULL,
    create_time   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX early_warnings_by_key ON early_warnings (category, region, id DESC);
