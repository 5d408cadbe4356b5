-- The audit trail becomes readable (ListRefundAudit, issue 23) in the shape of every
-- service's AuditEntry: the action and the request id of the call that caused it.
ALTER TABLE audit
    ADD COLUMN action     text NOT NULL DEFAULT '',
    ADD COLUMN request_id text NOT NULL DEFAULT '';

-- Rows written before: the action follows from who moved the refund where, as the code
-- that wrote them did (the request id was not kept).
UPDATE audit SET action = CASE
    WHEN from_state IS NULL THEN 'create'
    WHEN actor_id = 'sla' THEN 'escalate'
    WHEN actor_id = 'payment-gateway' THEN CASE to_state
        WHEN 2 THEN 'submit' WHEN 3 THEN 'settle' WHEN 4 THEN 'fail' ELSE 'escalate' END
    WHEN reason = 'retried by an agent' THEN 'retry'
    WHEN reason LIKE 'platform advance, owed by %' THEN 'record_platform_advance'
    WHEN reason LIKE 'recovered %' THEN 'record_recovery'
    ELSE 'change' END;

-- The payout worker and the settlement clock act as the suite itself (ACTOR_ROLE_SYSTEM),
-- as the code now records them.
UPDATE audit SET actor_role = 'system'
    WHERE actor_role = 'service' AND actor_id IN ('sla', 'payment-gateway');
