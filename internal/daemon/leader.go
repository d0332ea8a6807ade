package daemon

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/pglock"
)

// leader holds the advisory lock on a dedicated connection. The connection
// is used only to take the lock and to ping: a query timing out on it would
// close it and silently drop the lock, so any error means stepping down.
// attempt may be called once before run starts; after that only run's
// goroutine touches conn.
type leader struct {
	dsn      string
	interval time.Duration
	log      *slog.Logger
	held     atomic.Bool
	onChange func(bool)
	conn     *pgx.Conn
}

func (l *leader) IsLeader() bool { return l.held.Load() }

func (l *leader) set(v bool) {
	if l.held.Swap(v) != v {
		l.log.Info("leadership changed", "leader", v)
		if l.onChange != nil {
			l.onChange(v)
		}
	}
}

// attempt connects when needed, then takes the lock if it is not held, or
// checks that the connection holding it is still alive.
func (l *leader) attempt(ctx context.Context) {
	if l.conn == nil {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := pgx.Connect(cctx, l.dsn)
		cancel()
		if err != nil {
			return
		}
		l.conn = c
	}
	if l.IsLeader() {
		if err := l.conn.Ping(ctx); err != nil {
			l.log.Warn("leader connection lost; stepping down", "error", err)
			l.set(false)
			l.conn.Close(context.Background())
			l.conn = nil
		}
		return
	}
	var got bool
	if err := l.conn.QueryRow(ctx, "select pg_try_advisory_lock($1)", pglock.Key).Scan(&got); err != nil {
		l.conn.Close(context.Background())
		l.conn = nil
	} else if got {
		l.set(true)
	}
}

// run contends for the lock until ctx is done, then releases it.
func (l *leader) run(ctx context.Context) {
	defer func() {
		l.set(false)
		if l.conn != nil {
			cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = l.conn.Close(cctx) // closing the session releases the lock
			cancel()
			l.conn = nil
		}
	}()
	t := time.NewTicker(l.interval)
	defer t.Stop()
	for {
		l.attempt(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
