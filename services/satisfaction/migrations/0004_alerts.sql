-- The CSAT alert (SPEC §7): per merchant, whether its trailing CSAT is below the target
-- (the row every rating of the merchant locks, so a crossing is seen once), and the
-- alerts raised.
CREATE TABLE merchant_csat (
    merchant_id  text PRIMARY KEY,
    below        boolean NOT NULL DEFAULT false
);

CREATE TABLE alerts (
    id            uuid PRIMARY KEY,
    kind          smallint NOT NULL,
    merchant_id   text NOT NULL,
    value         double precision NOT NULL,
    threshold     double precision NOT NULL,
    sample_size   integer NOT NULL,
    window_start  date NOT NULL,
    window_end    date NOT NULL,
    create_time   timestamptz NOT NULL
);
CREATE INDEX alerts_by_merchant ON alerts (merchant_id, id DESC);
