-- A stand-in service schema for the kit's own tests: one resource table.
CREATE TABLE demo_cases (
    id          bigserial PRIMARY KEY,
    buyer_id    text NOT NULL,
    merchant_id text NOT NULL,
    order_id    text NOT NULL,
    quantity    integer NOT NULL
);
