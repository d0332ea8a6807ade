// Package notify tells people about drift and failures: it turns audit
// events (drift opened and resolved, change failed, resource stuck, run
// failed) into signed JSON webhooks and Slack incoming-webhook messages.
//
// The audit_events table is the event stream: a sender reads it by id (the
// hash chain's position, which commits in order) from a cursor per sink and
// enqueues one row per (sink, event key) in the notify_outbox table, then
// delivers due rows from its own goroutine with retries and exponential
// backoff, so a reconcile never waits for a notification and a restart
// loses none. Only the replica holding the notifier's PostgreSQL advisory
// lock reads and sends (any mode: a report-only daemon sends too); rows are
// also claimed with FOR UPDATE SKIP LOCKED and a lease, so two senders
// never send the same row at once. Delivery is at least once: a receiver
// dedupes by the event key. Payloads carry field paths, never values.
package notify
