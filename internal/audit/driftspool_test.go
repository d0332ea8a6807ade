package audit_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/pgtest"
	"github.com/syncd/syncd/internal/syncd"
)

// Drift seen while PostgreSQL is down is spooled with the time it was
// seen: first_seen is that time, not when the database came back, and a
// drift that opened and closed during the outage is recorded too.
func TestDriftObservationsSpoolDuringAnOutage(t *testing.T) {
	cluster := pgtest.StartCluster(t)
	dsn := pgtest.CreateDatabase(t, cluster.URL())
	clock := newClock()
	s := openStore(t, dsn, audit.Options{Now: clock.Now})
	ctx := context.Background()
	scan := func(drifted map[syncd.Key]audit.DriftObservation) bool {
		t.Helper()
		_, spooled, err := s.ObserveDrift(ctx, audit.DriftScan{Run: syncd.Run{ID: "r", Mode: "report"},
			Scanned: []syncd.Key{keyA, keyB}, Drifted: drifted})
		if err != nil {
			t.Fatal(err)
		}
		return spooled
	}
	if scan(nil) {
		t.Fatal("a scan with the database up was spooled")
	}
	cluster.Stop()
	clock.Advance(time.Minute)
	seenA := clock.Now()
	if !scan(map[syncd.Key]audit.DriftObservation{keyA: labelDrift("x"), keyB: labelDrift("y")}) {
		t.Fatal("a scan during the outage was not spooled")
	}
	clock.Advance(time.Minute)
	resolvedB := clock.Now()
	if !scan(map[syncd.Key]audit.DriftObservation{keyA: labelDrift("x")}) {
		t.Fatal("second scan during the outage was not spooled")
	}
	if got := s.DriftSpoolDepth(); got != 2 {
		t.Fatalf("drift spool depth %d, want 2", got)
	}
	cluster.Start()
	clock.Advance(time.Hour)
	if scan(map[syncd.Key]audit.DriftObservation{keyA: labelDrift("x")}) {
		t.Fatal("a scan after the outage was spooled")
	}
	if got := s.DriftSpoolDepth(); got != 0 {
		t.Fatalf("drift spool depth after the outage %d, want 0", got)
	}
	open, err := s.OpenDrifts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || open[0].Key != keyA || !open[0].FirstSeen.Equal(seenA) || open[0].Occurrences != 3 {
		t.Fatalf("open drifts %+v; want keyA first seen %s, 3 occurrences", open, seenA)
	}
	hist, err := s.DriftHistory(ctx, keyB)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || !hist[0].FirstSeen.Equal(seenA) || !hist[0].ResolvedAt.Equal(resolvedB) {
		t.Fatalf("keyB history %+v; want seen %s, resolved %s", hist, seenA, resolvedB)
	}
}

// TestDriftSpoolWriteFailureIsAnError: a drift scan that can reach
// neither the database nor the spool (here the spool's temporary file is
// /dev/full, as on a full disk) is an error, never reported as spooled.
func TestDriftSpoolWriteFailureIsAnError(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Fatalf("this test needs /dev/full: %v", err)
	}
	dir := t.TempDir()
	if err := os.Symlink("/dev/full", filepath.Join(dir, "drift.jsonl.tmp")); err != nil {
		t.Fatal(err)
	}
	// A store on an address where nothing listens: every scan spools.
	s, err := audit.Open(context.Background(), "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=1",
		audit.Options{SpoolDir: dir, Logger: quietLogger(), FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, spooled, err := s.ObserveDrift(context.Background(), audit.DriftScan{Run: syncd.Run{ID: "r", Mode: "report"},
		Scanned: []syncd.Key{keyA}, Drifted: map[syncd.Key]audit.DriftObservation{keyA: labelDrift("x")}})
	if err == nil {
		t.Fatalf("ObserveDrift with an unwritable spool: spooled %v, no error", spooled)
	}
}

// TestDriftScanRefusedByTheDatabaseIsAnError: a scan the database answers
// and refuses (here a value jsonb cannot hold) is an error, not an outage:
// it is kept in the drift spool for a later try, and the caller is told.
func TestDriftScanRefusedByTheDatabaseIsAnError(t *testing.T) {
	s := openStore(t, migratedDB(t), audit.Options{})
	ctx := context.Background()
	_, spooled, err := s.ObserveDrift(ctx, audit.DriftScan{Run: syncd.Run{ID: "r", Mode: "report"},
		Scanned: []syncd.Key{keyA}, Drifted: map[syncd.Key]audit.DriftObservation{keyA: labelDrift("a\x00b")}})
	if err == nil {
		t.Fatal("a scan the database refused returned no error")
	}
	if !spooled || s.DriftSpoolDepth() != 1 {
		t.Errorf("spooled %v, depth %d: want the refused scan kept in the drift spool", spooled, s.DriftSpoolDepth())
	}
}
