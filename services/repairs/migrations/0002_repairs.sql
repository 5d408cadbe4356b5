-- Repair orders (SPEC §5). The whole repair is one document (`doc`); the columns are
-- what lists filter and sort on, and what the database itself must guard.
CREATE SEQUENCE repair_seq;

CREATE TABLE repairs (
    id             uuid PRIMARY KEY,
    number         text NOT NULL UNIQUE,
    state          smallint NOT NULL,
    order_id       text NOT NULL,
    order_line_id  text NOT NULL,
    buyer_id       text NOT NULL,
    merchant_id    text NOT NULL,
    due_time       timestamptz,
    create_time    timestamptz NOT NULL,
    update_time    timestamptz NOT NULL,
    doc            jsonb NOT NULL
);
-- one open repair per order line (DECLINED = 4 and COMPLETED = 11 are closed)
CREATE UNIQUE INDEX repairs_one_open_per_line ON repairs (order_id, order_line_id)
    WHERE state NOT IN (4, 11);
CREATE INDEX repairs_by_buyer ON repairs (buyer_id, id DESC);
CREATE INDEX repairs_by_merchant ON repairs (merchant_id, id DESC);

-- The kit's standard audit trail (kit::audit).
CREATE TABLE audit (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id     uuid NOT NULL REFERENCES repairs (id),
    at          timestamptz NOT NULL DEFAULT now(),
    actor_role  text NOT NULL,
    actor_id    text NOT NULL,
    from_state  smallint,
    to_state    smallint NOT NULL,
    action      text NOT NULL,
    reason      text NOT NULL DEFAULT '',
    request_id  text NOT NULL DEFAULT ''
);
CREATE INDEX audit_by_case ON audit (case_id, id);
