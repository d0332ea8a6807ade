-- Placeholder on branch issue-16n only: tern needs migrations numbered
-- without gaps, and 004_notify_outbox.sql is numbered after the real
-- 003_audit_key.sql that another branch adds. At merge, keep that branch's
-- file and drop this one.
SELECT 1;
