-- The refund ledger (SPEC §4). Amounts are integer minor units of `currency`.
-- Tables are unqualified: the pool's search_path is the service's schema.

-- One row per order line refunds have touched: what was paid (from OrderDirectory, at the
-- first refund) and what has been refunded. The caps are CHECK constraints, so two
-- concurrent refunds on one line serialise on this row's lock and the second one that
-- would overdraw it fails in the database, whatever the code above it believes.
-- order_line_id '' is the order as a whole (order-level compensation).
CREATE TABLE lines (
    order_id           text NOT NULL,
    order_line_id      text NOT NULL,
    currency           text NOT NULL,
    goods_paid         bigint NOT NULL CONSTRAINT lines_goods_paid_valid CHECK (goods_paid >= 0),
    shipping_paid      bigint NOT NULL CONSTRAINT lines_shipping_paid_valid CHECK (shipping_paid >= 0),
    goods_refunded     bigint NOT NULL DEFAULT 0,
    shipping_refunded  bigint NOT NULL DEFAULT 0,
    -- LATE_PENALTY and GOODWILL paid on this line; capped at the line's paid amount
    compensation       bigint NOT NULL DEFAULT 0,
    CONSTRAINT lines_pk PRIMARY KEY (order_id, order_line_id),
    CONSTRAINT goods_refund_within_paid CHECK (goods_refunded BETWEEN 0 AND goods_paid),
    CONSTRAINT shipping_refund_within_paid CHECK (shipping_refunded BETWEEN 0 AND shipping_paid),
    CONSTRAINT compensation_within_paid CHECK (compensation BETWEEN 0 AND goods_paid)
);

CREATE TABLE refunds (
    id                  uuid PRIMARY KEY,           -- UUIDv7: newest first is id DESC
    kind                smallint NOT NULL,          -- aftersales.refunds.v1.RefundKind
    state               smallint NOT NULL,          -- aftersales.refunds.v1.RefundState
    source_case         text NOT NULL,
    order_id            text NOT NULL,
    order_line_id       text NOT NULL,
    buyer_id            text NOT NULL,
    merchant_id         text NOT NULL,
    amount_minor        bigint NOT NULL CONSTRAINT refunds_amount_positive CHECK (amount_minor > 0),
    currency            text NOT NULL,
    reason              text NOT NULL,
    funded_by           smallint NOT NULL,
    -- the id the gateway deduplicates on; the same for every submission of one payout.
    -- payout_seq moves on only after a definitive decline (nothing was paid under it).
    payout_seq          integer NOT NULL DEFAULT 1,
    payment_ref         text NOT NULL,
    attempts            integer NOT NULL DEFAULT 0,  -- gateway submissions, all told
    failures            integer NOT NULL DEFAULT 0,  -- transient failures in a row (backoff)
    last_error          text NOT NULL DEFAULT '',
    -- when the payout worker should next look at this refund; NULL: nothing to do.
    -- A claim pushes it one lease ahead, so a worker that dies mid-call only delays it.
    next_attempt_at     timestamptz,
    settle_due          timestamptz,
    create_time         timestamptz NOT NULL DEFAULT now(),
    submit_time         timestamptz,
    settle_time         timestamptz,
    update_time         timestamptz NOT NULL DEFAULT now(),
    -- platform advance (先行赔付) and its recovery
    advance_from        smallint,
    advance_debtor      text,
    advance_reason      text,
    advance_time        timestamptz,
    recovered_minor     bigint NOT NULL DEFAULT 0,
    recovered_time      timestamptz,
    CONSTRAINT recovery_within_advance CHECK (
        recovered_minor >= 0 AND (advance_time IS NOT NULL OR recovered_minor = 0)
        AND recovered_minor <= amount_minor)
);
CREATE INDEX refunds_due ON refunds (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX refunds_by_order ON refunds (order_id, id DESC);
CREATE INDEX refunds_by_case ON refunds (source_case, id DESC);
CREATE INDEX refunds_by_merchant ON refunds (merchant_id, id DESC);
CREATE INDEX refunds_by_buyer ON refunds (buyer_id, id DESC);
-- A case's late penalty and its shipping-insurance claim are paid once each.
CREATE UNIQUE INDEX refunds_once_per_case ON refunds (source_case, kind) WHERE kind IN (3, 4);

CREATE TABLE recoveries (
    id           uuid PRIMARY KEY,
    refund_id    uuid NOT NULL REFERENCES refunds (id),
    amount_minor bigint NOT NULL CONSTRAINT recoveries_amount_positive CHECK (amount_minor > 0),
    reference    text NOT NULL,
    create_time  timestamptz NOT NULL DEFAULT now()
);

-- Every state change: who, when, why, from, to (SPEC §9).
CREATE TABLE audit (
    id          bigserial PRIMARY KEY,
    refund_id   uuid NOT NULL REFERENCES refunds (id),
    actor_role  text NOT NULL,
    actor_id    text NOT NULL,
    from_state  smallint,
    to_state    smallint NOT NULL,
    reason      text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_by_refund ON audit (refund_id, id);
