package state

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/syncd/syncd/internal/pgstore"
	"github.com/syncd/syncd/internal/syncd"
)

// ErrUnavailable marks an operation that failed because the database could
// not be reached (it is pgstore.ErrUnavailable).
var ErrUnavailable = pgstore.ErrUnavailable

// ErrSchemaBehind marks a database whose schema is older than this syncd's
// migrations (it is pgstore.ErrSchemaBehind).
var ErrSchemaBehind = pgstore.ErrSchemaBehind

// Recorder records audit events durably (the audit log): the inventory
// admin's Forget and BindRemote record what they did through it.
type Recorder interface {
	Record(ctx context.Context, events ...syncd.Event) error
}

// Store is the state store. Its methods are safe for concurrent use.
type Store struct {
	db   *pgstore.DB
	pool *pgxpool.Pool // db's pool
	rec  Recorder
	now  func() time.Time
}

// New returns the state store over db, which it shares with the audit log
// and does not close. rec records the inventory admin's events; now is
// the clock of the rows' times (nil: time.Now).
func New(db *pgstore.DB, rec Recorder, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, pool: db.Pool(), rec: rec, now: now}
}

// unavailable wraps err, marking it ErrUnavailable (and the shared
// database unhealthy) when it means the database could not be reached.
func (s *Store) unavailable(op string, err error) error { return s.db.Unavailable(op, err) }

// clean makes s storable as text: valid UTF-8, no NUL.
func clean(s string) string { return pgstore.Text(s) }

// null stores an empty string as SQL NULL.
func null(s string) any { return pgstore.Null(s) }

func deref(s *string) string { return pgstore.Deref(s) }
