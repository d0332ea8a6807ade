package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/desired"
	"github.com/syncd/syncd/internal/engine"
	"github.com/syncd/syncd/internal/executor"
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/registry"
	"github.com/syncd/syncd/internal/reconcile"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/syncd"
)

// The runner's seam: the real engine, planner and executor over a fake
// platform (a Patchworks provider holding connectors in memory) and fake
// books (the audit store's contract, reconcile.Books, plus the executor's
// inventory and journal). No database and no HTTP.

// connectors is a fake Patchworks provider.
type connectors struct {
	mu      sync.Mutex
	objects map[string]map[string]any // remote id -> spec
	creates int
	updates []string
	deletes []string
	// drop lists the spec keys an update answers as a success and does not
	// keep (a write that is not effective); updateErr makes updates fail.
	drop      []string
	updateErr error
}

func (c *connectors) Kind() syncd.Kind { return syncd.PatchworksConnector }

// Observe lists every connector, as the real client lists them all.
func (c *connectors) Observe(_ context.Context, wants []platform.Want) (platform.Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var s platform.Snapshot
	for _, id := range slices.Sorted(maps.Keys(c.objects)) {
		s.Objects = append(s.Objects, syncd.Live{Kind: syncd.PatchworksConnector, RemoteID: id, Spec: maps.Clone(c.objects[id])})
	}
	for _, w := range wants {
		if _, ok := c.objects[w.RemoteID]; w.RemoteID != "" && !ok {
			s.Gone = append(s.Gone, w.RemoteID)
		}
	}
	return s, nil
}

func (c *connectors) Lookup(_ context.Context, d *syncd.Desired) ([]syncd.Live, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []syncd.Live
	for id, spec := range c.objects {
		if spec["name"] == d.Spec["name"] {
			out = append(out, syncd.Live{Kind: syncd.PatchworksConnector, RemoteID: id, Spec: maps.Clone(spec)})
		}
	}
	return out, nil
}

func (c *connectors) Create(_ context.Context, d *syncd.Desired) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.creates++
	id := fmt.Sprint(100 + len(c.objects))
	c.objects[id] = maps.Clone(d.Spec)
	return id, nil
}

func (c *connectors) Update(_ context.Context, id string, d *syncd.Desired, _ []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.updates = append(c.updates, id)
	if c.updateErr != nil {
		return c.updateErr
	}
	spec := maps.Clone(d.Spec)
	for _, k := range c.drop {
		spec[k] = c.objects[id][k]
	}
	c.objects[id] = spec
	return nil
}

func (c *connectors) Delete(_ context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deletes = append(c.deletes, id)
	delete(c.objects, id)
	return nil
}

func (c *connectors) ListAll(context.Context, string) ([]syncd.Live, error) { return nil, nil }
func (c *connectors) Stats() platform.Stats                                 { return platform.Stats{Platform: "patchworks"} }

// books is a fake of the audit log and the state store: reconcile.Books
// and reconcile.Inventory, executor.Inventory and executor.Journal.
type books struct {
	mu       sync.Mutex
	events   []syncd.Event
	runs     []syncd.RunRecord // StartRun and FinishRun calls, in order
	bindings map[syncd.Key]syncd.Binding
	scans    []audit.DriftScan
	pending  []syncd.Intent
	finished map[int64]string // intent id -> state
	// bindingsErr makes Bindings fail (the database down).
	bindingsErr error
	// attempts is the failure history towards stuck, as the store keeps it
	// across processes; attemptsErr makes reading and writing it fail.
	attempts    map[syncd.Key]audit.ChangeAttempts
	attemptsErr error
}

func newBooks() *books {
	return &books{bindings: map[syncd.Key]syncd.Binding{}, finished: map[int64]string{},
		attempts: map[syncd.Key]audit.ChangeAttempts{}}
}

func (b *books) Record(_ context.Context, evs ...syncd.Event) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = append(b.events, evs...)
	return nil
}
func (b *books) StartRun(_ context.Context, r syncd.RunRecord) error  { return b.run(r) }
func (b *books) FinishRun(_ context.Context, r syncd.RunRecord) error { return b.run(r) }
func (b *books) run(r syncd.RunRecord) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.runs = append(b.runs, r)
	return nil
}
func (b *books) Bindings(context.Context) (map[syncd.Key]syncd.Binding, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bindingsErr != nil {
		return nil, b.bindingsErr
	}
	return maps.Clone(b.bindings), nil
}

