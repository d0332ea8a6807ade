package reconcile_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/reconcile"
	"github.com/syncd/syncd/internal/syncd"
)

// outcomes counts the shop's events by outcome.
func (b *books) outcomes() map[string]int {
	out := map[string]int{}
	for _, r := range b.rows() {
		if r.Key == shopKey.String() {
			out[string(r.Type)+"/"+r.Outcome]++
		}
	}
	return out
}

// TestStuckCountOutlivesTheRunner: each run is a runner of its own, as each
// `syncd run --once` from cron is a process of its own; the count towards
// stuck lives in the books. Persistent failures count; transient ones
// neither count nor reset; the run that reaches StuckAfter records one
// stuck event, and the next unattended run does not write. A manual run
// still retries; a manifest change releases it (unstuck).
func TestStuckCountOutlivesTheRunner(t *testing.T) {
	refused := &platform.APIError{Platform: "patchworks", Op: "PUT /api/v1/connectors/7", Status: 422, Kind: platform.KindInvalid, Message: "timezone is invalid"}
	outage := &platform.APIError{Platform: "patchworks", Op: "PUT /api/v1/connectors/7", Status: 503, Kind: platform.KindTransient, Message: "unavailable"}
	type attempt struct {
		err    error // the update's error; nil: answered as a success and not kept
		manual bool
	}
	for _, tc := range []struct {
		name     string
		attempts []attempt
		// want: writes sent, stuck events, the count the books keep, and
		// whether they say stuck.
		wantWrites, wantStuckEvents, wantCount int
		wantStuck                              bool
	}{
		{
			name:       "not effective three times, then held back",
			attempts:   []attempt{{}, {}, {}, {}},
			wantWrites: 3, wantStuckEvents: 1, wantCount: 3, wantStuck: true,
		},
		{
			name:       "refused three times, then held back",
			attempts:   []attempt{{err: refused}, {err: refused}, {err: refused}, {err: refused}},
			wantWrites: 3, wantStuckEvents: 1, wantCount: 3, wantStuck: true,
		},
		{
			name:       "an outage neither counts nor resets",
			attempts:   []attempt{{}, {err: outage}, {}, {err: outage}, {}, {}},
			wantWrites: 5, wantStuckEvents: 1, wantCount: 3, wantStuck: true,
		},
		{
			name:       "outages alone never make stuck",
			attempts:   []attempt{{err: outage}, {err: outage}, {err: outage}, {err: outage}},
			wantWrites: 4, wantCount: 0,
		},
		{
			name:       "a manual run retries a stuck resource and counts on",
			attempts:   []attempt{{}, {}, {}, {manual: true}, {}},
			wantWrites: 4, wantStuckEvents: 1, wantCount: 4, wantStuck: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			p := &connectors{objects: map[string]map[string]any{"7": liveShop(t, "Asia/Tokyo")}, drop: []string{"timezone"}}
			b := newBooks()
			b.bindings[shopKey] = syncd.Binding{Key: shopKey, RemoteID: "7"}
			set := load(t, map[string]string{"shop.yaml": connectorDoc("shop", "UTC")})
			for i, a := range tc.attempts {
				p.mu.Lock()
				p.updateErr = a.err
				p.mu.Unlock()
				// A fresh runner each time: nothing is carried in memory.
				if _, err := newRunner(p, b).Once(ctx, reconcile.Request{Trigger: "once", Mode: syncd.ModeApply, Set: set, Manual: a.manual}); err != nil {
					t.Fatalf("run %d: %v", i+1, err)
				}
			}
			if len(p.updates) != tc.wantWrites {
				t.Errorf("%d writes, want %d", len(p.updates), tc.wantWrites)
			}
			if got := b.outcomes()["change_failed/stuck"]; got != tc.wantStuckEvents {
				t.Errorf("%d stuck events, want %d; events %v", got, tc.wantStuckEvents, b.outcomes())
			}
			kept := b.attempts[shopKey]
			if kept.Attempts != tc.wantCount || kept.StuckSince.IsZero() == tc.wantStuck {
				t.Errorf("books keep %+v, want %d attempts, stuck %v", kept, tc.wantCount, tc.wantStuck)
			}
			if tc.wantStuck {
				got := newRunner(p, b)
				// A runner that only reads the books (as a restarted daemon
				// does on its first run) lists the resource as stuck.
				if _, err := got.Once(ctx, reconcile.Request{Trigger: "schedule", Mode: syncd.ModeApply, Set: set}); err != nil {
					t.Fatal(err)
				}
				if st := got.Stuck(); len(st) != 1 || st[0].Resource != shopKey.String() || st[0].Attempts != tc.wantCount {
					t.Errorf("Stuck() = %+v, want the shop with %d attempts", st, tc.wantCount)
				}
			}
		})
	}
}

