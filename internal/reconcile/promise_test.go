package reconcile_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/desired"
	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/reconcile"
	"github.com/syncd/syncd/internal/syncd"
)

// logged collects the records a runner logs.
type logged struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *logged) Enabled(context.Context, slog.Level) bool { return true }
func (l *logged) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r.Clone())
	return nil
}
func (l *logged) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logged) WithGroup(string) slog.Handler      { return l }

// alarms lists the warnings and errors logged, as "LEVEL message".
func (l *logged) alarms() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.records {
		if r.Level >= slog.LevelWarn {
			out = append(out, fmt.Sprintf("%s %s", r.Level, r.Message))
		}
	}
	return out
}

// TestHealthyRunsRaiseNoAlarm: operators alert on warnings and errors, so a
// run whose store, platform and journal all work logs none — in each mode,
// with a create, an update and a recovered intent — and a run that could
// not start logs exactly its one error.
func TestHealthyRunsRaiseNoAlarm(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mode    syncd.Mode
		live    bool
		pending bool
	}{
		{name: "apply creates", mode: syncd.ModeApply},
		{name: "apply updates drift", mode: syncd.ModeApply, live: true},
		{name: "apply recovers an intent", mode: syncd.ModeApply, pending: true},
		{name: "report", mode: syncd.ModeReport, live: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &connectors{objects: map[string]map[string]any{}}
			b := newBooks()
			if tc.live {
				p.objects["7"] = liveShop(t, "Asia/Tokyo")
				b.bindings[shopKey] = syncd.Binding{Key: shopKey, RemoteID: "7"}
			}
			if tc.pending {
				p.objects["9"] = liveShop(t, "UTC")
				b.pending = []syncd.Intent{{ID: 5, Key: shopKey, NaturalKey: "shop", Action: "create", State: syncd.IntentPending}}
			}
			r := newRunner(p, b)
			l := &logged{}
			r.Logger = slog.New(l)
			if _, err := r.Once(context.Background(), reconcile.Request{Trigger: "test", Mode: tc.mode,
				Set: load(t, map[string]string{"shop.yaml": connectorDoc("shop", "UTC")})}); err != nil {
				t.Fatal(err)
			}
			if got := l.alarms(); len(got) != 0 {
				t.Errorf("a healthy run logged %q, want no warning or error", got)
			}
		})
	}

	t.Run("failed run", func(t *testing.T) {
		b := newBooks()
		r := newRunner(&connectors{objects: map[string]map[string]any{}}, b)
		l := &logged{}
		r.Logger = slog.New(l)
		r.Failed(context.Background(), "watch", syncd.ModeApply, "rev1", fmt.Errorf("too many open files"))
		if got, want := l.alarms(), []string{"ERROR run failed"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("a run that could not start logged %q, want %q", got, want)
		}
	})
}

// refusing is a Patchworks provider whose platform refuses every update
// as invalid (a persistent failure) and keeps the object as it was.
type refusing struct {
	*connectors
	tries int
}

func (p *refusing) Update(context.Context, string, *syncd.Desired, []string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tries++
	return &platform.APIError{Platform: "patchworks", Op: "PUT /api/v1/connectors/7", Status: 422, Kind: platform.KindInvalid, Message: "refused"}
}

