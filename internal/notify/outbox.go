package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// outbox is the notify_outbox and notify_cursor tables.
type outbox struct {
	pool *pgxpool.Pool
}

// initCursor starts a sink that has never run at the last audit event
// that occurred before since, so a newly configured sink is not flooded
// with history but sees everything from its daemon's start on. A sink that
// has a cursor keeps it: a restart resumes where the last sender stopped.
func (o outbox) initCursor(ctx context.Context, sinkID string, since, now time.Time) error {
	_, err := o.pool.Exec(ctx, `
INSERT INTO notify_cursor (sink, last_audit_id, updated_at)
SELECT $1, coalesce(max(id), 0), $3 FROM audit_events WHERE occurred_at < $2
ON CONFLICT (sink) DO NOTHING`, sinkID, since, now)
	if err != nil {
		return fmt.Errorf("notify: init cursor of %s: %w", sinkID, err)
	}
	return nil
}

// tailBatch is the most audit rows read per transaction.
const tailBatch = 500

// enqueue reads the audit events after the sink's cursor, adds an outbox
// row for each one a rule maps (once per event key: a duplicate is
// ignored), and moves the cursor, all in one transaction. It reports
// whether more rows may be waiting.
func (o outbox) enqueue(ctx context.Context, s sink, consoleBase string, now time.Time) (added int, more bool, err error) {
	tx, err := o.pool.Begin(ctx)
	if err != nil {
		return 0, false, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	var cursor, head int64
	if err := tx.QueryRow(ctx, `SELECT last_audit_id FROM notify_cursor WHERE sink = $1 FOR UPDATE`, s.id).Scan(&cursor); err != nil {
		return 0, false, fmt.Errorf("cursor of %s: %w", s.id, err)
	}
	// Every row up to the chain head is committed (writers append under
	// the head's lock), so nothing below the new cursor can appear later.
	if err := tx.QueryRow(ctx, `SELECT last_id FROM audit_chain WHERE id = 1`).Scan(&head); err != nil {
		return 0, false, fmt.Errorf("audit chain head: %w", err)
	}
	if head <= cursor {
		return 0, false, nil
	}
	rows, err := tx.Query(ctx, `
SELECT id, event_key, occurred_at, coalesce(run_id, ''), event_type, coalesce(resource_kind, ''),
       coalesce(resource_name, ''), coalesce(remote_id, ''), coalesce(action, ''), changes,
       coalesce(outcome, ''), coalesce(error, ''), coalesce(manifest_revision, ''), coalesce(mode, '')
  FROM audit_events
 WHERE id > $1 AND id <= $2 AND event_type = ANY($3)
 ORDER BY id
 LIMIT $4`, cursor, head, auditTypes(), tailBatch)
	if err != nil {
		return 0, false, fmt.Errorf("read audit events: %w", err)
	}
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (auditRow, error) {
		var a auditRow
		err := r.Scan(&a.ID, &a.Key, &a.OccurredAt, &a.RunID, &a.Type, &a.Kind, &a.Name, &a.RemoteID,
			&a.Action, &a.Changes, &a.Outcome, &a.Error, &a.Revision, &a.Mode)
		return a, err
	})
	if err != nil {
		return 0, false, fmt.Errorf("read audit events: %w", err)
	}
	next := head
	if len(found) == tailBatch {
		next, more = found[len(found)-1].ID, true
	}
	var batch pgx.Batch
	for _, a := range found {
		n, ok := build(a, consoleBase)
		if !ok {
			continue
		}
		body, err := s.render(n)
		if err != nil {
			return 0, false, fmt.Errorf("render %s for %s: %w", a.Key, s.id, err)
		}
		batch.Queue(`
INSERT INTO notify_outbox (sink, event_key, audit_id, notification, body, created_at, next_attempt_at)
VALUES ($1, $2, $3, $4, $5, $6, $6)
ON CONFLICT (sink, event_key) DO NOTHING`, s.id, a.Key, a.ID, string(n.Type), body, now)
		added++
	}
	batch.Queue(`UPDATE notify_cursor SET last_audit_id = $2, updated_at = $3 WHERE sink = $1`, s.id, next, now)
	if err := tx.SendBatch(ctx, &batch).Close(); err != nil {
		return 0, false, fmt.Errorf("enqueue for %s: %w", s.id, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, false, err
	}
	return added, more, nil
}

// item is one claimed outbox row.
type item struct {
	id        int64
	key       string
	typ       string
	body      []byte
	attempts  int
	createdAt time.Time
}

// claim leases the oldest due row of a sink until leaseUntil; nil when
// none is due. Rows another sender holds are skipped, never waited for.
func (o outbox) claim(ctx context.Context, sinkID string, now, leaseUntil time.Time) (*item, error) {
	var it item
	err := o.pool.QueryRow(ctx, `
UPDATE notify_outbox SET lease_until = $3
 WHERE id = (SELECT id FROM notify_outbox
              WHERE sink = $1 AND delivered_at IS NULL AND abandoned_at IS NULL
                AND next_attempt_at <= $2 AND (lease_until IS NULL OR lease_until < $2)
              ORDER BY id LIMIT 1
              FOR UPDATE SKIP LOCKED)
RETURNING id, event_key, notification, body, attempts, created_at`, sinkID, now, leaseUntil).
		Scan(&it.id, &it.key, &it.typ, &it.body, &it.attempts, &it.createdAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("claim for %s: %w", sinkID, err)
	}
	return &it, nil
}

func (o outbox) delivered(ctx context.Context, it *item, now time.Time) error {
	_, err := o.pool.Exec(ctx, `
UPDATE notify_outbox SET delivered_at = $2, attempts = attempts + 1, last_attempt_at = $2,
       lease_until = NULL, last_error = NULL
 WHERE id = $1`, it.id, now)
	return err
}

// failed records a failed attempt: retried at next, or abandoned (when
// abandon is set) after its last attempt.
func (o outbox) failed(ctx context.Context, it *item, now, next time.Time, msg string, abandon bool) error {
	var abandonedAt *time.Time
	if abandon {
		abandonedAt = &now
	}
	_, err := o.pool.Exec(ctx, `
UPDATE notify_outbox SET attempts = attempts + 1, last_attempt_at = $2, next_attempt_at = $3,
       lease_until = NULL, last_error = $4, abandoned_at = $5
 WHERE id = $1`, it.id, now, next, msg, abandonedAt)
	return err
}

// pending counts the rows still to deliver, by sink.
func (o outbox) pending(ctx context.Context) (map[string]int, error) {
	rows, err := o.pool.Query(ctx, `
SELECT sink, count(*) FROM notify_outbox
 WHERE delivered_at IS NULL AND abandoned_at IS NULL GROUP BY sink`)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	var sinkID string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&sinkID, &n}, func() error {
		out[sinkID] = n
		return nil
	})
	return out, err
}

// prune removes rows delivered or abandoned before cutoff. Their events
// are behind every cursor, so they cannot be enqueued again.
func (o outbox) prune(ctx context.Context, cutoff time.Time) error {
	_, err := o.pool.Exec(ctx, `DELETE FROM notify_outbox WHERE delivered_at < $1 OR abandoned_at < $1`, cutoff)
	return err
}