// TestStuckIsReleasedByAManifestChange: a new runner sees that the
// manifest of a stuck resource changed, records unstuck, retries it and
// starts a new count in the books.
func TestStuckIsReleasedByAManifestChange(t *testing.T) {
	ctx := context.Background()
	p := &connectors{objects: map[string]map[string]any{"7": liveShop(t, "Asia/Tokyo")}, drop: []string{"timezone"}}
	b := newBooks()
	b.bindings[shopKey] = syncd.Binding{Key: shopKey, RemoteID: "7"}
	run := func(timezone string) {
		t.Helper()
		set := load(t, map[string]string{"shop.yaml": connectorDoc("shop", timezone)})
		if _, err := newRunner(p, b).Once(ctx, reconcile.Request{Trigger: "once", Mode: syncd.ModeApply, Set: set}); err != nil {
			t.Fatal(err)
		}
	}
	for range reconcile.StuckAfter + 1 {
		run("UTC")
	}
	run("Europe/Paris")
	want := map[string]int{
		"drift_detected/open":    reconcile.StuckAfter + 2,
		"change_planned/pending": reconcile.StuckAfter + 1,
		"change_failed/failed":   reconcile.StuckAfter + 1,
		"change_failed/stuck":    1,
		"change_planned/unstuck": 1,
	}
	if diff := cmp.Diff(want, b.outcomes()); diff != "" {
		t.Errorf("events by outcome (-want +got):\n%s", diff)
	}
	if len(p.updates) != reconcile.StuckAfter+1 {
		t.Errorf("%d writes, want %d", len(p.updates), reconcile.StuckAfter+1)
	}
	if kept := b.attempts[shopKey]; kept.Attempts != 1 || !kept.StuckSince.IsZero() {
		t.Errorf("books keep %+v after the release, want a new count of 1", kept)
	}
	// The platform keeps the write now: applied, and the history is gone.
	p.mu.Lock()
	p.drop = nil
	p.mu.Unlock()
	run("Europe/Paris")
	if kept, ok := b.attempts[shopKey]; ok {
		t.Errorf("books keep %+v after an applied change, want none", kept)
	}
}

// TestStuckCountWithoutTheBooks: while the books cannot be read or written
// (the database down), one runner counts in memory, as the daemon did
// before; once they are back, the history is written to them.
func TestStuckCountWithoutTheBooks(t *testing.T) {
	ctx := context.Background()
	p := &connectors{objects: map[string]map[string]any{"7": liveShop(t, "Asia/Tokyo")}, drop: []string{"timezone"}}
	b := newBooks()
	b.bindings[shopKey] = syncd.Binding{Key: shopKey, RemoteID: "7"}
	b.attemptsErr = fmt.Errorf("read change attempts: %w", audit.ErrUnavailable)
	set := load(t, map[string]string{"shop.yaml": connectorDoc("shop", "UTC")})
	r := newRunner(p, b)
	for range reconcile.StuckAfter + 1 {
		if _, err := r.Once(ctx, reconcile.Request{Trigger: "schedule", Mode: syncd.ModeApply, Set: set}); err != nil {
			t.Fatal(err)
		}
	}
	if len(p.updates) != reconcile.StuckAfter || len(r.Stuck()) != 1 || b.outcomes()["change_failed/stuck"] != 1 {
		t.Fatalf("books down: %d writes, stuck %+v, events %v", len(p.updates), r.Stuck(), b.outcomes())
	}
	b.mu.Lock()
	b.attemptsErr = nil
	b.mu.Unlock()
	if _, err := r.Once(ctx, reconcile.Request{Trigger: "schedule", Mode: syncd.ModeApply, Set: set}); err != nil {
		t.Fatal(err)
	}
	if kept := b.attempts[shopKey]; kept.Attempts != reconcile.StuckAfter || kept.StuckSince.IsZero() {
		t.Errorf("books keep %+v once back, want %d attempts, stuck", kept, reconcile.StuckAfter)
	}
	if len(p.updates) != reconcile.StuckAfter || len(r.Stuck()) != 1 {
		t.Errorf("books back: %d writes, stuck %+v", len(p.updates), r.Stuck())
	}
}
