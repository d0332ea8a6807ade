package audit_test

import (
	"context"
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
