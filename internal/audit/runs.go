package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/pgstore"
	"github.com/syncd/syncd/internal/syncd"
)

// StartRun writes the run's row. It records no event: the caller records
// run_started through Record, which also works while the database is down.
func (s *Store) StartRun(ctx context.Context, r syncd.RunRecord) error {
	return s.upsertRun(ctx, "start run", r)
}

// FinishRun completes the run's row, creating it when StartRun could not.
func (s *Store) FinishRun(ctx context.Context, r syncd.RunRecord) error {
	return s.upsertRun(ctx, "finish run", r)
}

func (s *Store) upsertRun(ctx context.Context, op string, r syncd.RunRecord) error {
	if r.ID == "" {
		return fmt.Errorf("audit: %s: empty run id", op)
	}
	summary, err := jsonOrNull(r.Summary)
	if err != nil {
		return fmt.Errorf("audit: %s %s: summary: %w", op, r.ID, err)
	}
	requests, err := jsonOrNull(r.Requests)
	if err != nil {
		return fmt.Errorf("audit: %s %s: requests: %w", op, r.ID, err)
	}
	started := r.StartedAt
	if started.IsZero() {
		started = s.opts.Now()
	}
	var finished any
	if !r.FinishedAt.IsZero() {
		finished = r.FinishedAt
	}
	// A later call fills in what it knows and keeps what it does not.
	_, err = s.pool.Exec(ctx, `
INSERT INTO runs (id, trigger, mode, started_at, finished_at, summary, requests, outcome, error, manifest_revision, actor)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (id) DO UPDATE SET
    trigger = COALESCE(EXCLUDED.trigger, runs.trigger),
    mode = COALESCE(EXCLUDED.mode, runs.mode),
    started_at = LEAST(runs.started_at, EXCLUDED.started_at),
    finished_at = COALESCE(EXCLUDED.finished_at, runs.finished_at),
    summary = COALESCE(EXCLUDED.summary, runs.summary),
    requests = COALESCE(EXCLUDED.requests, runs.requests),
    outcome = COALESCE(EXCLUDED.outcome, runs.outcome),
    error = COALESCE(EXCLUDED.error, runs.error),
    manifest_revision = COALESCE(EXCLUDED.manifest_revision, runs.manifest_revision),
    actor = COALESCE(EXCLUDED.actor, runs.actor)`,
		clean(r.ID), null(clean(r.Trigger)), null(clean(string(r.Mode))), started, finished, summary, requests,
		null(clean(r.Outcome)), null(clean(r.Error)), null(clean(r.ManifestRevision)), null(clean(r.Actor)))
	if err != nil {
		return s.unavailable(op+" "+r.ID, err)
	}
	return nil
}

// LastRun returns the most recently started run; ok is false when there is
// none. Summary and Requests come back as json.RawMessage.
func (s *Store) LastRun(ctx context.Context) (r syncd.RunRecord, ok bool, err error) {
	var trigger, mode, outcome, errText, rev, actor *string
	var finished *time.Time
	var summary, requests []byte
	err = s.pool.QueryRow(ctx, `
SELECT id, trigger, mode, started_at, finished_at, summary, requests, outcome, error, manifest_revision, actor
FROM runs ORDER BY started_at DESC, id DESC LIMIT 1`).Scan(
		&r.ID, &trigger, &mode, &r.StartedAt, &finished, &summary, &requests, &outcome, &errText, &rev, &actor)
	if errors.Is(err, pgx.ErrNoRows) {
		return syncd.RunRecord{}, false, nil
	}
	if err != nil {
		return syncd.RunRecord{}, false, s.unavailable("last run", err)
	}
	r.Trigger, r.Mode, r.Outcome, r.Error, r.ManifestRevision, r.Actor =
		deref(trigger), syncd.Mode(deref(mode)), deref(outcome), deref(errText), deref(rev), deref(actor)
	if finished != nil {
		r.FinishedAt = *finished
	}
	if summary != nil {
		r.Summary = json.RawMessage(summary)
	}
	if requests != nil {
		r.Requests = json.RawMessage(requests)
	}
	return r, true, nil
}

func jsonOrNull(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if raw, ok := v.(json.RawMessage); ok {
		return canonicalJSON(raw)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(b), nil
}

func deref(s *string) string { return pgstore.Deref(s) }