// ObserveDrift opens an episode for each drifted key (the real store's
// lifecycle is audit's to test; here only what the runner hands over).
func (b *books) ObserveDrift(_ context.Context, scan audit.DriftScan) ([]syncd.Event, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.scans = append(b.scans, scan)
	var evs []syncd.Event
	for i, k := range slices.SortedFunc(maps.Keys(scan.Drifted), syncd.Key.Compare) {
		obs := scan.Drifted[k]
		evs = append(evs, scan.Run.DriftEvent(scan.ObservedAt, int64(i+1), syncd.EventDriftDetected, k, obs.RemoteID, obs.Fields, "open"))
	}
	b.events = append(b.events, evs...)
	return evs, false, nil
}
func (b *books) ChangeAttempts(context.Context) (map[syncd.Key]audit.ChangeAttempts, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.attemptsErr != nil {
		return nil, b.attemptsErr
	}
	return maps.Clone(b.attempts), nil
}
func (b *books) SetChangeAttempts(_ context.Context, k syncd.Key, a *audit.ChangeAttempts) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.attemptsErr != nil {
		return b.attemptsErr
	}
	if a == nil {
		delete(b.attempts, k)
	} else {
		b.attempts[k] = *a
	}
	return nil
}
func (b *books) WriteCheckpoint(context.Context) (audit.Checkpoint, bool, error) {
	return audit.Checkpoint{}, false, nil
}
func (b *books) Bind(_ context.Context, bd syncd.Binding) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bindings[bd.Key] = bd
	return nil
}
func (b *books) Unbind(_ context.Context, k syncd.Key) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.bindings, k)
	return nil
}
func (b *books) BeginIntent(_ context.Context, in syncd.Intent) (int64, error) {
	return 1000, nil
}
func (b *books) FinishIntent(_ context.Context, id int64, state, _, _ string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.finished[id] = state
	return nil
}
func (b *books) PendingIntents(context.Context) ([]syncd.Intent, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []syncd.Intent
	for _, in := range b.pending {
		if _, done := b.finished[in.ID]; !done {
			out = append(out, in)
		}
	}
	return out, nil
}

// row is an event as these tests compare it.
type row struct {
	Type     syncd.EventType
	Key      string
	RemoteID string
	Action   string
	Outcome  string
	Paths    string
}

func (b *books) rows() []row {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []row
	for _, e := range b.events {
		r := row{Type: e.Type, RemoteID: e.RemoteID, Action: e.Action, Outcome: e.Outcome}
		if e.Name != "" {
			r.Key = syncd.Key{Kind: e.Kind, Name: e.Name}.String()
		}
		var paths []string
		for _, f := range e.Changes {
			paths = append(paths, f.Path)
		}
		r.Paths = strings.Join(paths, ",")
		out = append(out, r)
	}
	return out
}

func connectorDoc(name, timezone string) string {
	return fmt.Sprintf(`apiVersion: syncd/v1
kind: PatchworksConnector
metadata:
  name: %s
spec:
  name: %q
  authentication_implementation_id: "42"
  timezone: %s
  date_format: d/m/Y H:i
  rate_limit_unit: minute
  rate_limit_duration: 60
`, name, name, timezone)
}

// load writes files (name -> content) to a directory and loads it.
func load(t *testing.T, files map[string]string) *desired.Set {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set, _ := desired.Load(dir, desired.Options{Getenv: func(string) (string, bool) { return "", false }})
	if set == nil {
		t.Fatal("manifests unreadable")
	}
	return set
}

func newRunner(p platform.Provider, b *books) *reconcile.Runner {
	providers := map[syncd.Kind]platform.Provider{syncd.PatchworksConnector: p}
	h := syncd.NewHasher([]byte("seam-test"))
	return &reconcile.Runner{
		Engine: &engine.Engine{Providers: providers, Hasher: h},
		Executor: &executor.Executor{Providers: providers, Rules: registry.Rules(), Hasher: h,
			Recorder: b, Inventory: b, Journal: b},
		Store: b,
		State: b,
		Actor: "seam",
	}
}

