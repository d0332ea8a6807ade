package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/pgstore"
	"github.com/syncd/syncd/internal/syncd"
)

// ReadInventory connects to dsn just long enough to read the inventory and
// the HMAC key, for `syncd plan`. It only reads, in a read-only session: it
// never migrates (a database behind on migrations is ErrSchemaBehind) and
// never creates the key (nil when none was made yet). A role with SELECT
// on syncd's tables is enough.
func ReadInventory(ctx context.Context, dsn string) (map[syncd.Key]syncd.Binding, []byte, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors may quote the URL, password included.
		return nil, nil, errors.New("audit: invalid database URL")
	}
	pgstore.ReadOnlySession(cfg)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("audit: %w: %w", ErrUnavailable, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, nil, fmt.Errorf("audit: read inventory: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read-only
	if err := pgstore.CheckSchema(ctx, tx); err != nil {
		return nil, nil, err
	}
	var key []byte
	err = tx.QueryRow(ctx, `SELECT value FROM syncd_settings WHERE name = $1`, hmacKeyName).Scan(&key)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, fmt.Errorf("audit: read hmac key: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT kind, name, remote_id, hashes FROM inventory`)
	if err != nil {
		return nil, nil, fmt.Errorf("audit: read inventory: %w", err)
	}
	m, err := collectBindings(rows)
	if err != nil {
		return nil, nil, fmt.Errorf("audit: read inventory: %w", err)
	}
	return m, key, nil
}

func collectBindings(rows pgx.Rows) (map[syncd.Key]syncd.Binding, error) {
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (syncd.Binding, error) {
		var b syncd.Binding
		var kind string
		var hashes []byte
		if err := r.Scan(&kind, &b.Key.Name, &b.RemoteID, &hashes); err != nil {
			return b, err
		}
		b.Key.Kind = syncd.Kind(kind)
		if err := json.Unmarshal(hashes, &b.Hashes); err != nil {
			return b, fmt.Errorf("%s: hashes: %w", b.Key, err)
		}
		return b, nil
	})
	if err != nil {
		return nil, err
	}
	m := make(map[syncd.Key]syncd.Binding, len(out))
	for _, b := range out {
		m[b.Key] = b
	}
	return m, nil
}
