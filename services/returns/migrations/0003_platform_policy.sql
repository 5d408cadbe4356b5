-- The platform's returns policy (SPEC §3: the refund-only cases, the return-shipping cap,
-- packaging fees by damage degree), one row per version: the newest is in force, the
-- older ones are its audit trail (who changed it, when, with which request). No row:
-- the defaults of domain::platform_policy.
CREATE TABLE platform_policy (
    version      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    policy       jsonb NOT NULL,
    actor_role   text NOT NULL,
    actor_id     text NOT NULL,
    request_id   text NOT NULL,
    update_time  timestamptz NOT NULL DEFAULT now()
);
