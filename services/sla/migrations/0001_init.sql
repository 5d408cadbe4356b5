-- The SLA timer service's truth. Redis holds only a schedule rebuilt from these rows.
-- Tables are unqualified: the pool's search_path is the service's schema.

CREATE TABLE timers (
    id              uuid PRIMARY KEY,
    owner           text NOT NULL,
    subject         text NOT NULL,
    kind            text NOT NULL,
    request_id      text,
    state           text NOT NULL
        CONSTRAINT timers_state_valid CHECK (state IN ('scheduled', 'paused', 'fired', 'cancelled', 'dead_letter')),
    -- the Trigger and Reminder list as received (protobuf), for display and recomputation
    trigger         bytea NOT NULL,
    reminder_specs  bytea NOT NULL,
    -- reminder instants (epoch ms, index-aligned with the specs) and which have fired
    reminder_at     jsonb NOT NULL DEFAULT '[]',
    reminders_done  integer NOT NULL DEFAULT 0,
    start_time      timestamptz NOT NULL,
    due_time        timestamptz NOT NULL,
    -- 'wall' (absolute, hours) or 'working' (working days): how a pause is counted
    clock           text NOT NULL CONSTRAINT timers_clock_valid CHECK (clock IN ('wall', 'working')),
    calendar        text,
    remaining_ms    bigint,
    payload         bytea NOT NULL DEFAULT '',
    labels          jsonb NOT NULL DEFAULT '{}',
    -- bumped by reschedule and resume: part of every delivery id, so a stale event is
    -- recognisable and an owner never confuses two clocks of one timer
    generation      integer NOT NULL DEFAULT 0,
    -- the next event: -1 the expiry, i >= 0 reminder i; NULL when nothing is left
    next_point      integer,
    next_fire_at    timestamptz,
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    fired_time      timestamptz,
    reschedule_count integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- One live clock per (owner, subject, kind): scheduling it again is a no-op.
CREATE UNIQUE INDEX timers_live_key ON timers (owner, subject, kind)
    WHERE state IN ('scheduled', 'paused');
CREATE UNIQUE INDEX timers_request_id ON timers (owner, request_id) WHERE request_id IS NOT NULL;
CREATE INDEX timers_next_fire ON timers (next_fire_at) WHERE state = 'scheduled';
CREATE INDEX timers_subject ON timers (owner, subject, created_at);

-- Every expiry, for compliance reporting (SPEC §8: breaches are facts).
CREATE TABLE breaches (
    id          bigserial PRIMARY KEY,
    timer_id    uuid NOT NULL REFERENCES timers (id),
    generation  integer NOT NULL,
    owner       text NOT NULL,
    subject     text NOT NULL,
    kind        text NOT NULL,
    due_time    timestamptz NOT NULL,
    fired_time  timestamptz NOT NULL,
    lateness_ms bigint NOT NULL,
    labels      jsonb NOT NULL DEFAULT '{}',
    CONSTRAINT breaches_once UNIQUE (timer_id, generation)
);
CREATE INDEX breaches_owner_time ON breaches (owner, due_time);

-- Deliveries that exhausted their retries; an operator can replay them.
CREATE TABLE dead_letters (
    id           bigserial PRIMARY KEY,
    timer_id     uuid NOT NULL REFERENCES timers (id),
    owner        text NOT NULL,
    subject      text NOT NULL,
    kind         text NOT NULL,
    point        integer NOT NULL,
    generation   integer NOT NULL,
    delivery_id  text NOT NULL,
    attempts     integer NOT NULL,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    replayed_at  timestamptz
);
CREATE INDEX dead_letters_owner ON dead_letters (owner, id);

-- Calendar years loaded by operators at run time (the embedded data covers 2025-2026).
CREATE TABLE calendar_years (
    calendar      text NOT NULL,
    year          integer NOT NULL,
    holidays      jsonb NOT NULL,
    makeup_days   jsonb NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (calendar, year)
);
