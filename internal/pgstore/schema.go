package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/migrations"
)

// ErrSchemaBehind marks a database whose schema is older than this syncd's
// migrations: read-only commands never migrate, so they stop and say
// `syncd migrate`.
var ErrSchemaBehind = errors.New("database schema is behind")

// readOnlyParam makes every transaction of a session read-only, so that a
// read-only command cannot write even by mistake (PostgreSQL refuses).
const readOnlyParam = "default_transaction_read_only"

// ReadOnlySession makes every transaction of cfg's sessions read-only.
func ReadOnlySession(cfg *pgx.ConnConfig) { cfg.RuntimeParams[readOnlyParam] = "on" }

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

// QueryRower is a connection, a pool or a transaction.
type QueryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// CheckSchema fails with ErrSchemaBehind, naming `syncd migrate`, when the
// database lacks migrations this syncd has. It only reads. A newer schema
// (a newer syncd migrated it) is accepted: migrations only add.
func CheckSchema(ctx context.Context, q QueryRower) error {
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
