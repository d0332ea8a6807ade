package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/syncd"
)

// StuckResource is a resource a daemon stopped retrying: its latest
// change event is a change_failed with outcome "stuck", and no change
// event and no "unstuck" record came after it.
type StuckResource struct {
	Key      syncd.Key
	RemoteID string
	Action   string
	Since    time.Time
	Error    string
}

// StuckResources lists the resources whose last change event says stuck,
// by key. The reconcile package records these events (reconcile.StuckAfter).
func (s *Store) StuckResources(ctx context.Context) ([]StuckResource, error) {
	rows, err := s.pool.Query(ctx, `
SELECT s.resource_kind, s.resource_name, s.remote_id, s.action, s.occurred_at, s.error
FROM audit_events s
WHERE s.event_type = 'change_failed' AND s.outcome = 'stuck'
  AND NOT EXISTS (
    SELECT 1 FROM audit_events l
    WHERE l.resource_kind = s.resource_kind AND l.resource_name = s.resource_name AND l.id > s.id
      AND (l.event_type IN ('change_applied', 'change_failed') OR l.outcome = 'unstuck'))
ORDER BY s.resource_kind, s.resource_name`)
	if err != nil {
		return nil, s.unavailable("query stuck resources", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StuckResource, error) {
		var sr StuckResource
		var kind, name, remote, action, errText *string
		if err := r.Scan(&kind, &name, &remote, &action, &sr.Since, &errText); err != nil {
			return sr, err
		}
		sr.Key = syncd.Key{Kind: syncd.Kind(deref(kind)), Name: deref(name)}
		sr.RemoteID, sr.Action, sr.Error = deref(remote), deref(action), deref(errText)
		sr.Since = sr.Since.UTC()
		return sr, nil
	})
	if err != nil {
		return nil, s.unavailable("query stuck resources", err)
	}
	return out, nil
}

// ChangeAttempts is the failure history of one resource's change, as the
// reconcile package counts it towards stuck (reconcile.StuckAfter): the
// change's signature (a hash of its desired and live state, never a value)
// and how many attempts in a row failed persistently with it.
type ChangeAttempts struct {
	Signature string
	Attempts  int
	RemoteID  string
	Action    string
	Error     string // the last attempt's error, scrubbed as in its audit row
	// StuckSince is when the resource became stuck; zero while retried.
	StuckSince time.Time
}

// ChangeAttempts reads the failure history of every resource that has one,
// so that the count carries on across processes (syncd run --once from
// cron, a restarted daemon).
func (s *Store) ChangeAttempts(ctx context.Context) (map[syncd.Key]ChangeAttempts, error) {
	rows, err := s.pool.Query(ctx, `
SELECT kind, name, signature, attempts, remote_id, action, last_error, stuck_since
FROM change_attempts`)
	if err != nil {
		return nil, s.unavailable("read change attempts", err)
	}
	out := map[syncd.Key]ChangeAttempts{}
	for rows.Next() {
		var kind, name string
		var remote, errText *string
		var since *time.Time
		var a ChangeAttempts
		if err := rows.Scan(&kind, &name, &a.Signature, &a.Attempts, &remote, &a.Action, &errText, &since); err != nil {
			rows.Close()
			return nil, fmt.Errorf("audit: read change attempts: %w", err)
		}
		a.RemoteID, a.Error = deref(remote), deref(errText)
		if since != nil {
			a.StuckSince = since.UTC()
		}
		out[syncd.Key{Kind: syncd.Kind(kind), Name: name}] = a
	}
	if err := rows.Err(); err != nil {
		return nil, s.unavailable("read change attempts", err)
	}
	return out, nil
}

// SetChangeAttempts writes a resource's failure history; nil forgets it
// (the change was applied, or its manifest or live state moved).
func (s *Store) SetChangeAttempts(ctx context.Context, k syncd.Key, a *ChangeAttempts) error {
	var err error
	if a == nil {
		_, err = s.pool.Exec(ctx, `DELETE FROM change_attempts WHERE kind = $1 AND name = $2`, string(k.Kind), k.Name)
	} else {
		var since *time.Time
		if !a.StuckSince.IsZero() {
			t := a.StuckSince.UTC()
			since = &t
		}
		_, err = s.pool.Exec(ctx, `
INSERT INTO change_attempts (kind, name, signature, attempts, remote_id, action, last_error, stuck_since, updated_at)
VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, NULLIF($7, ''), $8, $9)
ON CONFLICT (kind, name) DO UPDATE SET signature = EXCLUDED.signature, attempts = EXCLUDED.attempts,
  remote_id = EXCLUDED.remote_id, action = EXCLUDED.action, last_error = EXCLUDED.last_error,
  stuck_since = EXCLUDED.stuck_since, updated_at = EXCLUDED.updated_at`,
			string(k.Kind), k.Name, a.Signature, a.Attempts, a.RemoteID, a.Action, clean(a.Error), since, dbTime(s.opts.Now()))
	}
	if err != nil {
		return s.unavailable("write change attempts of "+k.String(), err)
	}
	return nil
}
