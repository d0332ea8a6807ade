package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/tern/v2/migrate"

	"github.com/syncd/syncd/migrations"
)

// versionTable records which migrations have run.
const versionTable = "syncd_schema_version"

// Migrate applies every pending migration on conn. Concurrent callers are
// safe: tern serialises them with an advisory lock, and a caller that waited
// finds nothing left to do.
func Migrate(ctx context.Context, conn *pgx.Conn) error {
	m, err := migrate.NewMigrator(ctx, conn, versionTable)
	if err != nil {
		return fmt.Errorf("audit: migrate: %w", err)
	}
	if err := m.LoadMigrations(migrations.FS); err != nil {
		return fmt.Errorf("audit: load migrations: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("audit: migrate: %w", err)
	}
	return nil
}

// MigrateURL connects to dsn and applies every pending migration.
func MigrateURL(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("audit: migrate: %w: %w", ErrUnavailable, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return Migrate(ctx, conn)
}

// Migrate applies every pending migration through the pool.
func (db *DB) Migrate(ctx context.Context) error {
	c, err := db.pool.Acquire(ctx)
	if err != nil {
		return db.Unavailable("migrate", err)
	}
	defer c.Release()
	if err := Migrate(ctx, c.Conn()); err != nil {
		return err
	}
	db.migrated.Store(true)
	return nil
}
