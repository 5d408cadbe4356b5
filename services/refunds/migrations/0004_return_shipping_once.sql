-- RETURN_SHIPPING (6) refunds, like late penalties (3) and insurance claims (4), are
-- paid once per case: the index that enforces it under any concurrency grows by one
-- kind. Built before the old one goes, so the rule never lapses.
CREATE UNIQUE INDEX refunds_once_per_case_v2 ON refunds (source_case, kind) WHERE kind IN (3, 4, 6);
DROP INDEX refunds_once_per_case;
ALTER INDEX refunds_once_per_case_v2 RENAME TO refunds_once_per_case;
