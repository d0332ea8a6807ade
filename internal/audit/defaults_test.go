package audit_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/syncd"
)

// TestZeroOptionsMeanTheDefaults: a store opened with no flush interval
// and no batch size works with the defaults (a zero interval would stop
// its background loop at once), writes an event straight to the database
// (within the write timeout), and closes.
func TestZeroOptionsMeanTheDefaults(t *testing.T) {
	dsn := migratedDB(t)
	s, err := audit.Open(context.Background(), dsn, audit.Options{SpoolDir: t.TempDir(), Logger: quietLogger(), Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	ev := syncd.Event{Type: syncd.EventRunStarted, RunID: "r", Mode: syncd.ModeApply, Actor: "t"}
	if err := s.Record(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if got := s.SpoolDepth(); got != 0 {
		t.Errorf("spool depth %d: the event was not written to the database", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCloseWritesTheSpool: events spooled by an earlier process are
// written by Close when the database is up, even if the background loop
// never came round to them (here its interval is an hour).
func TestCloseWritesTheSpool(t *testing.T) {
	ctx := context.Background()
	spool := t.TempDir()
	down, err := audit.Open(ctx, "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=1",
		audit.Options{SpoolDir: spool, Logger: quietLogger(), FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ev := syncd.Event{ID: "spooled-1", Type: syncd.EventRunStarted, RunID: "r", Mode: syncd.ModeApply, Actor: "t"}
	if err := down.Record(ctx, ev); err != nil {
		t.Fatal(err)
	}
	down.Close()

	dsn := migratedDB(t)
	up, err := audit.Open(ctx, dsn, audit.Options{SpoolDir: spool, Logger: quietLogger(), FlushInterval: time.Hour, Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := up.SpoolDepth(); got != 1 {
		t.Fatalf("spool depth %d before Close, want 1", got)
	}
	if err := up.Close(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := connect(t, dsn).QueryRow(ctx, "SELECT count(*) FROM audit_events WHERE event_key = 'spooled-1'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d rows of the spooled event after Close, want 1", n)
	}
}

// TestCloseAfterItStopsADrain: Close stops the background loop while that
// is draining the spool (held up here by a lock on the chain head); that
// says nothing about the database, so Close still makes its last attempt
// and writes the spooled event.
func TestCloseAfterItStopsADrain(t *testing.T) {
	ctx := context.Background()
	spool := t.TempDir()
	down, err := audit.Open(ctx, "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=1",
		audit.Options{SpoolDir: spool, Logger: quietLogger(), FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := down.Record(ctx, syncd.Event{ID: "spooled-2", Type: syncd.EventRunStarted}); err != nil {
		t.Fatal(err)
	}
	down.Close()

	dsn := migratedDB(t)
	holder, watcher := connect(t, dsn), connect(t, dsn)
	mustExec(t, holder, "BEGIN")
	mustExec(t, holder, "SELECT 1 FROM audit_chain WHERE id = 1 FOR UPDATE")
	// waiting lists the sessions waiting for a lock (pg_stat_activity
	// is read afresh in each of watcher's transactions).
	waiting := func() map[int32]bool {
		rows, err := watcher.Query(ctx, `SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`)
		if err != nil {
			t.Fatal(err)
		}
		pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			t.Fatal(err)
		}
		out := map[int32]bool{}
		for _, p := range pids {
			out[p] = true
		}
		return out
	}
	deadline := time.Now().Add(30 * time.Second)
	poll := func(what string, done func() bool) {
		t.Helper()
		for !done() {
			if time.Now().After(deadline) {
				t.Fatalf("gave up waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	up, err := audit.Open(ctx, dsn, audit.Options{SpoolDir: spool, Logger: quietLogger(), FlushInterval: time.Hour, Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	var loopDrain map[int32]bool
	poll("the background drain to wait for the chain lock", func() bool { loopDrain = waiting(); return len(loopDrain) > 0 })
	closed := make(chan error, 1)
	go func() { closed <- up.Close() }()
	// Close's own drain waits for the lock too, in a session of its own
	// (the stopped drain's is closed); without one Close returns.
	var closeErr error
	returned := false
	poll("Close to drain or return", func() bool {
		select {
		case closeErr = <-closed:
			returned = true
			return true
		default:
		}
		for p := range waiting() {
			if !loopDrain[p] {
				return true
			}
		}
		return false
	})
	mustExec(t, holder, "COMMIT")
	if !returned {
		select {
		case closeErr = <-closed:
		case <-time.After(30 * time.Second):
			t.Fatal("Close did not return after the lock was released")
		}
	}
	if closeErr != nil {
		t.Fatal(closeErr)
	}
	var n int
	if err := watcher.QueryRow(ctx, "SELECT count(*) FROM audit_events WHERE event_key = 'spooled-2'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d rows of the spooled event after Close, want 1", n)
	}
}
