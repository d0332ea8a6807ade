-- Settings syncd keeps in the database so that every replica and every CLI
-- run against it agree: the HMAC key for the inventory's hashes of secrets
-- (generated on first use when SYNCD_HMAC_KEY is not set).
CREATE TABLE IF NOT EXISTS syncd_settings (
    name  text PRIMARY KEY,
    value bytea NOT NULL
);