var shopKey = syncd.Key{Kind: syncd.PatchworksConnector, Name: "shop"}

// liveShop is the spec the fake holds for a connector created from
// connectorDoc("shop", timezone).
func liveShop(t *testing.T, timezone string) map[string]any {
	t.Helper()
	set := load(t, map[string]string{"shop.yaml": connectorDoc("shop", timezone)})
	if len(set.Resources) != 1 {
		t.Fatalf("loaded %d resources, errors %v", len(set.Resources), set.Errors)
	}
	return maps.Clone(set.Resources[0].Spec)
}

func TestOnce(t *testing.T) {
	runStarted := row{Type: syncd.EventRunStarted, Outcome: "started"}
	finished := func(outcome string) row { return row{Type: syncd.EventRunFinished, Outcome: outcome} }
	for _, tc := range []struct {
		name     string
		files    map[string]string
		live     func(t *testing.T) map[string]map[string]any
		bindings map[syncd.Key]syncd.Binding
		pending  []syncd.Intent
		mode     syncd.Mode
		prune    bool

		wantRows     []row
		wantCreates  int
		wantUpdates  []string
		wantDeletes  []string
		wantBindings map[syncd.Key]string
		wantDrifted  []syncd.Key // keys of the drift scan's Drifted
		wantFinished map[int64]string
	}{
		{
			// A manifest that fails to load never turns into deletes, not
			// even with prune: the delete of the bound object whose
			// manifest is not loaded is recorded as blocked and not sent.
			name:  "load failure never deletes",
			files: map[string]string{"broken.yaml": "kind: PatchworksConnector\nmetadata: [\n"},
			live: func(t *testing.T) map[string]map[string]any {
				return map[string]map[string]any{"7": liveShop(t, "UTC")}
			},
			bindings:     map[syncd.Key]syncd.Binding{shopKey: {Key: shopKey, RemoteID: "7"}},
			mode:         syncd.ModeApply,
			prune:        true,
			wantBindings: map[syncd.Key]string{shopKey: "7"},
			wantRows: []row{
				runStarted,
				{Type: syncd.EventManifestInvalid, Outcome: "invalid"},
				{Type: syncd.EventChangePlanned, Key: shopKey.String(), RemoteID: "7", Action: "delete", Outcome: "blocked"},
				finished("manifest_invalid"),
			},
		},
		{
			name:  "drift is recorded in report mode and nothing is written",
			files: map[string]string{"shop.yaml": connectorDoc("shop", "UTC")},
			live: func(t *testing.T) map[string]map[string]any {
				return map[string]map[string]any{"7": liveShop(t, "Asia/Tokyo")}
			},
			bindings:     map[syncd.Key]syncd.Binding{shopKey: {Key: shopKey, RemoteID: "7"}},
			mode:         syncd.ModeReport,
			wantBindings: map[syncd.Key]string{shopKey: "7"},
			wantDrifted:  []syncd.Key{shopKey},
			wantRows: []row{
				runStarted,
				{Type: syncd.EventDriftDetected, Key: shopKey.String(), RemoteID: "7", Outcome: "open", Paths: "/timezone"},
				{Type: syncd.EventChangePlanned, Key: shopKey.String(), RemoteID: "7", Action: "update", Outcome: "report_only", Paths: "/timezone"},
				finished("ok"),
			},
		},
		{
			name:         "apply creates, binds and records change_applied",
			files:        map[string]string{"shop.yaml": connectorDoc("shop", "UTC")},
			mode:         syncd.ModeApply,
			wantCreates:  1,
			wantBindings: map[syncd.Key]string{shopKey: "100"},
			wantRows: []row{
				runStarted,
				{Type: syncd.EventChangePlanned, Key: shopKey.String(), Action: "create", Outcome: "pending",
					Paths: "/authentication_implementation_id,/date_format,/name,/rate_limit_duration,/rate_limit_unit,/timezone"},
				{Type: syncd.EventChangeApplied, Key: shopKey.String(), RemoteID: "100", Action: "create", Outcome: "applied",
					Paths: "/authentication_implementation_id,/date_format,/name,/rate_limit_duration,/rate_limit_unit,/timezone"},
				finished("ok"),
			},
		},
		{
			name:  "apply updates a drifted object and records change_applied",
			files: map[string]string{"shop.yaml": connectorDoc("shop", "UTC")},
			live: func(t *testing.T) map[string]map[string]any {
				return map[string]map[string]any{"7": liveShop(t, "Asia/Tokyo")}
			},
			bindings:     map[syncd.Key]syncd.Binding{shopKey: {Key: shopKey, RemoteID: "7"}},
			mode:         syncd.ModeApply,
			wantUpdates:  []string{"7"},
			wantBindings: map[syncd.Key]string{shopKey: "7"},
			wantDrifted:  []syncd.Key{shopKey},
			wantRows: []row{
				runStarted,
				{Type: syncd.EventDriftDetected, Key: shopKey.String(), RemoteID: "7", Outcome: "open", Paths: "/timezone"},
				{Type: syncd.EventChangePlanned, Key: shopKey.String(), RemoteID: "7", Action: "update", Outcome: "pending", Paths: "/timezone"},
				{Type: syncd.EventChangeApplied, Key: shopKey.String(), RemoteID: "7", Action: "update", Outcome: "applied", Paths: "/timezone"},
				finished("ok"),
			},
		},
		{
			// A crash left the create's intent pending after the platform
			// made the object: the next apply finds it by natural key,
			// binds it and creates nothing.
			name:  "a crashed create's intent is recovered, not created again",
			files: map[string]string{"shop.yaml": connectorDoc("shop", "UTC")},
			live: func(t *testing.T) map[string]map[string]any {
				return map[string]map[string]any{"9": liveShop(t, "UTC")}
			},
			pending:      []syncd.Intent{{ID: 5, Key: shopKey, NaturalKey: "shop", Action: "create", State: syncd.IntentPending}},
			mode:         syncd.ModeApply,
			wantBindings: map[syncd.Key]string{shopKey: "9"},
			wantFinished: map[int64]string{5: syncd.IntentSucceeded},
			wantRows: []row{
				runStarted,
				{Type: syncd.EventChangeApplied, Key: shopKey.String(), RemoteID: "9", Action: "create", Outcome: "applied"},
				finished("ok"),
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &connectors{objects: map[string]map[string]any{}}
			if tc.live != nil {
				p.objects = tc.live(t)
			}
			b := newBooks()
			maps.Copy(b.bindings, tc.bindings)
			b.pending = tc.pending
			r := newRunner(p, b)
			res, err := r.Once(context.Background(), reconcile.Request{Trigger: "test", Mode: tc.mode, Set: load(t, tc.files), Prune: tc.prune, Manual: true})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantRows, b.rows()); diff != "" {
				t.Errorf("audit rows (-want +got):\n%s", diff)
			}
			for _, e := range b.events {
				if e.RunID != res.RunID || e.Mode != tc.mode || e.Actor != "seam" {
					t.Errorf("event %s stamped run %q mode %q actor %q, want run %q mode %q actor seam", e.Type, e.RunID, e.Mode, e.Actor, res.RunID, tc.mode)
				}
			}
			if len(b.runs) != 2 || b.runs[0].ID != res.RunID || b.runs[1].ID != res.RunID || b.runs[0].Trigger != "test" || b.runs[1].Outcome != tc.wantRows[len(tc.wantRows)-1].Outcome {
				t.Errorf("run records %+v: want a start and a finish of run %s", b.runs, res.RunID)
			}
			if p.creates != tc.wantCreates {
				t.Errorf("%d creates, want %d", p.creates, tc.wantCreates)
			}
			if diff := cmp.Diff(tc.wantUpdates, p.updates); diff != "" {
				t.Errorf("updates (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantDeletes, p.deletes); diff != "" {
				t.Errorf("deletes (-want +got):\n%s", diff)
			}
			bound := map[syncd.Key]string{}
			for k, bd := range b.bindings {
				bound[k] = bd.RemoteID
			}
			if tc.wantBindings == nil {
				tc.wantBindings = map[syncd.Key]string{}
			}
			if diff := cmp.Diff(tc.wantBindings, bound); diff != "" {
				t.Errorf("bindings (-want +got):\n%s", diff)
			}
			var drifted []syncd.Key
			for _, s := range b.scans {
				drifted = append(drifted, slices.SortedFunc(maps.Keys(s.Drifted), syncd.Key.Compare)...)
				if s.Run.ID != res.RunID {
					t.Errorf("drift scan of run %q, want %q", s.Run.ID, res.RunID)
				}
			}
			if diff := cmp.Diff(tc.wantDrifted, drifted); diff != "" {
				t.Errorf("drifted keys (-want +got):\n%s", diff)
			}
			if tc.wantFinished != nil {
				if diff := cmp.Diff(tc.wantFinished, b.finished); diff != "" {
					t.Errorf("finished intents (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestFailedRecordsTheRunOnly: a run that could not start its work is two
// events of its own, with the cause, and a finished run record.
func TestFailedRecordsTheRunOnly(t *testing.T) {
	b := newBooks()
	r := newRunner(&connectors{objects: map[string]map[string]any{}}, b)
	id := r.Failed(context.Background(), "watch", syncd.ModeApply, "rev9", fmt.Errorf("too many open files"))
	want := []row{{Type: syncd.EventRunStarted, Outcome: "started"}, {Type: syncd.EventRunFinished, Outcome: "error"}}
	if diff := cmp.Diff(want, b.rows()); diff != "" {
		t.Errorf("audit rows (-want +got):\n%s", diff)
	}
	for _, e := range b.events {
		if e.RunID != id || e.ManifestRevision != "rev9" || e.Mode != syncd.ModeApply {
			t.Errorf("event %s: run %q revision %q mode %q", e.Type, e.RunID, e.ManifestRevision, e.Mode)
		}
	}
	if got := b.events[1].Error; got != "too many open files" {
		t.Errorf("run_finished error %q", got)
	}
	if len(b.runs) != 2 || b.runs[1].Outcome != "error" || b.runs[1].FinishedAt.IsZero() || b.runs[1].Trigger != "watch" {
		t.Errorf("run records %+v", b.runs)
	}
}

// TestOnceWithoutTheInventory: when the database is down, a runner that
// read the inventory before plans from that copy and never prunes; one
// that never read it plans nothing and says why.
func TestOnceWithoutTheInventory(t *testing.T) {
	ctx := context.Background()
	down := fmt.Errorf("read inventory: %w", state.ErrUnavailable)
	p := &connectors{objects: map[string]map[string]any{"7": liveShop(t, "UTC")}}
	b := newBooks()
	b.bindings[shopKey] = syncd.Binding{Key: shopKey, RemoteID: "7"}
	r := newRunner(p, b)
	if _, err := r.Once(ctx, reconcile.Request{Trigger: "test", Mode: syncd.ModeApply, Set: load(t, map[string]string{"shop.yaml": connectorDoc("shop", "UTC")})}); err != nil {
		t.Fatal(err)
	}

	b.bindingsErr = down
	res, err := r.Once(ctx, reconcile.Request{Trigger: "test", Mode: syncd.ModeApply, Set: load(t, nil), Prune: true})
	if err != nil {
		t.Fatalf("with the inventory last read: %v", err)
	}
	if len(p.deletes) != 0 || res.Plan.Summary.Delete != 0 {
		t.Errorf("database down: %d deletes sent, %d planned; want none (no prune without the inventory)", len(p.deletes), res.Plan.Summary.Delete)
	}

	fresh := newBooks()
	fresh.bindingsErr = down
	_, err = newRunner(p, fresh).Once(ctx, reconcile.Request{Trigger: "test", Mode: syncd.ModeApply, Set: load(t, nil), Prune: true})
	if !errors.Is(err, state.ErrUnavailable) || !strings.Contains(err.Error(), "read inventory") {
		t.Errorf("never read the inventory: %v, want a read inventory error", err)
	}
	if len(p.deletes) != 0 || p.creates != 0 {
		t.Errorf("%d deletes and %d creates sent", len(p.deletes), p.creates)
	}
}
