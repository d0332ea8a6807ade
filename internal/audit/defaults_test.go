package audit_test

import (
	"context"
	"testing"
	"time"

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
