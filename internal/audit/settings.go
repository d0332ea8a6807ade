package audit

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/jackc/pgx/v5"
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
