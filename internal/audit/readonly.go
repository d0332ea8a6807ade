package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/migrations"
)

// ErrSchemaBehind marks a database whose schema is older than this syncd's
// migrations: read-only commands never migrate, so they stop and say
// `syncd migrate`.
var ErrSchemaBehind = errors.New("database schema is behind")

// readOnlyParam makes every transaction of a session read-only, so that a
// read-only command cannot write even by mistake (PostgreSQL refuses).
const readOnlyParam = "default_transaction_read_only"

// LatestMigration is the number of the newest embedded migration.
func LatestMigration() int {
	entries, err := fs.ReadDir(migrations.FS, ".")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		prefix, _, ok := strings.Cut(e.Name(), "_")
		if !ok || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		if v, err := strconv.Atoi(prefix); err == nil {
			n = max(n, v)
		}
	}
	return n
}

type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// checkSchema fails with ErrSchemaBehind, naming `syncd migrate`, when the
// database lacks migrations this syncd has. It only reads. A newer schema
// (a newer syncd migrated it) is accepted: migrations only add.
func checkSchema(ctx context.Context, q queryRower) error {
	want := LatestMigration()
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, versionTable).Scan(&exists); err != nil {
		return fmt.Errorf("audit: read schema version: %w", err)
	}
	var have *int32
	if exists {
		if err := q.QueryRow(ctx, `SELECT max(version) FROM `+versionTable).Scan(&have); err != nil {
			return fmt.Errorf("audit: read schema version: %w", err)
		}
	}
	switch {
	case have == nil:
		return fmt.Errorf("audit: %w: the database has no syncd tables (migration 0 of %d); run `syncd migrate` first, with a role that may create tables", ErrSchemaBehind, want)
	case int(*have) < want:
		return fmt.Errorf("audit: %w: it is at migration %d, this syncd needs %d; run `syncd migrate` with a role that may change tables", ErrSchemaBehind, *have, want)
	}
	return nil
}

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
	cfg.RuntimeParams[readOnlyParam] = "on"
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
	if err := checkSchema(ctx, tx); err != nil {
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
