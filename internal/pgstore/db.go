package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrUnavailable marks an operation that failed because the database could
// not be reached. audit.ErrUnavailable and state.ErrUnavailable are this
// same error.
var ErrUnavailable = errors.New("database unavailable")

// Options configure a DB.
type Options struct {
	// ReadOnly opens read-only sessions (default_transaction_read_only)
	// and fails at Open when the database is unreachable or lacks
	// migrations (ErrSchemaBehind).
	ReadOnly bool
	// Migrate applies pending migrations on first contact with the
	// database (Ping, EnsureSchema).
	Migrate bool
	// Logger receives the health messages; it should already name the
	// component.
	Logger *slog.Logger
	// SpoolDir is named in the warning that the database is unreachable:
	// the audit log spools events there meanwhile. "" names none.
	SpoolDir string
}

// DB is one connection pool to syncd's database with one health flag,
// shared by the audit log and the state store: a failure either of them
// sees marks the database unreachable for both, so that the audit log
// spools events at once. Its methods are safe for concurrent use.
type DB struct {
	pool     *pgxpool.Pool
	opts     Options
	log      *slog.Logger
	healthy  atomic.Bool
	checked  atomic.Bool // healthy has been set once
	migrated atomic.Bool
}

// Open connects a pool to dsn. A writing DB opens when the database is
// down; a ReadOnly one fails then with ErrUnavailable, and with
// ErrSchemaBehind when the database lacks migrations. Errors never quote
// the URL, which may hold a password.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := CheckDatabaseURL(dsn); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors may quote the URL, password included.
		return nil, errors.New("audit: invalid database URL (want postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME or key=value pairs)")
	}
	if opts.ReadOnly {
		// Queries only: PostgreSQL itself refuses any write in the session.
		cfg.ConnConfig.RuntimeParams[readOnlyParam] = "on"
	}
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > 5*time.Second {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	db := &DB{pool: pool, opts: opts, log: opts.Logger}
	if !opts.ReadOnly {
		return db, nil
	}
	// A reader has no spool to fall back on: a database it cannot reach
	// is the answer.
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = pool.Ping(pctx)
	cancel()
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("audit: the database at %s is unreachable: %w (%v)", endpoint(cfg), ErrUnavailable, err)
	}
	db.SetHealthy(true)
	if err := CheckSchema(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// Pool is the connection pool.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// ReadOnly reports whether the sessions are read-only.
func (db *DB) ReadOnly() bool { return db.opts.ReadOnly }

// Close closes the pool.
func (db *DB) Close() { db.pool.Close() }

// Healthy reports whether the database answered the last attempt to use it.
func (db *DB) Healthy() bool { return db.healthy.Load() }

// Ping asks the database and sets Healthy; once it answers, a DB asked to
// migrate does. A parent context that ends says nothing about the
// database and changes nothing.
func (db *DB) Ping(parent context.Context) {
	ctx, cancel := context.WithTimeout(parent, 5*time.Second)
	defer cancel()
	err := db.pool.Ping(ctx)
	if err != nil && parent.Err() != nil {
		return // the store is closing: that says nothing about the database
	}
	db.SetHealthy(err == nil)
	if err == nil && db.opts.Migrate && !db.migrated.Load() {
		if err := db.Migrate(ctx); err != nil {
			db.log.Error("audit migrations failed", "err", err)
		}
	}
}

// SetHealthy records whether the database answered, and says so in the
// log when that changes.
func (db *DB) SetHealthy(ok bool) {
	first := !db.checked.Swap(true)
	was := db.healthy.Swap(ok)
	switch {
	case ok && !was && !first:
		db.log.Info("audit database reachable again")
	case !ok && (was || first) && db.opts.SpoolDir == "":
		db.log.Warn("audit database unreachable")
	case !ok && (was || first):
		db.log.Warn("audit database unreachable; events go to the spool", "spool", db.opts.SpoolDir)
	}
}

// EnsureSchema migrates once when the DB was asked to.
func (db *DB) EnsureSchema(ctx context.Context) error {
	if !db.opts.Migrate || db.migrated.Load() {
		return nil
	}
	return db.Migrate(ctx)
}

// Unavailable wraps err for op ("audit: op: ..."), marking it
// ErrUnavailable, and the DB unhealthy, when it means the database could
// not be reached.
func (db *DB) Unavailable(op string, err error) error {
	if IsUnavailable(err) {
		db.SetHealthy(false)
		return fmt.Errorf("audit: %s: %w: %w", op, ErrUnavailable, err)
	}
	return fmt.Errorf("audit: %s: %w", op, err)
}

// IsUnavailable tells a database that cannot be used now (refused or lost
// connections, shutdown, resource limits, missing schema) from one that
// answered. Errors that are not a server's answer count as unavailability.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnavailable) {
		return true
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return true
	}
	switch pgErr.Code[:2] {
	case "08", "53", "57", "58", "40", "55", "XX":
		return true
	}
	// Undefined table or column: not migrated yet.
	return pgErr.Code == "42P01" || pgErr.Code == "42703"
}
