-- The audit table takes the kit's standard shape (kit::audit: case_id), so the kit
-- stores and reads every service's trail the same way.
ALTER TABLE audit RENAME COLUMN complaint_id TO case_id;
ALTER INDEX audit_by_complaint RENAME TO audit_by_case;
