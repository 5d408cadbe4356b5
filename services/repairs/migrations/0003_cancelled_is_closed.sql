-- CANCELLED (12) is a closed repair too: the line is free for a new one. The new guard is
-- built before the old one goes, so no moment is without one; it keeps the old name, the
-- one the store recognises a violation by.
CREATE UNIQUE INDEX repairs_one_open_per_line_v2 ON repairs (order_id, order_line_id)
    WHERE state NOT IN (4, 11, 12);
DROP INDEX repairs_one_open_per_line;
ALTER INDEX repairs_one_open_per_line_v2 RENAME TO repairs_one_open_per_line;
