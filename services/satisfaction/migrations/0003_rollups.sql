-- Aggregates kept as they happen (SPEC §7), so a read never scans ratings: one row per
-- merchant, category, region, service type and day (the survey's open day, UTC+8),
-- added to in the transaction that opens the survey (its measured times) and in the one
-- that rates it (its scores). Weeks and months are unions of days.
CREATE TABLE rollups (
    merchant_id             text NOT NULL,
    day                     date NOT NULL,
    category                text NOT NULL,
    region                  text NOT NULL,
    service_type            smallint NOT NULL,
    surveys                 bigint NOT NULL DEFAULT 0,
    ratings                 bigint NOT NULL DEFAULT 0,
    satisfied               bigint NOT NULL DEFAULT 0,
    -- per dimension, in the contract's order: the sum of the scores, and how many were 4-5
    score_sums              bigint[] NOT NULL DEFAULT '{0,0,0,0,0}',
    satisfied_by_dimension  bigint[] NOT NULL DEFAULT '{0,0,0,0,0}',
    -- measured times: how many, their sum (seconds) and a histogram (domain::rollup::BOUNDS)
    first_response_n        bigint NOT NULL DEFAULT 0,
    first_response_sum      bigint NOT NULL DEFAULT 0,
    first_response_hist     bigint[] NOT NULL DEFAULT '{0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0}',
    resolution_n            bigint NOT NULL DEFAULT 0,
    resolution_sum          bigint NOT NULL DEFAULT 0,
    resolution_hist         bigint[] NOT NULL DEFAULT '{0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0}',
    PRIMARY KEY (merchant_id, day, category, region, service_type)
);
CREATE INDEX rollups_by_day ON rollups (day);

-- Element-wise sum of two arrays of the same length, in order.
CREATE FUNCTION add_arrays(a bigint[], b bigint[]) RETURNS bigint[]
    LANGUAGE sql IMMUTABLE STRICT AS
$$ SELECT ARRAY(SELECT x + y FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i) ORDER BY i) $$;
