-- Complaint tickets. Tables are unqualified: the pool's search_path is the service's schema.

-- Ticket numbers: unique and in filing order (the day is in the number's text).
CREATE SEQUENCE ticket_seq;

-- One row per complaint: the domain Ticket as JSON, and the columns lists, lookups and
-- constraints need.
CREATE TABLE complaints (
    id            uuid PRIMARY KEY,                 -- UUIDv7: newest first is id DESC
    number        text NOT NULL CONSTRAINT complaints_number_unique UNIQUE,
    state         smallint NOT NULL,
    buyer_id      text NOT NULL,
    merchant_id   text NOT NULL,
    owner_id      text,
    order_id      text NOT NULL,
    -- one ticket per dispute: the case it is about (a return), when raised by a service
    subject_case  text,
    priority      smallint NOT NULL,
    channel       smallint NOT NULL,
    category      text NOT NULL,
    region        text NOT NULL,
    due_time      timestamptz,                      -- the clock due first (work queues)
    create_time   timestamptz NOT NULL,
    update_time   timestamptz NOT NULL,
    ticket        jsonb NOT NULL
);
CREATE UNIQUE INDEX complaints_one_per_dispute ON complaints (subject_case)
    WHERE subject_case IS NOT NULL AND channel = 8;
CREATE INDEX complaints_by_buyer ON complaints (buyer_id, id DESC);
CREATE INDEX complaints_by_merchant ON complaints (merchant_id, id DESC);
CREATE INDEX complaints_queue ON complaints (state, due_time) WHERE owner_id IS NULL;

-- Every change: who, from which state to which, why, with which request.
CREATE TABLE audit (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    complaint_id  uuid NOT NULL REFERENCES complaints (id),
    at            timestamptz NOT NULL DEFAULT now(),
    actor_role    text NOT NULL,
    actor_id      text NOT NULL,
    from_state    smallint,
    to_state      smallint NOT NULL,
    action        text NOT NULL,
    reason        text NOT NULL DEFAULT '',
    request_id    text NOT NULL DEFAULT ''
);
CREATE INDEX audit_by_complaint ON audit (complaint_id, id);
