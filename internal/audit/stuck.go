package audit

import (
	"context"
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
