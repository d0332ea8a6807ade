package audit

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/syncd/syncd/internal/pgstore"
)

// ErrUnavailable marks an operation that failed because the database could
// not be reached (it is pgstore.ErrUnavailable). Record never returns it:
// it spools instead.
var ErrUnavailable = pgstore.ErrUnavailable

// ErrSchemaBehind marks a database whose schema is older than this syncd's
// migrations (it is pgstore.ErrSchemaBehind): a ReadOnly Open stops there.
var ErrSchemaBehind = pgstore.ErrSchemaBehind

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

// Store is the audit log. Its methods are safe for concurrent use.
type Store struct {
	db   *pgstore.DB
	pool *pgxpool.Pool // db's pool
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

	drainMu sync.Mutex // one drainer at a time

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
	log := opts.Logger.With("component", "audit")
	dbOpts := pgstore.Options{ReadOnly: opts.ReadOnly, Migrate: opts.Migrate && !opts.ReadOnly, Logger: log}
	if !opts.ReadOnly {
		dbOpts.SpoolDir = opts.SpoolDir
	}
	db, err := pgstore.Open(ctx, dsn, dbOpts)
	if err != nil {
		return nil, err
	}
	if opts.ReadOnly {
		return &Store{db: db, pool: db.Pool(), opts: opts, log: log, readOnly: true}, nil
	}
	pool := db.Pool()
	sp, err := openSpool(opts.SpoolDir)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s := &Store{
		db:    db,
		pool:  pool,
		opts:  opts,
		log:   log,
		spool: sp,
		kick:  make(chan struct{}, 1),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	s.spooling = sp.depth() > 0
	if s.spooling {
		s.log.Info("audit spool holds events from an earlier run", "events", sp.depth())
	}
	s.db.Ping(ctx)
	if opts.Migrate && s.db.Healthy() {
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
		s.db.Close()
		return nil
	}
	close(s.stop)
	<-s.done
	if s.SpoolDepth() > 0 && s.db.Healthy() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = s.drain(ctx)
		cancel()
	}
	s.db.Close()
	return s.spool.close()
}

// Healthy reports whether the database answered the last attempt to use it.
func (s *Store) Healthy() bool { return s.db.Healthy() }

// DB is the store's connection to the database, for the state store that
// shares it (its pool and its health). Close closes it.
func (s *Store) DB() *pgstore.DB { return s.db }

// Migrate applies every pending migration through the store's pool.
func (s *Store) Migrate(ctx context.Context) error { return s.db.Migrate(ctx) }

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
		s.db.Ping(ctx)
	}
}

// stopping reports whether Close has stopped the background loop.
func (s *Store) stopping() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

func (s *Store) isSpooling() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spooling
}

func (s *Store) setHealthy(ok bool) { s.db.SetHealthy(ok) }

// ensureSchema migrates once when the store was asked to.
func (s *Store) ensureSchema(ctx context.Context) error { return s.db.EnsureSchema(ctx) }

// unavailable wraps err, marking it ErrUnavailable when it means the
// database could not be reached.
func (s *Store) unavailable(op string, err error) error { return s.db.Unavailable(op, err) }

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
