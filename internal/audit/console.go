package audit

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/syncd"
)

// The read-only queries of the web console (internal/console): pages of
// runs and drift episodes, newest first, and the resources a run touched.

// Runs returns the page of runs that starts offset runs after the newest
// one, at most limit of them, and the number of runs in all.
func (s *Store) Runs(ctx context.Context, offset, limit int) ([]syncd.RunRecord, int, error) {
	var total int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM runs`).Scan(&total); err != nil {
		return nil, 0, s.unavailable("list runs", err)
	}
	rows, err := s.pool.Query(ctx, `
SELECT id, trigger, mode, started_at, finished_at, summary, requests, outcome, error, manifest_revision, actor
FROM runs ORDER BY started_at DESC, id DESC OFFSET $1 LIMIT $2`, max(offset, 0), max(limit, 0))
	if err != nil {
		return nil, 0, s.unavailable("list runs", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (syncd.RunRecord, error) {
		var r syncd.RunRecord
		var trigger, mode, outcome, errText, rev, actor *string
		var finished *time.Time
		var summary, requests []byte
		if err := row.Scan(&r.ID, &trigger, &mode, &r.StartedAt, &finished, &summary, &requests,
			&outcome, &errText, &rev, &actor); err != nil {
			return r, err
		}
		r.Trigger, r.Mode, r.Outcome, r.Error, r.ManifestRevision, r.Actor =
			deref(trigger), syncd.Mode(deref(mode)), deref(outcome), deref(errText), deref(rev), deref(actor)
		r.StartedAt = r.StartedAt.UTC()
		if finished != nil {
			r.FinishedAt = finished.UTC()
		}
		if summary != nil {
			r.Summary = json.RawMessage(summary)
		}
		if requests != nil {
			r.Requests = json.RawMessage(requests)
		}
		return r, nil
	})
	if err != nil {
		return nil, 0, s.unavailable("list runs", err)
	}
	return out, total, nil
}

// RunResources returns, for each of runIDs, the resources its audit events
// are about, sorted by key.
func (s *Store) RunResources(ctx context.Context, runIDs []string) (map[string][]syncd.Key, error) {
	out := make(map[string][]syncd.Key, len(runIDs))
	if len(runIDs) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `
SELECT DISTINCT run_id, resource_kind, resource_name FROM audit_events
WHERE run_id = ANY($1) AND resource_kind IS NOT NULL AND resource_name IS NOT NULL
ORDER BY run_id, resource_kind, resource_name`, runIDs)
	if err != nil {
		return nil, s.unavailable("run resources", err)
	}
	var run, kind, name string
	_, err = pgx.ForEachRow(rows, []any{&run, &kind, &name}, func() error {
		out[run] = append(out[run], syncd.Key{Kind: syncd.Kind(kind), Name: name})
		return nil
	})
	if err != nil {
		return nil, s.unavailable("run resources", err)
	}
	return out, nil
}

// Drifts returns the page of drift episodes, open and resolved, that
// starts offset episodes after the most recently opened one, and the
// number of episodes in all.
func (s *Store) Drifts(ctx context.Context, offset, limit int) ([]Drift, int, error) {
	var total int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM drift`).Scan(&total); err != nil {
		return nil, 0, s.unavailable("list drifts", err)
	}
	rows, err := s.pool.Query(ctx, driftSelect+` ORDER BY first_seen DESC, id DESC OFFSET $1 LIMIT $2`, max(offset, 0), max(limit, 0))
	if err != nil {
		return nil, 0, s.unavailable("list drifts", err)
	}
	out, err := pgx.CollectRows(rows, scanDrift)
	if err != nil {
		return nil, 0, s.unavailable("list drifts", err)
	}
	return out, total, nil
}
