package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrUnavailable marks an operation that failed because the database could
// not be reached. Record never returns it: it spools instead.
var ErrUnavailable = errors.New("database unavailable")

// Options configure a Store. The zero value is usable.
type Options struct {
	// SpoolDir holds the spool file; default ".syncd/spool". One process
	// at a time may use a directory.
	SpoolDir string
	// Logger receives the store's own messages; default slog.Default().
	Logger *slog.Logger
	// BatchSize is the most events written in one transaction; default 1000.
	BatchSize int
	// FlushInterval is how often the background loop retries the spool and
	// checks the database; default 1s.
	FlushInterval time.Duration
	// Migrate applies pending migrations on first contact with the database
	// (at Open when it is reachable, otherwise when it comes back).
	Migrate bool
	// ReadOnly opens the store for queries only (syncd audit, syncd
	// drift): no spool directory is touched, no background loop runs,
	// Record fails, every session is read-only (default_transaction_read_only),
	// nothing is migrated, and Open fails with ErrSchemaBehind when the
	// database lacks migrations. SELECT on syncd's tables is enough.
	ReadOnly bool
	// Now is the clock for drift times and for events without a time;
	// default time.Now.
	Now func() time.Time
	// ChainKey keys the audit hash chain (HMAC-SHA256). It must come from
	// outside the database (SYNCD_AUDIT_KEY). Without it rows get plain
	// SHA-256 hashes, which anyone able to write the table can forge; once
	// a keyed row exists, writing without the key is refused.
	ChainKey []byte
	// CheckpointDir receives a signed chain head after every run (see
	// WriteCheckpoint); "" writes none.
	CheckpointDir string
}

// Store is the audit store. Its methods are safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	// driftMu orders ObserveDrift calls and their drift spool (the spool
	// directory itself is exclusive to one process).
	driftMu sync.Mutex
	// cpMu guards lastCheckpoint, the last head WriteCheckpoint appended.
	cpMu           sync.Mutex
	lastCheckpoint Checkpoint
	opts           Options
	log            *slog.Logger

	// mu orders Record calls and guards spooling: while the spool holds
	// events, new events go there too so that order is kept.
	mu       sync.Mutex
	spooling bool
	closed   bool
	spool    *spool
	readOnly bool

	drainMu  sync.Mutex // one drainer at a time
	healthy  atomic.Bool
	checked  atomic.Bool // healthy has been set once
	migrated atomic.Bool

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
}

// writeTimeout bounds one database write, so that a hung server turns into
// spooling instead of a hung caller.
const writeTimeout = 10 * time.Second

// Open returns a store for dsn. It succeeds when the database is down:
// events are then spooled and the store reconnects in the background. It
// fails on a malformed dsn or an unusable spool directory.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if opts.SpoolDir == "" {
		opts.SpoolDir = ".syncd/spool"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
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
	if opts.ReadOnly {
		// A reader has no spool to fall back on: a database it cannot
		// reach is the answer.
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := pool.Ping(pctx)
		cancel()
		if err != nil {
			pool.Close()
			return nil, fmt.Errorf("audit: the database at %s is unreachable: %w (%v)", endpoint(cfg), ErrUnavailable, err)
		}
		s := &Store{pool: pool, opts: opts, log: opts.Logger.With("component", "audit"), readOnly: true}
		s.setHealthy(true)
		if err := checkSchema(ctx, pool); err != nil {
			pool.Close()
			return nil, err
		}
		return s, nil
	}
	sp, err := openSpool(opts.SpoolDir)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s := &Store{
		pool:  pool,
		opts:  opts,
		log:   opts.Logger.With("component", "audit"),
		spool: sp,
		kick:  make(chan struct{}, 1),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	s.spooling = sp.depth() > 0
	if s.spooling {
		s.log.Info("audit spool holds events from an earlier run", "events", sp.depth())
	}
	s.ping(ctx)
	if opts.Migrate && s.healthy.Load() {
		if err := s.Migrate(ctx); err != nil && !errors.Is(err, ErrUnavailable) {
			pool.Close()
			sp.close()
			return nil, err
		}
	}
	go s.loop()
	if s.spooling {
		s.wake()
	}
	return s, nil
}

