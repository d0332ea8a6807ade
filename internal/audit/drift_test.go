package audit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/syncd"
)

var (
	keyA = syncd.Key{Kind: syncd.MakeConnection, Name: "a"}
	keyB = syncd.Key{Kind: syncd.PatchworksConnector, Name: "b"}
)

func labelDrift(after string) audit.DriftObservation {
	return audit.DriftObservation{
		RemoteID:    "r-a",
		Fields:      []syncd.FieldChange{{Path: "/label", Before: "want", After: after}},
		DesiredHash: "h1",
	}
}

// step is one scan (or apply) in a drift lifecycle and what it should
// cause.
type step struct {
	drifted    map[syncd.Key]audit.DriftObservation
	hashes     map[syncd.Key]string
	applied    bool // instead of a scan: ResolveDrift(keyA, "apply")
	wantEvents []string
	// wantOpen is keyA's open episode afterwards: nil when none.
	wantOpen *openWant
	// wantResolution is keyA's last closed episode's resolution.
	wantResolution string
}

type openWant struct {
	occurrences int
	firstSeen   int // step index of first_seen
	lastSeen    int
}

func TestDriftLifecycle(t *testing.T) {
	open := map[syncd.Key]audit.DriftObservation{keyA: labelDrift("hand-edited")}
	tests := []struct {
		name  string
		steps []step
	}{
		{"detected", []step{
			{drifted: open, wantEvents: []string{"drift_detected a open"}, wantOpen: &openWant{1, 0, 0}},
		}},
		{"still open", []step{
			{drifted: open, wantEvents: []string{"drift_detected a open"}, wantOpen: &openWant{1, 0, 0}},
			{drifted: open, wantOpen: &openWant{2, 0, 1}},
			{drifted: map[syncd.Key]audit.DriftObservation{keyA: labelDrift("edited again")}, wantOpen: &openWant{3, 0, 2}},
		}},
		{"resolved by apply", []step{
			{drifted: open, wantEvents: []string{"drift_detected a open"}, wantOpen: &openWant{1, 0, 0}},
			{applied: true, wantEvents: []string{"drift_resolved a apply"}, wantResolution: "apply"},
			{wantResolution: "apply"}, // a later clean scan changes nothing
		}},
		{"resolved by a manifest change", []step{
			{drifted: open, wantEvents: []string{"drift_detected a open"}, wantOpen: &openWant{1, 0, 0}},
			{hashes: map[syncd.Key]string{keyA: "h2"}, wantEvents: []string{"drift_resolved a manifest_change"}, wantResolution: "manifest_change"},
		}},
		{"reverted by someone", []step{
			{drifted: open, wantEvents: []string{"drift_detected a open"}, wantOpen: &openWant{1, 0, 0}},
			{hashes: map[syncd.Key]string{keyA: "h1"}, wantEvents: []string{"drift_resolved a reverted"}, wantResolution: "reverted"},
		}},
		{"detected again after resolution", []step{
			{drifted: open, wantEvents: []string{"drift_detected a open"}, wantOpen: &openWant{1, 0, 0}},
			{wantEvents: []string{"drift_resolved a reverted"}, wantResolution: "reverted"},
			{drifted: open, wantEvents: []string{"drift_detected a open"}, wantOpen: &openWant{1, 2, 2}, wantResolution: "reverted"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			start := clk.Now()
			s := openStore(t, migratedDB(t), audit.Options{Now: clk.Now})
			ctx := context.Background()
			for i, st := range tt.steps {
				clk.Advance(time.Minute)
				var evs []syncd.Event
				if st.applied {
					n := len(storedKeys(t, s))
					if _, err := s.ResolveDrift(ctx, keyA, audit.ResolvedByApply, "run-apply"); err != nil {
						t.Fatal(err)
					}
					stored, _ := s.Events(ctx, audit.Filter{})
					for _, e := range stored[n:] {
						evs = append(evs, e.Event)
					}
				} else {
					var err error
					evs, err = s.ScanDrift(ctx, audit.DriftScan{
						Run: syncd.Run{ID: "run", Mode: "report"}, Scanned: []syncd.Key{keyA},
						Drifted: st.drifted, DesiredHashes: st.hashes,
					})
					if err != nil {
						t.Fatal(err)
					}
				}
				var got []string
				for _, e := range evs {
					got = append(got, string(e.Type)+" "+e.Name+" "+e.Outcome)
				}
				if diff := cmp.Diff(st.wantEvents, got); diff != "" {
					t.Errorf("step %d events (-want +got)\n%s", i, diff)
				}
				drifts, err := s.OpenDrifts(ctx)
				if err != nil {
					t.Fatal(err)
				}
				var gotOpen *openWant
				for _, d := range drifts {
					at := func(tm time.Time) int { return int(tm.Sub(start)/time.Minute) - 1 }
					gotOpen = &openWant{d.Occurrences, at(d.FirstSeen), at(d.LastSeen)}
				}
				if diff := cmp.Diff(st.wantOpen, gotOpen, cmp.AllowUnexported(openWant{})); diff != "" {
					t.Errorf("step %d open drift (-want +got)\n%s", i, diff)
				}
				hist, err := s.DriftHistory(ctx, keyA)
				if err != nil {
					t.Fatal(err)
				}
				var res string
				for _, d := range hist {
					if d.Resolution != "" {
						res = d.Resolution
					}
				}
				if res != st.wantResolution {
					t.Errorf("step %d resolution %q, want %q", i, res, st.wantResolution)
				}
			}
			if rep, err := s.Verify(ctx); err != nil || !rep.OK() {
				t.Errorf("verify: %+v %v", rep, err)
			}
		})
	}
}

// TestDriftFieldLifecycle follows one field that stops drifting while
// another goes on, and keys that were not scanned.
func TestDriftFieldLifecycle(t *testing.T) {
	clk := newClock()
	s := openStore(t, migratedDB(t), audit.Options{Now: clk.Now})
	ctx := context.Background()
	t0 := clk.Now()
	two := audit.DriftObservation{RemoteID: "r", Fields: []syncd.FieldChange{
		{Path: "/label", Before: "x", After: "y"},
		{Path: "/timezone", Before: "UTC", After: "Europe/London"},
	}}
	one := audit.DriftObservation{RemoteID: "r", Fields: two.Fields[1:]}
	scan := func(keys []syncd.Key, drifted map[syncd.Key]audit.DriftObservation) {
		clk.Advance(time.Minute)
		if _, err := s.ScanDrift(ctx, audit.DriftScan{Scanned: keys, Drifted: drifted}); err != nil {
			t.Fatal(err)
		}
	}
	scan([]syncd.Key{keyA, keyB}, map[syncd.Key]audit.DriftObservation{keyA: two, keyB: one})
	scan([]syncd.Key{keyA}, map[syncd.Key]audit.DriftObservation{keyA: one}) // keyB not scanned
	drifts, err := s.OpenDrifts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(drifts) != 2 {
		t.Fatalf("open drifts = %d, want 2 (an unscanned key stays open)", len(drifts))
	}
	a := drifts[0]
	if a.Key != keyA {
		a = drifts[1]
	}
	m1, m2 := t0.Add(time.Minute), t0.Add(2*time.Minute)
	want := []audit.DriftField{
		{FieldChange: two.Fields[0], FirstSeen: m1, LastSeen: m1, ResolvedAt: &m2},
		{FieldChange: two.Fields[1], FirstSeen: m1, LastSeen: m2},
	}
	if diff := cmp.Diff(want, a.Fields); diff != "" {
		t.Errorf("fields (-want +got)\n%s", diff)
	}
}

// TestDriftEpisodeDetails follows one episode through ObserveDrift and an
// apply and checks what the lifecycle tests leave out: the events carry
// the still-drifted fields; the remote id follows the latest observation
// that has one; a field that stopped drifting and drifts again starts a
// new first_seen; and the drift_resolved of an apply names the recorded
// run's mode, actor and manifest revision.
func TestDriftEpisodeDetails(t *testing.T) {
	clk := newClock()
	s := openStore(t, migratedDB(t), audit.Options{Now: clk.Now})
	ctx := context.Background()
	label := syncd.FieldChange{Path: "/label", Before: "x", After: "y"}
	zone := syncd.FieldChange{Path: "/timezone", Before: "UTC", After: "Europe/London"}
	scanRun := syncd.Run{ID: "scan", Mode: syncd.ModeReport}
	observe := func(obs audit.DriftObservation) []syncd.Event {
		t.Helper()
		clk.Advance(time.Minute)
		evs, spooled, err := s.ObserveDrift(ctx, audit.DriftScan{Run: scanRun, Scanned: []syncd.Key{keyA},
			Drifted: map[syncd.Key]audit.DriftObservation{keyA: obs}})
		if err != nil || spooled {
			t.Fatalf("ObserveDrift: spooled %v, %v", spooled, err)
		}
		return evs
	}
	summary := func(evs []syncd.Event) []string {
		var out []string
		for _, e := range evs {
			out = append(out, fmt.Sprintf("%s %s remote=%s mode=%s actor=%s rev=%s changes=%v",
				e.Type, e.Name, e.RemoteID, e.Mode, e.Actor, e.ManifestRevision, e.Changes))
		}
		return out
	}

	m1 := clk.Now().Add(time.Minute)
	evs := observe(audit.DriftObservation{RemoteID: "r-1", Fields: []syncd.FieldChange{label, zone}})
	want := []string{fmt.Sprintf("drift_detected a remote=r-1 mode=report actor= rev= changes=%v", []syncd.FieldChange{label, zone})}
	if diff := cmp.Diff(want, summary(evs)); diff != "" {
		t.Errorf("detection events (-want +got)\n%s", diff)
	}
	if evs := observe(audit.DriftObservation{Fields: []syncd.FieldChange{zone}}); len(evs) != 0 {
		t.Errorf("a drift still open recorded %v", summary(evs))
	}
	if evs := observe(audit.DriftObservation{RemoteID: "r-2", Fields: []syncd.FieldChange{label, zone}}); len(evs) != 0 {
		t.Errorf("a drift still open recorded %v", summary(evs))
	}
	m3 := clk.Now()
	open, err := s.OpenDrifts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 {
		t.Fatalf("open drifts %+v, want one", open)
	}
	if open[0].RemoteID != "r-2" || open[0].Occurrences != 3 {
		t.Errorf("episode remote %q, %d occurrences; want r-2, 3", open[0].RemoteID, open[0].Occurrences)
	}
	wantFields := []audit.DriftField{
		{FieldChange: label, FirstSeen: m3, LastSeen: m3}, // stopped drifting in the second scan, drifted again in the third
		{FieldChange: zone, FirstSeen: m1, LastSeen: m3},
	}
	if diff := cmp.Diff(wantFields, open[0].Fields); diff != "" {
		t.Errorf("fields (-want +got)\n%s", diff)
	}

	// The remote id is kept when an observation has none.
	observe(audit.DriftObservation{Fields: []syncd.FieldChange{zone}})
	if open, err := s.OpenDrifts(ctx); err != nil || len(open) != 1 || open[0].RemoteID != "r-2" {
		t.Fatalf("open drifts after an observation without a remote id: %+v %v; want remote r-2", open, err)
	}

	applyRun := syncd.RunRecord{Run: syncd.Run{ID: "apply-1", Mode: syncd.ModeApply, Actor: "ci", ManifestRevision: "rev-9"}}
	if err := s.StartRun(ctx, applyRun); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	ev, err := s.ResolveDrift(ctx, keyA, audit.ResolvedByApply, "apply-1")
	if err != nil || ev == nil {
		t.Fatalf("ResolveDrift: %+v %v", ev, err)
	}
	want = []string{fmt.Sprintf("drift_resolved a remote=r-2 mode=apply actor=ci rev=rev-9 changes=%v", []syncd.FieldChange{zone})}
	if diff := cmp.Diff(want, summary([]syncd.Event{*ev})); diff != "" {
		t.Errorf("resolution event (-want +got)\n%s", diff)
	}
	stored, err := s.Events(ctx, audit.Filter{Key: &keyA})
	if err != nil {
		t.Fatal(err)
	}
	if last := stored[len(stored)-1].Event; last.ID != ev.ID || last.Actor != "ci" {
		t.Errorf("last stored event %+v, want the resolution %s", last, ev.ID)
	}
}

// TestOneScanHandlesEveryKey: a scan that updates an open episode goes on
// to the keys after it: here keyB's new drift is detected in the same scan
// that sees keyA's drift again.
func TestOneScanHandlesEveryKey(t *testing.T) {
	clk := newClock()
	s := openStore(t, migratedDB(t), audit.Options{Now: clk.Now})
	ctx := context.Background()
	scan := func(drifted map[syncd.Key]audit.DriftObservation) []syncd.Event {
		t.Helper()
		clk.Advance(time.Minute)
		evs, err := s.ScanDrift(ctx, audit.DriftScan{Scanned: []syncd.Key{keyA, keyB}, Drifted: drifted})
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	scan(map[syncd.Key]audit.DriftObservation{keyA: labelDrift("x")})
	evs := scan(map[syncd.Key]audit.DriftObservation{keyA: labelDrift("x"), keyB: labelDrift("y")})
	if len(evs) != 1 || evs[0].Type != syncd.EventDriftDetected || evs[0].Name != keyB.Name {
		t.Fatalf("events of the second scan %+v, want keyB's drift_detected", evs)
	}
	open, err := s.OpenDrifts(ctx)
	if err != nil || len(open) != 2 {
		t.Fatalf("open drifts %+v, %v; want keyA's and keyB's", open, err)
	}
}