// TestStuckResourceIsHeldBack: after exactly StuckAfter refused attempts
// with the same desired and live state, the daemon stops sending the
// write (and records the stuck event once); a manual apply still sends it;
// a manifest change releases the resource with an "unstuck" row.
func TestStuckResourceIsHeldBack(t *testing.T) {
	ctx := context.Background()
	p := &refusing{connectors: &connectors{objects: map[string]map[string]any{"7": liveShop(t, "Asia/Tokyo")}}}
	b := newBooks()
	b.bindings[shopKey] = syncd.Binding{Key: shopKey, RemoteID: "7"}
	r := newRunner(p, b)
	utc := load(t, map[string]string{"shop.yaml": connectorDoc("shop", "UTC")})
	daemon := func(set *desired.Set) {
		t.Helper()
		if _, err := r.Once(ctx, reconcile.Request{Trigger: "watch", Mode: syncd.ModeApply, Set: set}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(outcome string) int {
		n := 0
		for _, row := range b.rows() {
			if row.Outcome == outcome && row.Key == shopKey.String() {
				n++
			}
		}
		return n
	}

	for i := 1; i < reconcile.StuckAfter; i++ {
		daemon(utc)
		if got := r.Stuck(); len(got) != 0 {
			t.Fatalf("stuck after %d refused attempts: %+v; want only after %d", i, got, reconcile.StuckAfter)
		}
	}
	daemon(utc)
	stuck := r.Stuck()
	if len(stuck) != 1 || stuck[0].Key != shopKey || stuck[0].Attempts != reconcile.StuckAfter || stuck[0].RemoteID != "7" || stuck[0].Action != "update" {
		t.Fatalf("after %d refused attempts: stuck %+v, want %s stuck at %d attempts", reconcile.StuckAfter, stuck, shopKey, reconcile.StuckAfter)
	}
	if n := count(reconcile.OutcomeStuck); n != 1 {
		t.Errorf("%d stuck rows, want 1", n)
	}
	if !strings.Contains(stuck[0].Error, "refused") {
		t.Errorf("stuck with error %q, want the platform's last refusal", stuck[0].Error)
	}

	tries := p.tries
	daemon(utc)
	if p.tries != tries {
		t.Errorf("the daemon sent the stuck write again (%d tries, was %d)", p.tries, tries)
	}
	if n := count(reconcile.OutcomeStuck); n != 1 {
		t.Errorf("%d stuck rows after a held run, want still 1", n)
	}

	if _, err := r.Once(ctx, reconcile.Request{Trigger: "cli", Mode: syncd.ModeApply, Set: utc, Manual: true}); err != nil {
		t.Fatal(err)
	}
	if p.tries != tries+1 {
		t.Errorf("a manual apply sent %d writes, want 1", p.tries-tries)
	}
	if got := r.Stuck(); len(got) != 1 || got[0].Attempts != reconcile.StuckAfter+1 {
		t.Errorf("after a manual retry: stuck %+v, want %d attempts", got, reconcile.StuckAfter+1)
	}

	tries = p.tries
	daemon(load(t, map[string]string{"shop.yaml": connectorDoc("shop", "Europe/London")}))
	if p.tries != tries+1 {
		t.Errorf("after a manifest change the daemon sent %d writes, want 1", p.tries-tries)
	}
	if n := count(reconcile.OutcomeUnstuck); n != 1 {
		t.Errorf("%d unstuck rows after a manifest change, want 1", n)
	}
	if got := r.Stuck(); len(got) != 0 {
		t.Errorf("after a manifest change: stuck %+v, want none (one attempt of the new state)", got)
	}
}

// TestOutageRunKnowsWhatThisProcessCreated: the inventory kept for an
// outage is the one after the last apply, so an object this process
// created is still owned when the database goes down: its drift is
// reverted as an update of the bound object, not found again by name.
func TestOutageRunKnowsWhatThisProcessCreated(t *testing.T) {
	ctx := context.Background()
	p := &connectors{objects: map[string]map[string]any{}}
	b := newBooks()
	r := newRunner(p, b)
	set := load(t, map[string]string{"shop.yaml": connectorDoc("shop", "UTC")})
	if _, err := r.Once(ctx, reconcile.Request{Trigger: "test", Mode: syncd.ModeApply, Set: set}); err != nil {
		t.Fatal(err)
	}
	id := b.bindings[shopKey].RemoteID
	if id == "" {
		t.Fatalf("the first apply bound nothing: %v", b.bindings)
	}
	p.objects[id] = liveShop(t, "Asia/Tokyo")
	b.bindingsErr = fmt.Errorf("read inventory: %w", audit.ErrUnavailable)
	res, err := r.Once(ctx, reconcile.Request{Trigger: "test", Mode: syncd.ModeApply, Set: set})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range res.Plan.Changes {
		got = append(got, fmt.Sprintf("%s %s %s", c.Key, c.Action, c.RemoteID))
	}
	if want := []string{fmt.Sprintf("%s update %s", shopKey, id)}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("during the outage planned %q, want %q", got, want)
	}
}

// TestAdoptingAnIdenticalObjectIsNoDrift: an unowned object found by name
// that already matches its manifest is adopted, and nothing about it has
// drifted: no drift episode opens.
func TestAdoptingAnIdenticalObjectIsNoDrift(t *testing.T) {
	for _, mode := range []syncd.Mode{syncd.ModeReport, syncd.ModeApply} {
		t.Run(string(mode), func(t *testing.T) {
			p := &connectors{objects: map[string]map[string]any{"7": liveShop(t, "UTC")}}
			b := newBooks()
			res, err := newRunner(p, b).Once(context.Background(), reconcile.Request{Trigger: "test", Mode: mode,
				Set: load(t, map[string]string{"shop.yaml": connectorDoc("shop", "UTC")})})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Plan.Changes) != 1 || res.Plan.Changes[0].Action != planner.ActionAdopt {
				t.Fatalf("plan %+v, want one adopt", res.Plan.Changes)
			}
			for _, s := range b.scans {
				if len(s.Drifted) != 0 {
					t.Errorf("drift recorded for an identical object: %v", s.Drifted)
				}
			}
			for _, row := range b.rows() {
				if row.Type == syncd.EventDriftDetected {
					t.Errorf("drift_detected row %+v", row)
				}
			}
		})
	}
}

