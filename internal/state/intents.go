package state

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/syncd"
)

// BeginIntent journals a create before it is sent and returns the intent's
// id. It needs the database: when it fails, the caller must not create.
func (s *Store) BeginIntent(ctx context.Context, in syncd.Intent) (int64, error) {
	state := in.State
	if state == "" {
		state = syncd.IntentPending
	}
	if !validState(state) {
		return 0, fmt.Errorf("audit: begin intent %s: invalid state %q", in.Key, state)
	}
	if in.Action == "" {
		return 0, fmt.Errorf("audit: begin intent %s: empty action", in.Key)
	}
	at := in.CreatedAt
	if at.IsZero() {
		at = s.now()
	}
	var id int64
	err := s.pool.QueryRow(ctx, `
INSERT INTO intents (kind, name, natural_key, action, state, remote_id, created_at, updated_at, error)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) RETURNING id`,
		string(in.Key.Kind), clean(in.Key.Name), clean(in.NaturalKey), clean(in.Action), state,
		null(clean(in.RemoteID)), at, null(clean(in.Error))).Scan(&id)
	if err != nil {
		return 0, s.unavailable("begin intent "+in.Key.String(), err)
	}
	return id, nil
}

// FinishIntent settles an intent: succeeded with the remote id, or failed
// with the error text.
func (s *Store) FinishIntent(ctx context.Context, id int64, state, remoteID, errText string) error {
	if !validState(state) {
		return fmt.Errorf("audit: finish intent %d: invalid state %q", id, state)
	}
	tag, err := s.pool.Exec(ctx, `
UPDATE intents SET state = $2, remote_id = COALESCE($3, remote_id), error = $4, updated_at = $5 WHERE id = $1`,
		id, state, null(clean(remoteID)), null(clean(errText)), s.now())
	if err != nil {
		return s.unavailable(fmt.Sprintf("finish intent %d", id), err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("audit: finish intent %d: no such intent", id)
	}
	return nil
}

// PendingIntents lists the intents not yet settled, oldest first: creates
// that may or may not have happened.
func (s *Store) PendingIntents(ctx context.Context) ([]syncd.Intent, error) {
	rows, err := s.pool.Query(ctx, `
SELECT id, kind, name, natural_key, action, state, remote_id, error, created_at, updated_at
FROM intents WHERE state = 'pending' ORDER BY id`)
	if err != nil {
		return nil, s.unavailable("pending intents", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (syncd.Intent, error) {
		var in syncd.Intent
		var kind string
		var remoteID, errText *string
		err := r.Scan(&in.ID, &kind, &in.Key.Name, &in.NaturalKey, &in.Action, &in.State,
			&remoteID, &errText, &in.CreatedAt, &in.UpdatedAt)
		in.Key.Kind, in.RemoteID, in.Error = syncd.Kind(kind), deref(remoteID), deref(errText)
		return in, err
	})
	if err != nil {
		return nil, s.unavailable("pending intents", err)
	}
	return out, nil
}

func validState(s string) bool {
	return s == syncd.IntentPending || s == syncd.IntentSucceeded || s == syncd.IntentFailed
}
