-- Returns, exchanges and refund-only requests. Tables are unqualified: the pool's
-- search_path is the service's schema.

-- Published merchant policies (the domain Policy as JSON, defaults applied).
CREATE TABLE policies (
    merchant_id  text PRIMARY KEY,
    policy       jsonb NOT NULL,
    update_time  timestamptz NOT NULL DEFAULT now()
);

-- Units of an order line in open or completed requests. The CHECK makes "no second open
-- request for the same units" hold under any concurrency: two requests racing for the
-- last unit serialise on this row and the second fails.
CREATE TABLE line_units (
    order_id       text NOT NULL,
    order_line_id  text NOT NULL,
    bought         integer NOT NULL,
    claimed        integer NOT NULL DEFAULT 0,
    CONSTRAINT line_units_pk PRIMARY KEY (order_id, order_line_id),
    CONSTRAINT units_within_bought CHECK (claimed BETWEEN 0 AND bought)
);

-- One row per request: the domain document plus the columns lists filter and sort on.
CREATE TABLE returns (
    id             uuid PRIMARY KEY,             -- UUIDv7: newest first is id DESC
    state          smallint NOT NULL,
    kind           smallint NOT NULL,
    order_id       text NOT NULL,
    order_line_id  text NOT NULL,
    buyer_id       text NOT NULL,
    merchant_id    text NOT NULL,
    clock_due      timestamptz,                  -- the running clock's due time
    doc            jsonb NOT NULL,
    create_time    timestamptz NOT NULL,
    update_time    timestamptz NOT NULL
);
CREATE INDEX returns_by_buyer ON returns (buyer_id, id DESC);
CREATE INDEX returns_by_merchant ON returns (merchant_id, id DESC);
CREATE INDEX returns_merchant_queue ON returns (merchant_id, clock_due, id);
CREATE INDEX returns_by_order ON returns (order_id, id DESC);

-- Every transition: actor, time, action, reason, before and after (SPEC §9).
CREATE TABLE audit (
    id          bigserial PRIMARY KEY,
    return_id   uuid NOT NULL REFERENCES returns (id),
    at          timestamptz NOT NULL DEFAULT now(),
    actor_role  text NOT NULL,
    actor_id    text NOT NULL,
    from_state  smallint,
    to_state    smallint NOT NULL,
    action      text NOT NULL,
    reason      text NOT NULL DEFAULT '',
    request_id  text NOT NULL DEFAULT ''
);
CREATE INDEX audit_by_return ON audit (return_id, id);
