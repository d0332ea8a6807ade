-- The failure history behind stuck resources (SPEC §6; reconcile.StuckAfter):
-- per resource, the change that last failed persistently (refused by the
-- platform or not effective) and how many attempts in a row it failed with
-- the same desired and live state. Kept here rather than in memory so that
-- `syncd run --once` from cron and a restarted daemon carry the count on.
-- audit_events cannot hold it: its rows lack the desired hash and whether
-- a failure was transient, and its columns are hashed into the chain.
-- signature is a SHA-256 of the change's action, remote id, desired hash
-- and redacted field changes: never a value. A row is removed when the
-- change is applied, its manifest or live state moves, or it needs no change.
CREATE TABLE change_attempts (
    kind        text NOT NULL,
    name        text NOT NULL,
    signature   text NOT NULL,
    attempts    integer NOT NULL CHECK (attempts > 0),
    remote_id   text,
    action      text NOT NULL,
    last_error  text,
    -- When the resource became stuck (attempts reached StuckAfter); NULL
    -- while it is still retried.
    stuck_since timestamptz,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (kind, name)
);
