package audit

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/syncd"
)

// hmacKeyName is the syncd_settings row holding the generated HMAC key.
const hmacKeyName = "hmac_key"

// HMACKey returns the database's HMAC key for hashing secrets, generating
// it on first use. Concurrent first callers agree on one key.
func (s *Store) HMACKey(ctx context.Context) ([]byte, error) {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, s.unavailable("read hmac key", err)
	}
	defer c.Release()
	return hmacKey(ctx, c.Conn())
}

func hmacKey(ctx context.Context, conn *pgx.Conn) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, `INSERT INTO syncd_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, hmacKeyName, fresh); err != nil {
		return nil, fmt.Errorf("audit: store hmac key: %w", err)
	}
	var key []byte
	if err := conn.QueryRow(ctx, `SELECT value FROM syncd_settings WHERE name = $1`, hmacKeyName).Scan(&key); err != nil {
		return nil, fmt.Errorf("audit: read hmac key: %w", err)
	}
	return key, nil
}

// ReadInventory connects to dsn just long enough to read the inventory and
// the HMAC key, for read-only commands (`syncd plan`) that have no spool.
// It applies pending migrations first, so that a fresh database works.
func ReadInventory(ctx context.Context, dsn string) (map[syncd.Key]syncd.Binding, []byte, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("audit: %w: %w", ErrUnavailable, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := Migrate(ctx, conn); err != nil {
		return nil, nil, err
	}
	key, err := hmacKey(ctx, conn)
	if err != nil {
		return nil, nil, err
	}
	rows, err := conn.Query(ctx, `SELECT kind, name, remote_id, hashes FROM inventory`)
	if err != nil {
		return nil, nil, fmt.Errorf("audit: read inventory: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (syncd.Binding, error) {
		var b syncd.Binding
		var kind string
		var hashes []byte
		if err := r.Scan(&kind, &b.Key.Name, &b.RemoteID, &hashes); err != nil {
			return b, err
		}
		b.Key.Kind = syncd.Kind(kind)
		return b, json.Unmarshal(hashes, &b.Hashes)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("audit: read inventory: %w", err)
	}
	m := make(map[syncd.Key]syncd.Binding, len(out))
	for _, b := range out {
		m[b.Key] = b
	}
	return m, key, nil
}
