package state

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/syncd/syncd/internal/syncd"
)

// Bindings returns the inventory: every remote object syncd created or
// adopted, by resource key.
func (s *Store) Bindings(ctx context.Context) (map[syncd.Key]syncd.Binding, error) {
	rows, err := s.pool.Query(ctx, `SELECT kind, name, remote_id, hashes FROM inventory`)
	if err != nil {
		return nil, s.unavailable("read inventory", err)
	}
	defer rows.Close()
	out := make(map[syncd.Key]syncd.Binding)
	for rows.Next() {
		var b syncd.Binding
		var kind string
		var hashes []byte
		if err := rows.Scan(&kind, &b.Key.Name, &b.RemoteID, &hashes); err != nil {
			return nil, fmt.Errorf("audit: read inventory: %w", err)
		}
		b.Key.Kind = syncd.Kind(kind)
		if err := json.Unmarshal(hashes, &b.Hashes); err != nil {
			return nil, fmt.Errorf("audit: read inventory %s: hashes: %w", b.Key, err)
		}
		out[b.Key] = b
	}
	if err := rows.Err(); err != nil {
		return nil, s.unavailable("read inventory", err)
	}
	return out, nil
}

// Bind records (or updates) that key is bound to a remote object. Hashes
// must already be keyed hashes (syncd.Hasher); values that do not look like
// one are refused, so that a raw secret cannot end up in the table.
func (s *Store) Bind(ctx context.Context, b syncd.Binding) error {
	if b.Key.Name == "" || b.RemoteID == "" {
		return fmt.Errorf("audit: bind %s: key and remote id are required", b.Key)
	}
	for ptr, h := range b.Hashes {
		if !looksHashed(h) {
			return fmt.Errorf("audit: bind %s: hash at %s is not a keyed hash", b.Key, ptr)
		}
	}
	hashes := b.Hashes
	if hashes == nil {
		hashes = map[string]string{}
	}
	hj, err := json.Marshal(hashes)
	if err != nil {
		return fmt.Errorf("audit: bind %s: %w", b.Key, err)
	}
	_, err = s.pool.Exec(ctx, `
INSERT INTO inventory (kind, name, remote_id, hashes, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $5)
ON CONFLICT (kind, name) DO UPDATE SET
    remote_id = EXCLUDED.remote_id, hashes = EXCLUDED.hashes, updated_at = EXCLUDED.updated_at`,
		string(b.Key.Kind), clean(b.Key.Name), clean(b.RemoteID), json.RawMessage(hj), s.now())
	if err != nil {
		return s.unavailable("bind "+b.Key.String(), err)
	}
	return nil
}

// looksHashed accepts what syncd.Hasher produces: "hmac-sha256:" and 64 hex
// digits.
func looksHashed(h string) bool {
	const prefix = "hmac-sha256:"
	if len(h) != len(prefix)+64 || h[:len(prefix)] != prefix {
		return false
	}
	for _, c := range h[len(prefix):] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Unbind removes key from the inventory (after a delete).
func (s *Store) Unbind(ctx context.Context, key syncd.Key) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM inventory WHERE kind = $1 AND name = $2`, string(key.Kind), key.Name); err != nil {
		return s.unavailable("unbind "+key.String(), err)
	}
	return nil
}

// InventoryCount is the number of bound objects (the base of the
// mass-delete limit).
func (s *Store) InventoryCount(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM inventory`).Scan(&n); err != nil {
		return 0, s.unavailable("count inventory", err)
	}
	return n, nil
}
