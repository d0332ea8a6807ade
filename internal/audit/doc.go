// Package audit is syncd's PostgreSQL store: the append-only, hash-chained
// audit_events table users query with SQL (SPEC §7), the runs table, the
// inventory of remote objects syncd owns, the drift lifecycle, and the
// intents journal of creates. Migrations come from the embedded migrations
// package. Record returns only once every event is durable — committed to
// the database or appended and fsync'd to a local spool file when the
// database is unreachable — and keeps the events' order across both; a
// background drainer writes the spool to the database in order, exactly
// once (events carry an idempotency key), also after a restart. Everything
// else (runs, inventory, intents, drift) needs the database and returns an
// error wrapping ErrUnavailable when it is down. The store never sees secret
// values: field changes arrive redacted and inventory hashes arrive keyed.
package audit