// Close stops the background loop, makes a last short attempt to drain the
// spool, and releases the database and the spool. Events left in the spool
// are written by the next Open.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	if s.readOnly {
		s.pool.Close()
		return nil
	}
	close(s.stop)
	<-s.done
	if s.SpoolDepth() > 0 && s.healthy.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = s.drain(ctx)
		cancel()
	}
	s.pool.Close()
	return s.spool.close()
}

// Healthy reports whether the database answered the last attempt to use it.
func (s *Store) Healthy() bool { return s.healthy.Load() }

// SpoolDepth is the number of events waiting in the spool.
func (s *Store) SpoolDepth() int {
	if s.readOnly {
		return 0
	}
	return s.spool.depth()
}

// Flush writes the spool to the database. It returns nil when the spool is
// empty afterwards, and an error wrapping ErrUnavailable when the database
// is unreachable (the events stay durable in the spool).
func (s *Store) Flush(ctx context.Context) error {
	if s.readOnly {
		return nil
	}
	return s.drain(ctx)
}

func (s *Store) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// loop drains the spool while it holds events and otherwise keeps Healthy
// current.
func (s *Store) loop() {
	defer close(s.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.stop
		cancel()
	}()
	t := time.NewTicker(s.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-s.kick:
		case <-t.C:
		}
		if s.SpoolDepth() > 0 || s.isSpooling() {
			if err := s.drain(ctx); err != nil && ctx.Err() == nil {
				s.log.Debug("audit spool not drained yet", "events", s.SpoolDepth(), "err", err)
			}
			continue
		}
		s.ping(ctx)
	}
}

func (s *Store) isSpooling() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spooling
}

func (s *Store) ping(parent context.Context) {
	ctx, cancel := context.WithTimeout(parent, 5*time.Second)
	defer cancel()
	err := s.pool.Ping(ctx)
	if err != nil && parent.Err() != nil {
		return // the store is closing: that says nothing about the database
	}
	s.setHealthy(err == nil)
	if err == nil && s.opts.Migrate && !s.migrated.Load() {
		if err := s.Migrate(ctx); err != nil {
			s.log.Error("audit migrations failed", "err", err)
		}
	}
}

func (s *Store) setHealthy(ok bool) {
	first := !s.checked.Swap(true)
	was := s.healthy.Swap(ok)
	switch {
	case ok && !was && !first:
		s.log.Info("audit database reachable again")
	case !ok && (was || first) && s.readOnly:
		s.log.Warn("audit database unreachable")
	case !ok && (was || first):
		s.log.Warn("audit database unreachable; events go to the spool", "spool", s.opts.SpoolDir)
	}
}

// ensureSchema migrates once when the store was asked to.
func (s *Store) ensureSchema(ctx context.Context) error {
	if !s.opts.Migrate || s.migrated.Load() {
		return nil
	}
	return s.Migrate(ctx)
}

// unavailable wraps err, marking it ErrUnavailable when it means the
// database could not be reached.
func (s *Store) unavailable(op string, err error) error {
	if isUnavailable(err) {
		s.setHealthy(false)
		return fmt.Errorf("audit: %s: %w: %w", op, ErrUnavailable, err)
	}
	return fmt.Errorf("audit: %s: %w", op, err)
}

// isUnavailable tells a database that cannot be used now (refused or lost
// connections, shutdown, resource limits, missing schema) from one that
// answered. Errors that are not a server's answer count as unavailability.
func isUnavailable(err error) bool {
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

// isPermanent reports the server's verdict on the rows themselves (a data
// exception or a violated constraint): writing the same rows again would
// fail again. Anything else — a lost connection, but also a missing
// privilege — is worth retrying from the spool once someone fixes it.
func isPermanent(err error) bool {
	if errors.Is(err, errChainKeyed) {
		return true
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	class := pgErr.Code[:2]
	return class == "22" || class == "23"
}