// TestStuckResourceForgottenWithItsManifest: a scoped run that does not
// plan a stuck resource keeps it stuck; a full run without its manifest
// releases it (an "unstuck" row) and forgets it.
func TestStuckResourceForgottenWithItsManifest(t *testing.T) {
	ctx := context.Background()
	p := &refusing{connectors: &connectors{objects: map[string]map[string]any{"7": liveShop(t, "Asia/Tokyo")}}}
	b := newBooks()
	b.bindings[shopKey] = syncd.Binding{Key: shopKey, RemoteID: "7"}
	r := newRunner(p, b)
	l := &logged{}
	r.Logger = slog.New(l)
	utc := load(t, map[string]string{"shop.yaml": connectorDoc("shop", "UTC")})
	for range reconcile.StuckAfter {
		if _, err := r.Once(ctx, reconcile.Request{Trigger: "watch", Mode: syncd.ModeApply, Set: utc}); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.Stuck(); len(got) != 1 {
		t.Fatalf("stuck %+v, want %s", got, shopKey)
	}
	unstuck := func() int {
		n := 0
		for _, row := range b.rows() {
			if row.Outcome == reconcile.OutcomeUnstuck {
				n++
			}
		}
		return n
	}

	other := syncd.Key{Kind: syncd.PatchworksConnector, Name: "other"}
	onlyOther := load(t, map[string]string{"other.yaml": connectorDoc("other", "UTC")})
	if _, err := r.Once(ctx, reconcile.Request{Trigger: "cli", Mode: syncd.ModeApply, Set: onlyOther, Scope: []syncd.Key{other}}); err != nil {
		t.Fatal(err)
	}
	if got := r.Stuck(); len(got) != 1 || unstuck() != 0 {
		t.Errorf("a run scoped to %s released the stuck %s: stuck %+v, %d unstuck rows", other, shopKey, got, unstuck())
	}

	if _, err := r.Once(ctx, reconcile.Request{Trigger: "watch", Mode: syncd.ModeApply, Set: onlyOther}); err != nil {
		t.Fatal(err)
	}
	if got := r.Stuck(); len(got) != 0 || unstuck() != 1 {
		t.Errorf("a full run without the manifest: stuck %+v, %d unstuck rows; want none stuck and 1 unstuck row", got, unstuck())
	}
	// Becoming stuck is the one alarm; recording it and its release
	// worked, so nothing else is logged as a warning.
	if got, want := l.alarms(), []string{"WARN resource stuck"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("logged %q, want %q", got, want)
	}
}

// TestSavedPlanAppliesOnlyWhatStillHolds: applying a saved plan writes its
// changes only while the manifest and the live object are what the plan
// was made from; anything else is refused with why (and not written), a
// change the plan did not have is blocked, and --require-fresh refuses the
// whole plan when one change went stale.
func TestSavedPlanAppliesOnlyWhatStillHolds(t *testing.T) {
	other := syncd.Key{Kind: syncd.PatchworksConnector, Name: "other"}
	both := func(shopTZ string) *desired.Set {
		return load(t, map[string]string{"shop.yaml": connectorDoc("shop", shopTZ), "other.yaml": connectorDoc("other", "UTC")})
	}
	for _, tc := range []struct {
		name         string
		requireFresh bool
		otherDrifted bool // other differs from its manifest when planned
		// after runs between the plan and the apply.
		after       func(p *connectors)
		set         *desired.Set
		wantUpdates []string
		wantRefused []string
		wantBlocked map[syncd.Key]string
	}{
		{
			name:        "nothing changed: the plan is applied",
			set:         both("UTC"),
			wantUpdates: []string{"7"},
		},
		{
			name:        "the live object changed",
			after:       func(p *connectors) { p.objects["7"]["timezone"] = "Europe/Paris" },
			set:         both("UTC"),
			wantRefused: []string{shopKey.String() + ": the live object changed since the plan was made"},
			wantBlocked: map[syncd.Key]string{shopKey: "stale plan: the live object changed since the plan was made"},
		},
		{
			name:        "the manifest changed",
			set:         both("Europe/London"),
			wantRefused: []string{shopKey.String() + ": the manifest changed since the plan was made"},
			wantBlocked: map[syncd.Key]string{shopKey: "stale plan: the manifest changed since the plan was made"},
		},
		{
			name:        "a change the plan did not have is blocked",
			after:       func(p *connectors) { p.objects["8"]["timezone"] = "Asia/Tokyo" },
			set:         both("UTC"),
			wantUpdates: []string{"7"},
			wantBlocked: map[syncd.Key]string{other: "not in the saved plan"},
		},
		{
			name:         "one stale change leaves the fresh one applied",
			otherDrifted: true,
			after:        func(p *connectors) { p.objects["7"]["timezone"] = "Europe/Paris" },
			set:          both("UTC"),
			wantUpdates:  []string{"8"},
			wantRefused:  []string{shopKey.String() + ": the live object changed since the plan was made"},
			wantBlocked:  map[syncd.Key]string{shopKey: "stale plan: the live object changed since the plan was made"},
		},
		{
			name:         "require-fresh refuses the whole plan",
			requireFresh: true,
			otherDrifted: true,
			after:        func(p *connectors) { p.objects["7"]["timezone"] = "Europe/Paris" },
			set:          both("UTC"),
			wantRefused:  []string{shopKey.String() + ": the live object changed since the plan was made"},
			wantBlocked: map[syncd.Key]string{
				shopKey: "stale plan: the live object changed since the plan was made",
				other:   "stale plan refused whole (--require-fresh)",
			},
		},
		{
			name:         "require-fresh with a fresh plan applies it",
			requireFresh: true,
			set:          both("UTC"),
			wantUpdates:  []string{"7"},
		},
		{
			name:        "a planned resource whose manifest is gone",
			set:         load(t, map[string]string{"other.yaml": connectorDoc("other", "UTC")}),
			wantRefused: []string{shopKey.String() + ": no longer planned (manifest or object gone)"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			p := &connectors{objects: map[string]map[string]any{"7": liveShop(t, "Asia/Tokyo"), "8": liveShop(t, "UTC")}}
			p.objects["8"]["name"] = "other"
			if tc.otherDrifted {
				p.objects["8"]["timezone"] = "Asia/Tokyo"
			}
			b := newBooks()
			b.bindings[shopKey] = syncd.Binding{Key: shopKey, RemoteID: "7"}
			b.bindings[other] = syncd.Binding{Key: other, RemoteID: "8"}
			r := newRunner(p, b)
			planned, err := r.Once(ctx, reconcile.Request{Trigger: "cli", Mode: syncd.ModeReport, Set: both("UTC")})
			if err != nil {
				t.Fatal(err)
			}
			if tc.after != nil {
				tc.after(p)
			}
			res, err := r.Once(ctx, reconcile.Request{Trigger: "cli", Mode: syncd.ModeApply, Set: tc.set, Manual: true,
				Saved: &reconcile.SavedPlan{Plan: planned.Plan, RequireFresh: tc.requireFresh}})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantUpdates, p.updates); diff != "" {
				t.Errorf("updates sent (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantRefused, res.Refused); diff != "" {
				t.Errorf("refused (-want +got):\n%s", diff)
			}
			blocked := map[syncd.Key]string{}
			for _, c := range res.Plan.Changes {
				if c.Blocked != "" {
					blocked[c.Key] = c.Blocked
				}
			}
			if tc.wantBlocked == nil {
				tc.wantBlocked = map[syncd.Key]string{}
			}
			if diff := cmp.Diff(tc.wantBlocked, blocked); diff != "" {
				t.Errorf("blocked (-want +got):\n%s", diff)
			}
			if got, want := res.Plan.Summary.Blocked, len(tc.wantBlocked); got != want {
				t.Errorf("summary counts %d blocked, want %d", got, want)
			}
		})
	}
}

// TestNotWrittenChangesSayWhy: a change the run does not write is recorded
// with the reason: its error, or why it was blocked.
func TestNotWrittenChangesSayWhy(t *testing.T) {
	p := &connectors{objects: map[string]map[string]any{"7": liveShop(t, "UTC")}}
	b := newBooks()
	b.bindings[shopKey] = syncd.Binding{Key: shopKey, RemoteID: "7"}
	set := load(t, map[string]string{"broken.yaml": "kind: PatchworksConnector\nmetadata: [\n"})
	if _, err := newRunner(p, b).Once(context.Background(), reconcile.Request{Trigger: "test", Mode: syncd.ModeApply, Set: set, Prune: true}); err != nil {
		t.Fatal(err)
	}
	var why []string
	for _, e := range b.events {
		if e.Type == syncd.EventChangePlanned {
			why = append(why, e.Outcome+": "+e.Error)
		}
	}
	if len(why) != 1 || !strings.HasPrefix(why[0], "blocked: ") || len(why[0]) == len("blocked: ") {
		t.Errorf("change_planned rows %q, want one blocked row with its reason", why)
	}
}

// TestStuckResourceReleasedWhenItConverges: a stuck resource whose live
// object was fixed by hand (it needs no change any more) is released.
func TestStuckResourceReleasedWhenItConverges(t *testing.T) {
	ctx := context.Background()
	p := &refusing{connectors: &connectors{objects: map[string]map[string]any{"7": liveShop(t, "Asia/Tokyo")}}}
	b := newBooks()
	b.bindings[shopKey] = syncd.Binding{Key: shopKey, RemoteID: "7"}
	r := newRunner(p, b)
	utc := load(t, map[string]string{"shop.yaml": connectorDoc("shop", "UTC")})
	for range reconcile.StuckAfter {
		if _, err := r.Once(ctx, reconcile.Request{Trigger: "watch", Mode: syncd.ModeApply, Set: utc}); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.Stuck(); len(got) != 1 {
		t.Fatalf("stuck %+v, want %s", got, shopKey)
	}
	p.mu.Lock()
	p.objects["7"] = liveShop(t, "UTC")
	p.mu.Unlock()
	if _, err := r.Once(ctx, reconcile.Request{Trigger: "watch", Mode: syncd.ModeApply, Set: utc}); err != nil {
		t.Fatal(err)
	}
	unstuck := 0
	for _, row := range b.rows() {
		if row.Outcome == reconcile.OutcomeUnstuck {
			unstuck++
		}
	}
	if got := r.Stuck(); len(got) != 0 || unstuck != 1 {
		t.Errorf("converged: stuck %+v, %d unstuck rows; want none stuck and 1 unstuck row", got, unstuck)
	}
}
