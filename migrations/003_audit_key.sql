-- A keyed audit chain: rows from keyed_from on carry row_hash =
-- 'h1:' || hex(HMAC-SHA256(audit key, ...)) instead of a plain SHA-256.
-- The key (SYNCD_AUDIT_KEY) is never stored in the database. Rows written
-- before the key was set keep their plain hashes and stay verifiable; the
-- first keyed row seals them (its keyed hash covers their last hash).
-- NULL: no keyed row yet.
ALTER TABLE audit_chain ADD COLUMN keyed_from bigint;
COMMENT ON COLUMN audit_chain.keyed_from IS 'id of the first row hashed with the audit key (HMAC); NULL while the chain is unkeyed';
