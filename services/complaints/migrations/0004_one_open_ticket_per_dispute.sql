-- A return can be in dispute more than once (an appeal ruled for the buyer, then a failed
-- inspection): one ticket per dispute still open, not one per return for ever. A
-- redelivered DisputeOpened is stopped by the inbox; this index stops a second ticket
-- while the first is undecided.
DROP INDEX complaints_one_per_dispute;
CREATE UNIQUE INDEX complaints_one_per_dispute ON complaints (subject_case)
    WHERE subject_case IS NOT NULL AND channel = 8 AND state NOT IN (7, 8);
