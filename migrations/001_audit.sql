-- syncd's audit store. audit_events is a contract: users query it with SQL
-- (SPEC §7). Its rows are never changed or removed; each carries a hash
-- chained to the row before it, so that a change made behind the trigger's
-- back is detected by `syncd audit verify`.

CREATE TABLE audit_events (
    -- id is the row's position in the hash chain, assigned by the writer
    -- under the chain lock: 1, 2, 3, ... with no gaps, so that a removed
    -- row shows as a missing id.
    id                bigint PRIMARY KEY,
    occurred_at       timestamptz NOT NULL,
    run_id            text,
    event_type        text NOT NULL,
    resource_kind     text,
    resource_name     text,
    remote_id         text,
    action            text,
    changes           jsonb,
    outcome           text,
    error             text,
    manifest_revision text,
    mode              text,
    actor             text,
    -- event_key is the producer's idempotency key: a replayed event is
    -- written once.
    event_key         text NOT NULL,
    prev_hash         text NOT NULL,
    row_hash          text NOT NULL,
    CONSTRAINT audit_events_event_key_key UNIQUE (event_key),
    -- More types are added by a later migration that replaces this check.
    CONSTRAINT audit_events_event_type_check CHECK (event_type IN (
        'run_started', 'run_finished',
        'change_planned', 'change_applied', 'change_failed',
        'drift_detected', 'drift_resolved',
        'manifest_invalid', 'connector_tested'))
);

CREATE INDEX audit_events_occurred_at_idx ON audit_events (occurred_at);
CREATE INDEX audit_events_resource_idx ON audit_events (resource_kind, resource_name, id);
CREATE INDEX audit_events_run_id_idx ON audit_events (run_id);

COMMENT ON TABLE audit_events IS 'syncd audit log: append-only, hash-chained (row_hash = sha256(prev_hash, id, columns)); see syncd audit verify';

-- The chain head: the last id and row_hash written. Writers lock this row
-- while they append, which orders the chain; verify compares it with the
-- last row, so that rows removed from the end are detected too.
CREATE TABLE audit_chain (
    id       int PRIMARY KEY CHECK (id = 1),
    last_id  bigint NOT NULL,
    row_hash text NOT NULL
);
INSERT INTO audit_chain (id, last_id, row_hash) VALUES (1, 0, '');

CREATE FUNCTION audit_events_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'audit rows are never changed or removed';
END
$$;

-- Statement-level, so that even a DELETE matching no row is refused.
CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();
CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();

CREATE TABLE runs (
    id                text PRIMARY KEY,
    trigger           text,
    mode              text,
    started_at        timestamptz NOT NULL,
    finished_at       timestamptz,
    summary           jsonb,
    requests          jsonb,
    outcome           text,
    error             text,
    manifest_revision text,
    actor             text
);
CREATE INDEX runs_started_at_idx ON runs (started_at);

-- The remote objects syncd created or adopted. hashes maps a JSON pointer to
-- the keyed hash (HMAC) of the value last applied there: never a value.
CREATE TABLE inventory (
    kind       text NOT NULL,
    name       text NOT NULL,
    remote_id  text NOT NULL,
    hashes     jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, name)
);

-- One row per drift episode of a resource: opened when drift is first seen,
-- updated on every scan that still sees it, closed when it goes away.
-- fields holds the redacted field changes, each with its own first_seen,
-- last_seen and resolved_at.
CREATE TABLE drift (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text NOT NULL,
    name            text NOT NULL,
    remote_id       text,
    fields          jsonb NOT NULL DEFAULT '[]',
    desired_hash    text,
    first_seen      timestamptz NOT NULL,
    last_seen       timestamptz NOT NULL,
    occurrences     integer NOT NULL DEFAULT 1,
    resolved_at     timestamptz,
    resolution      text CHECK (resolution IN ('apply', 'manifest_change', 'reverted')),
    opened_run_id   text,
    resolved_run_id text,
    CHECK ((resolved_at IS NULL) = (resolution IS NULL))
);
CREATE UNIQUE INDEX drift_one_open_idx ON drift (kind, name) WHERE resolved_at IS NULL;
CREATE INDEX drift_resource_idx ON drift (kind, name, first_seen);

CREATE VIEW drift_open AS
    SELECT * FROM drift WHERE resolved_at IS NULL;

-- Write-ahead journal of creates: a pending intent is written before the
-- create request and finished with the remote id after it, so that a crash
-- in between is found and resolved instead of creating twice.
CREATE TABLE intents (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text NOT NULL,
    name        text NOT NULL,
    natural_key text NOT NULL,
    action      text NOT NULL,
    state       text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'succeeded', 'failed')),
    remote_id   text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    error       text
);
CREATE INDEX intents_pending_idx ON intents (kind, name) WHERE state = 'pending';
