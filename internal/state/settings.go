package state

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/pgstore"
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

// Prepare applies every pending migration on dsn and creates the HMAC key
// when there is none (`syncd migrate`): what the read-only commands, which
// create nothing, need to find. A plan saved against a database without a
// key would otherwise hash with another key than the apply that follows.
func Prepare(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("audit: migrate: %w: %w", ErrUnavailable, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := pgstore.Migrate(ctx, conn); err != nil {
		return err
	}
	_, err = hmacKey(ctx, conn)
	return err
}
