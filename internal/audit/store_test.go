package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/sync/errgroup"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/syncd"
)

func TestRuns(t *testing.T) {
	clk := newClock()
	s := openStore(t, migratedDB(t), audit.Options{Now: clk.Now})
	ctx := context.Background()
	start := clk.Now()
	if err := s.StartRun(ctx, syncd.RunRecord{Run: syncd.Run{ID: "r1", Mode: "apply", Actor: "daemon"}, Trigger: "schedule", StartedAt: start}); err != nil {
		t.Fatal(err)
	}
	end := start.Add(time.Second)
	if err := s.FinishRun(ctx, syncd.RunRecord{Run: syncd.Run{ID: "r1"}, StartedAt: start, FinishedAt: end, Outcome: "ok",
		Summary: map[string]int{"update": 2}, Requests: map[string]int{"make": 4}}); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.LastRun(ctx)
	if err != nil || !ok {
		t.Fatalf("LastRun: %v %v", ok, err)
	}
	want := syncd.RunRecord{Run: syncd.Run{ID: "r1", Mode: "apply", Actor: "daemon"}, Trigger: "schedule", StartedAt: start, FinishedAt: end, Outcome: "ok",
		Summary: json.RawMessage(`{"update": 2}`), Requests: json.RawMessage(`{"make": 4}`)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("run (-want +got)\n%s", diff)
	}
}

func TestEventsFilter(t *testing.T) {
	clk := newClock()
	s := openStore(t, migratedDB(t), audit.Options{Now: clk.Now})
	ctx := context.Background()
	t0 := clk.Now()
	evs := []syncd.Event{
		{ID: "1", Type: syncd.EventRunStarted, RunID: "r", OccurredAt: t0},
		{ID: "2", Type: syncd.EventChangeApplied, Kind: keyA.Kind, Name: keyA.Name, OccurredAt: t0.Add(time.Minute)},
		{ID: "3", Type: syncd.EventChangeApplied, Kind: keyB.Kind, Name: keyB.Name, OccurredAt: t0.Add(2 * time.Minute)},
		{ID: "4", Type: syncd.EventDriftDetected, Kind: keyA.Kind, Name: keyA.Name, OccurredAt: t0.Add(3 * time.Minute),
			Changes: []syncd.FieldChange{{Path: "/label", Before: "a", After: "b"}}},
	}
	if err := s.Record(ctx, evs...); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		filter audit.Filter
		want   []string
	}{
		{"all", audit.Filter{}, []string{"1", "2", "3", "4"}},
		{"since", audit.Filter{Since: t0.Add(90 * time.Second)}, []string{"3", "4"}},
		{"resource", audit.Filter{Key: &keyA}, []string{"2", "4"}},
		{"newest two", audit.Filter{Limit: 2}, []string{"3", "4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Events(ctx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, e := range got {
				ids = append(ids, e.Event.ID)
			}
			if diff := cmp.Diff(tt.want, ids); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
	all, _ := s.Events(ctx, audit.Filter{})
	if diff := cmp.Diff(evs[3], all[3].Event, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("round trip (-want +got)\n%s", diff)
	}
}

// TestNeedsDatabase: what cannot be spooled reports ErrUnavailable when the
// database is down, and Record still succeeds.
func TestNeedsDatabase(t *testing.T) {
	const password = "pw-s3cret-41"
	s, err := audit.Open(context.Background(), "postgres://postgres:"+password+"@127.0.0.1:1/x?sslmode=disable",
		audit.Options{SpoolDir: t.TempDir(), Logger: quietLogger(), FlushInterval: time.Hour})
	if err != nil {
		t.Fatalf("Open with the database down: %v", err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Record(ctx, syncd.Event{Type: syncd.EventRunStarted}); err != nil {
		t.Fatalf("Record with the database down: %v", err)
	}
	calls := map[string]error{}
	_, calls["ScanDrift"] = s.ScanDrift(ctx, audit.DriftScan{})
	calls["StartRun"] = s.StartRun(ctx, syncd.RunRecord{Run: syncd.Run{ID: "r"}})
	calls["Flush"] = s.Flush(ctx)
	for name, err := range calls {
		if !errors.Is(err, audit.ErrUnavailable) {
			t.Errorf("%s: got %v, want ErrUnavailable", name, err)
		}
		if err != nil && strings.Contains(err.Error(), password) {
			t.Errorf("%s: the error shows the database password: %v", name, err)
		}
	}
	if s.Healthy() {
		t.Error("Healthy() with the database down")
	}
}

// TestConcurrentWriters: two stores (two syncd processes) and several
// goroutines each append to one database; the chain stays one chain and
// every event is there once, in each producer's order.
func TestConcurrentWriters(t *testing.T) {
	dsn := migratedDB(t)
	stores := []*audit.Store{openStore(t, dsn, audit.Options{}), openStore(t, dsn, audit.Options{})}
	ctx := context.Background()
	const producers, batches, perBatch = 4, 10, 5
	var g errgroup.Group
	for p := range producers {
		s := stores[p%2]
		g.Go(func() error {
			for b := range batches {
				evs := make([]syncd.Event, perBatch)
				for i := range evs {
					evs[i] = syncd.Event{ID: fmt.Sprintf("p%d-%03d", p, b*perBatch+i), Type: syncd.EventChangePlanned}
				}
				if err := s.Record(ctx, evs...); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	got := storedKeys(t, stores[0])
	if len(got) != producers*batches*perBatch {
		t.Fatalf("%d events stored, want %d", len(got), producers*batches*perBatch)
	}
	last := map[string]string{}
	for _, k := range got {
		p := k[:2]
		if k <= last[p] {
			t.Fatalf("producer %s out of order: %s after %s", p, k, last[p])
		}
		last[p] = k
	}
	if rep, err := stores[1].Verify(ctx); err != nil || !rep.OK() {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

func TestOpenHidesPasswordInBadURL(t *testing.T) {
	_, err := audit.Open(context.Background(), "postgres://u:pw-s3cret-41@host:notaport/db", audit.Options{SpoolDir: t.TempDir()})
	if err == nil || strings.Contains(err.Error(), "pw-s3cret-41") {
		t.Fatalf("got %v; want an error without the password", err)
	}
}
