-- Surveys (SPEC §7): one per finished case (the UNIQUE case_name is the guard a
-- redelivered completion event meets), rated once by its buyer.
CREATE TABLE surveys (
    id                 uuid PRIMARY KEY,
    case_name          text NOT NULL UNIQUE,
    service_type       smallint NOT NULL,
    state              smallint NOT NULL,
    buyer_id           text NOT NULL,
    merchant_id        text NOT NULL,
    category           text NOT NULL,
    region             text NOT NULL,
    requested_at       timestamptz,
    first_response_at  timestamptz,
    finished_at        timestamptz NOT NULL,
    open_time          timestamptz NOT NULL,
    expire_time        timestamptz NOT NULL,
    -- the five scores in the contract's order, once rated
    scores             smallint[] CHECK (scores IS NULL OR (array_length(scores, 1) = 5
                           AND 1 <= ALL (scores) AND 5 >= ALL (scores))),
    comment            text NOT NULL DEFAULT '',
    rate_time          timestamptz
);
CREATE INDEX surveys_by_buyer ON surveys (buyer_id, id DESC);
