package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/syncd"
)

// ErrNotBound: the resource is not in the inventory.
var ErrNotBound = errors.New("not in the inventory")

// ErrAlreadyBound: the remote object, or the resource, is bound already.
var ErrAlreadyBound = errors.New("already bound")

// InventoryEntry is one inventory row as `syncd inventory list` shows it.
// It never carries the hashes themselves, only how many there are.
type InventoryEntry struct {
	Key       syncd.Key
	RemoteID  string
	Hashes    int // keyed hashes of write-only values recorded
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Inventory lists the inventory sorted by resource. It only reads, so a
// ReadOnly store (a SELECT-only role) is enough.
func (s *Store) Inventory(ctx context.Context) ([]InventoryEntry, error) {
	rows, err := s.pool.Query(ctx, `
SELECT kind, name, remote_id, (SELECT count(*) FROM jsonb_object_keys(hashes)), created_at, updated_at
FROM inventory ORDER BY kind, name`)
	if err != nil {
		return nil, s.unavailable("read inventory", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (InventoryEntry, error) {
		var e InventoryEntry
		var kind string
		err := r.Scan(&kind, &e.Key.Name, &e.RemoteID, &e.Hashes, &e.CreatedAt, &e.UpdatedAt)
		e.Key.Kind = syncd.Kind(kind)
		return e, err
	})
	if err != nil {
		return nil, s.unavailable("read inventory", err)
	}
	return out, nil
}

// Forget removes key from the inventory without touching the remote
// object, and records it: a change_applied event with action "forget" (ev
// gives the run, actor and revision; the rest is filled in). It returns the
// binding it removed; ErrNotBound when there was none.
func (s *Store) Forget(ctx context.Context, key syncd.Key, ev syncd.Event) (syncd.Binding, error) {
	if s.db.ReadOnly() {
		return syncd.Binding{}, errors.New("audit: forget: the store is read-only")
	}
	var b syncd.Binding
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `DELETE FROM inventory WHERE kind = $1 AND name = $2 RETURNING remote_id`,
			string(key.Kind), key.Name).Scan(&b.RemoteID)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%s: %w", key, ErrNotBound)
		}
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNotBound) {
			return b, err
		}
		return b, s.unavailable("forget "+key.String(), err)
	}
	b.Key = key
	ev.Type, ev.Kind, ev.Name, ev.RemoteID, ev.Action, ev.Outcome = syncd.EventChangeApplied, key.Kind, key.Name, b.RemoteID, "forget", "ok"
	ev.Changes = []syncd.FieldChange{{Path: "/remote_id", Before: b.RemoteID, After: nil}}
	// The row is gone: the event is durable even if the database went
	// away just now (Record spools).
	return b, s.rec.Record(ctx, ev)
}

// BindRemote binds key to remoteID, as `syncd inventory bind` asks, and
// records it: a change_applied event with action "bind". It refuses, with
// ErrAlreadyBound, a remote id bound to any resource of the same kind and
// a resource bound already (forget it first). No hash is recorded: the
// write-only values of the object are unknown until syncd writes them.
func (s *Store) BindRemote(ctx context.Context, key syncd.Key, remoteID string, ev syncd.Event) error {
	if s.db.ReadOnly() {
		return errors.New("audit: bind: the store is read-only")
	}
	if key.Name == "" || remoteID == "" {
		return fmt.Errorf("audit: bind %s: key and remote id are required", key)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Two binds of one remote id at once must not both pass the check.
		if _, err := tx.Exec(ctx, `LOCK TABLE inventory IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		var other string
		err := tx.QueryRow(ctx, `SELECT name FROM inventory WHERE kind = $1 AND remote_id = $2`, string(key.Kind), remoteID).Scan(&other)
		switch {
		case err == nil:
			return fmt.Errorf("%s %s is bound to %s/%s: %w (run `syncd inventory forget %s/%s` first)", key.Kind, remoteID, key.Kind, other, ErrAlreadyBound, key.Kind, other)
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		var have string
		err = tx.QueryRow(ctx, `SELECT remote_id FROM inventory WHERE kind = $1 AND name = $2`, string(key.Kind), key.Name).Scan(&have)
		switch {
		case err == nil:
			return fmt.Errorf("%s is bound to %s: %w (run `syncd inventory forget %s` first)", key, have, ErrAlreadyBound, key)
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		_, err = tx.Exec(ctx, `
INSERT INTO inventory (kind, name, remote_id, hashes, created_at, updated_at) VALUES ($1, $2, $3, '{}', $4, $4)`,
			string(key.Kind), clean(key.Name), clean(remoteID), s.now())
		return err
	})
	if err != nil {
		if errors.Is(err, ErrAlreadyBound) {
			return err
		}
		return s.unavailable("bind "+key.String(), err)
	}
	ev.Type, ev.Kind, ev.Name, ev.RemoteID, ev.Action, ev.Outcome = syncd.EventChangeApplied, key.Kind, key.Name, remoteID, "bind", "ok"
	ev.Changes = []syncd.FieldChange{{Path: "/remote_id", Before: nil, After: remoteID}}
	return s.rec.Record(ctx, ev)
}
