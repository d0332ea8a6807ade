package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/syncd"
)

// The console's pages of runs and drift episodes, newest first, and the
// resources each run's events are about.
func TestConsoleQueries(t *testing.T) {
	clk := newClock()
	s := openStore(t, migratedDB(t), audit.Options{Now: clk.Now})
	ctx := context.Background()
	t0 := clk.Now()
	for i := range 5 {
		if err := s.StartRun(ctx, syncd.RunRecord{Run: syncd.Run{ID: fmt.Sprintf("r%d", i), Mode: "report"}, Trigger: "schedule", StartedAt: t0.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Record(ctx,
		syncd.Event{ID: "e1", Type: syncd.EventRunStarted, RunID: "r3", OccurredAt: t0},
		syncd.Event{ID: "e2", Type: syncd.EventChangeApplied, RunID: "r3", Kind: keyB.Kind, Name: keyB.Name, OccurredAt: t0},
		syncd.Event{ID: "e3", Type: syncd.EventChangePlanned, RunID: "r3", Kind: keyA.Kind, Name: keyA.Name, OccurredAt: t0},
		syncd.Event{ID: "e4", Type: syncd.EventChangeApplied, RunID: "r3", Kind: keyA.Kind, Name: keyA.Name, OccurredAt: t0},
		syncd.Event{ID: "e5", Type: syncd.EventChangeApplied, RunID: "r1", Kind: keyA.Kind, Name: keyA.Name, OccurredAt: t0},
	); err != nil {
		t.Fatal(err)
	}

	pages := []struct {
		offset, limit int
		want          []string
	}{
		{0, 2, []string{"r4", "r3"}},
		{2, 2, []string{"r2", "r1"}},
		{4, 2, []string{"r0"}},
		{6, 2, nil},
	}
	for _, p := range pages {
		runs, total, err := s.Runs(ctx, p.offset, p.limit)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range runs {
			ids = append(ids, r.ID)
		}
		if total != 5 {
			t.Errorf("Runs(%d, %d): total %d, want 5", p.offset, p.limit, total)
		}
		if diff := cmp.Diff(p.want, ids); diff != "" {
			t.Errorf("Runs(%d, %d) (-want +got)\n%s", p.offset, p.limit, diff)
		}
	}

	touched, err := s.RunResources(ctx, []string{"r4", "r3", "r1"})
	if err != nil {
		t.Fatal(err)
	}
	wantTouched := map[string][]syncd.Key{"r3": {keyA, keyB}, "r1": {keyA}}
	if diff := cmp.Diff(wantTouched, touched); diff != "" {
		t.Errorf("RunResources (-want +got)\n%s", diff)
	}

	// Two episodes of keyA (one resolved) and one of keyB.
	scan := func(drifted ...syncd.Key) {
		t.Helper()
		ds := audit.DriftScan{Run: syncd.Run{ID: "r4"}, Scanned: []syncd.Key{keyA, keyB}, Drifted: map[syncd.Key]audit.DriftObservation{}}
		for _, k := range drifted {
			ds.Drifted[k] = audit.DriftObservation{Fields: []syncd.FieldChange{{Path: "/label", Before: "x", After: "y"}}}
		}
		if _, err := s.ScanDrift(ctx, ds); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
	}
	scan(keyA)
	scan()
	scan(keyA)
	scan(keyA, keyB)
	type ep struct {
		Key  syncd.Key
		Open bool
	}
	var got []ep
	for offset := 0; ; offset += 2 {
		list, total, err := s.Drifts(ctx, offset, 2)
		if err != nil {
			t.Fatal(err)
		}
		if total != 3 {
			t.Errorf("Drifts: total %d, want 3", total)
		}
		if len(list) == 0 {
			break
		}
		for _, d := range list {
			got = append(got, ep{d.Key, d.Resolution == ""})
		}
	}
	if diff := cmp.Diff([]ep{{keyB, true}, {keyA, true}, {keyA, false}}, got); diff != "" {
		t.Errorf("Drifts, newest first (-want +got)\n%s", diff)
	}
}

// TestConsoleRunsAreWholeRecords: a page of runs carries each run as
// LastRun reads it: every column, the finish time and the JSON summaries.
func TestConsoleRunsAreWholeRecords(t *testing.T) {
	clk := newClock()
	s := openStore(t, migratedDB(t), audit.Options{Now: clk.Now})
	ctx := context.Background()
	start := clk.Now()
	run := syncd.RunRecord{Run: syncd.Run{ID: "r1", Mode: "apply", Actor: "ci", ManifestRevision: "rev"}, Trigger: "cli",
		StartedAt: start, FinishedAt: start.Add(time.Second), Outcome: "failed", Error: "boom",
		Summary: map[string]int{"update": 2}, Requests: map[string]int{"make": 4}}
	if err := s.FinishRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	runs, total, err := s.Runs(ctx, 0, 10)
	if err != nil || total != 1 || len(runs) != 1 {
		t.Fatalf("Runs: %+v, %d, %v", runs, total, err)
	}
	last, _, err := s.LastRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	run.Summary, run.Requests = json.RawMessage(`{"update": 2}`), json.RawMessage(`{"make": 4}`)
	if diff := cmp.Diff(run, runs[0]); diff != "" {
		t.Errorf("run on the page (-want +got)\n%s", diff)
	}
	if diff := cmp.Diff(last, runs[0]); diff != "" {
		t.Errorf("page and LastRun differ (-LastRun +page)\n%s", diff)
	}
}
