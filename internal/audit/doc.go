// Package audit is syncd's audit log in PostgreSQL: the append-only,
// hash-chained audit_events table users query with SQL (SPEC §7), chain
// verification and signed checkpoints, the runs table, the drift
// lifecycle, and the queries of the console and of `syncd audit`. The
// inventory, the intents journal and the HMAC key are the state store's
// (internal/state), which shares the log's connection (pgstore.DB): the log
// opens it, owns it and closes it. Record returns only once every event is
// durable — committed to the database or appended and fsync'd to a local
// spool file when the database is unreachable — and keeps the events'
// order across both; a background drainer writes the spool to the
// database in order, exactly once (events carry an idempotency key), also
// after a restart. Everything else (runs, drift, queries) needs the
// database and returns an error wrapping ErrUnavailable when it is down.
// The log never sees secret values: field changes arrive redacted.
package audit
