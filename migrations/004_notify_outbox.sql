-- Notifications (internal/notify): an outbox, so that a notification
-- survives a restart between the event and its delivery, and a cursor per
-- sink over audit_events, so that every event is enqueued once.

-- One row per (sink, audit event): the body exactly as it is sent (JSON,
-- built from the audit row: field paths, never values). A sink is named by
-- its kind and a hash of its URL, never by the URL (a Slack webhook URL is
-- a credential).
CREATE TABLE notify_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sink            text NOT NULL,
    event_key       text NOT NULL,
    audit_id        bigint NOT NULL,
    notification    text NOT NULL,
    body            bytea NOT NULL,
    created_at      timestamptz NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    last_attempt_at timestamptz,
    next_attempt_at timestamptz NOT NULL,
    -- A sender claims a row until lease_until; another sender skips it.
    lease_until     timestamptz,
    last_error      text,
    delivered_at    timestamptz,
    abandoned_at    timestamptz,
    CONSTRAINT notify_outbox_sink_event_key_key UNIQUE (sink, event_key),
    CHECK (delivered_at IS NULL OR abandoned_at IS NULL)
);
CREATE INDEX notify_outbox_due_idx ON notify_outbox (sink, next_attempt_at)
    WHERE delivered_at IS NULL AND abandoned_at IS NULL;

-- How far each sink has read audit_events (by id, the chain position,
-- which commits in order).
CREATE TABLE notify_cursor (
    sink          text PRIMARY KEY,
    last_audit_id bigint NOT NULL,
    updated_at    timestamptz NOT NULL
);
