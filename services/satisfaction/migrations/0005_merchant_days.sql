-- The merchant after-sales scorecard's counters (seed 000 §一(六)), kept per merchant and
-- UTC+8 day as the cases' and the SLA service's events arrive (each applied once, the
-- inbox), so a scorecard reads at most a period's days.
CREATE TABLE merchant_days (
    merchant_id   text NOT NULL,
    day           date NOT NULL,
    -- after-sales cases that ended (returns, repairs, complaints, as their surveys count)
    cases         bigint NOT NULL DEFAULT 0,
    -- complaints opened against the merchant
    complaints    bigint NOT NULL DEFAULT 0,
    -- the merchant's own clocks that ended: met (cancelled in time) or breached
    sla_clocks    bigint NOT NULL DEFAULT 0,
    sla_breaches  bigint NOT NULL DEFAULT 0,
    -- re-repairs of repairs that ended (rounds - 1)
    re_repairs    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (merchant_id, day)
);

-- Late penalties settled (refunds' LATE_PENALTY), per currency.
CREATE TABLE merchant_penalties (
    merchant_id  text NOT NULL,
    day          date NOT NULL,
    currency     text NOT NULL,
    minor        bigint NOT NULL DEFAULT 0,
    settled      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (merchant_id, day, currency)
);

-- The cases counted as ended, so a case is counted once however it is published.
CREATE TABLE merchant_cases (
    case_name  text PRIMARY KEY
);
