package executor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/syncd/syncd/internal/executor"
	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/syncd"
)

// The executor's seam: a fake platform (rules and provider) and fake
// stores, no database and no HTTP. The platform is a "Widget" identified by
// owner and title (a natural key of two parts, so that its reverse matters).

const widget syncd.Kind = "Widget"

type widgetRules struct{}

func (widgetRules) Kind() syncd.Kind { return widget }
func (widgetRules) NaturalKey(spec map[string]any) string {
	owner, _ := spec["owner"].(string)
	title, _ := spec["title"].(string)
	return owner + ":" + title
}
func (widgetRules) KeySpec(nk string) map[string]any {
	owner, title, _ := strings.Cut(nk, ":")
	return map[string]any{"owner": owner, "title": title}
}
func (widgetRules) Compare(d, l map[string]any, c syncd.Comparison) {
	for k, dv := range d {
		lv, has := l[k]
		c.Unit(syncd.Unit{Path: []string{k}, Desired: dv, Live: lv, LiveHas: has})
	}
}
func (widgetRules) CreateFields(d map[string]any, emit func([]string, any)) {
	for k, v := range d {
		emit([]string{k}, v)
	}
}
func (widgetRules) Sensitive(ptr string, _ ...map[string]any) bool { return ptr == "/apiKey" }
func (widgetRules) Unmanaged(spec map[string]any) (string, string, string) {
	return "", "Widgets", widgetRules{}.NaturalKey(spec)
}
func (widgetRules) MaySensitive(ptr string) bool { return ptr == "" || ptr == "/apiKey" }

// widgets is a fake provider holding objects in memory.
type widgets struct {
	mu        sync.Mutex
	objects   map[string]map[string]any
	lookedUp  []map[string]any
	createErr error
	creates   int
	// dropUpdates makes Update answer success and keep nothing.
	dropUpdates bool
	updates     int
	deletes     int
}

func (w *widgets) Kind() syncd.Kind { return widget }
func (w *widgets) Observe(_ context.Context, wants []platform.Want) (platform.Snapshot, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var s platform.Snapshot
	for _, want := range wants {
		if spec, ok := w.objects[want.RemoteID]; ok {
			s.Objects = append(s.Objects, syncd.Live{Kind: widget, RemoteID: want.RemoteID, Spec: spec})
		} else {
			s.Gone = append(s.Gone, want.RemoteID)
		}
	}
	return s, nil
}
func (w *widgets) Lookup(_ context.Context, d *syncd.Desired) ([]syncd.Live, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lookedUp = append(w.lookedUp, d.Spec)
	var out []syncd.Live
	for id, spec := range w.objects {
		if spec["owner"] == d.Spec["owner"] && spec["title"] == d.Spec["title"] {
			out = append(out, syncd.Live{Kind: widget, RemoteID: id, Spec: spec})
		}
	}
	return out, nil
}
func (w *widgets) Create(_ context.Context, d *syncd.Desired) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.creates++
	if w.createErr != nil {
		return "", w.createErr
	}
	id := fmt.Sprintf("w%d", len(w.objects)+1)
	w.objects[id] = d.Spec
	return id, nil
}
func (w *widgets) Update(_ context.Context, id string, d *syncd.Desired, _ []string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.updates++
	if !w.dropUpdates {
		w.objects[id] = d.Spec
	}
	return nil
}
func (w *widgets) Delete(_ context.Context, id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.deletes++
	delete(w.objects, id)
	return nil
}
func (w *widgets) ListAll(context.Context, string) ([]syncd.Live, error) { return nil, nil }
func (w *widgets) Stats() platform.Stats                                 { return platform.Stats{Platform: "widget"} }

// books is a fake recorder, inventory and journal.
type books struct {
	mu       sync.Mutex
	events   []syncd.Event
	bindings map[syncd.Key]string
	intents  []syncd.Intent
	finished map[int64]string // id -> state
	pending  []syncd.Intent
	// recordErr makes Record fail (the audit unavailable).
	recordErr error
	resolved  []string // ResolveDrift calls: key how run
}

func newBooks() *books {
	return &books{bindings: map[syncd.Key]string{}, finished: map[int64]string{}}
}
func (b *books) Record(_ context.Context, evs ...syncd.Event) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.recordErr != nil {
		return b.recordErr
	}
	b.events = append(b.events, evs...)
	return nil
}
func (b *books) Bind(_ context.Context, bd syncd.Binding) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bindings[bd.Key] = bd.RemoteID
	return nil
}
func (b *books) Unbind(_ context.Context, k syncd.Key) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.bindings, k)
	return nil
}
func (b *books) BeginIntent(_ context.Context, in syncd.Intent) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.intents = append(b.intents, in)
	return int64(len(b.intents)), nil
}
func (b *books) FinishIntent(_ context.Context, id int64, state, _, _ string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.finished[id] = state
	return nil
}
func (b *books) PendingIntents(context.Context) ([]syncd.Intent, error) { return b.pending, nil }

func newExecutor(w *widgets, b *books, rules map[syncd.Kind]syncd.Rules) *executor.Executor {
	return &executor.Executor{
		Providers: map[syncd.Kind]platform.Provider{widget: w},
		Rules:     rules,
		Recorder:  b, Inventory: b, Journal: b,
		Hasher: syncd.NewHasher([]byte("seam-test")),
	}
}

var widgetKey = syncd.Key{Kind: widget, Name: "w"}

// TestRecoverLooksUpByTheRulesKeySpec: a journalled create is looked up
// with the spec its platform rebuilds from the natural key, and bound when
// exactly one object has it; without the platform's rules nothing is
// looked up (no default key that would find the wrong object).
func TestRecoverLooksUpByTheRulesKeySpec(t *testing.T) {
	for _, tc := range []struct {
		name       string
		rules      map[syncd.Kind]syncd.Rules
		objects    map[string]map[string]any
		wantLookup []map[string]any
		wantBound  map[syncd.Key]string
		wantState  string
		wantErr    string
	}{
		{
			name:       "found once: bound",
			rules:      map[syncd.Kind]syncd.Rules{widget: widgetRules{}},
			objects:    map[string]map[string]any{"w7": {"owner": "ann", "title": "Main"}, "w8": {"owner": "bob", "title": "Main"}},
			wantLookup: []map[string]any{{"owner": "ann", "title": "Main"}},
			wantBound:  map[syncd.Key]string{widgetKey: "w7"},
			wantState:  syncd.IntentSucceeded,
		},
		{
			name:       "not found: the create did not happen",
			rules:      map[syncd.Kind]syncd.Rules{widget: widgetRules{}},
			objects:    map[string]map[string]any{"w8": {"owner": "bob", "title": "Main"}},
			wantLookup: []map[string]any{{"owner": "ann", "title": "Main"}},
			wantBound:  map[syncd.Key]string{},
			wantState:  syncd.IntentFailed,
		},
		{
			name:      "no rules for the kind: an error, no lookup",
			rules:     map[syncd.Kind]syncd.Rules{},
			objects:   map[string]map[string]any{"w7": {"owner": "ann", "title": "Main"}},
			wantBound: map[syncd.Key]string{},
			wantErr:   "no platform registered for kind Widget",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &widgets{objects: tc.objects}
			b := newBooks()
			b.pending = []syncd.Intent{{ID: 1, Key: widgetKey, NaturalKey: "ann:Main", Action: "create"}}
			err := newExecutor(w, b, tc.rules).Recover(context.Background(), syncd.Run{ID: "r1", Mode: syncd.ModeApply})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Recover error = %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantLookup, w.lookedUp); diff != "" {
				t.Errorf("lookups (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantBound, b.bindings); diff != "" {
				t.Errorf("bindings (-want +got):\n%s", diff)
			}
			if got := b.finished[1]; got != tc.wantState {
				t.Errorf("intent state = %q, want %q", got, tc.wantState)
			}
		})
	}
}

// TestCreateJournalsTheRulesNaturalKey: a create is journalled under the
// natural key its platform computes, then made, verified by reading it
// back and bound; a failed create's error carries no secret, by the
// platform's own sensitivity rule.
func TestCreateJournalsTheRulesNaturalKey(t *testing.T) {
	const secret = "sk-widget-123456"
	d := &syncd.Desired{Key: widgetKey, Spec: map[string]any{"owner": "ann", "title": "Main", "apiKey": secret}}
	plan := &planner.Plan{Changes: []planner.Change{{Key: widgetKey, Action: planner.ActionCreate, NaturalKey: "ann:Main"}}}
	run := syncd.Run{ID: "r1", Mode: syncd.ModeApply}
	rules := map[syncd.Kind]syncd.Rules{widget: widgetRules{}}

	w := &widgets{objects: map[string]map[string]any{}}
	b := newBooks()
	rep := newExecutor(w, b, rules).Apply(context.Background(), run, plan, map[syncd.Key]*syncd.Desired{widgetKey: d})
	if rep.Applied != 1 || rep.Failed != 0 {
		t.Fatalf("report = %+v", rep)
	}
	if diff := cmp.Diff([]syncd.Intent{{Key: widgetKey, NaturalKey: "ann:Main", Action: "create"}}, b.intents, cmpopts.IgnoreUnexported(syncd.Intent{})); diff != "" {
		t.Errorf("intents (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[syncd.Key]string{widgetKey: "w1"}, b.bindings); diff != "" {
		t.Errorf("bindings (-want +got):\n%s", diff)
	}

	failing := &widgets{objects: map[string]map[string]any{}, createErr: fmt.Errorf("widget: POST /widgets: invalid: apiKey %s rejected", secret)}
	b = newBooks()
	rep = newExecutor(failing, b, rules).Apply(context.Background(), run, plan, map[syncd.Key]*syncd.Desired{widgetKey: d})
	if rep.Failed != 1 {
		t.Fatalf("report = %+v", rep)
	}
	for _, e := range b.events {
		if strings.Contains(e.Error, secret) {
			t.Errorf("event %s carries the secret: %q", e.Type, e.Error)
		}
	}
	if err := rep.Results[0].Err; err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), syncd.Redacted) {
		t.Errorf("result error = %v", err)
	}

	none := &widgets{objects: map[string]map[string]any{}}
	b = newBooks()
	rep = newExecutor(none, b, map[syncd.Kind]syncd.Rules{}).Apply(context.Background(), run, plan, map[syncd.Key]*syncd.Desired{widgetKey: d})
	if rep.Failed != 1 || none.creates != 0 || len(b.intents) != 0 {
		t.Errorf("without rules: report %+v, %d creates, %d intents; want a refusal before any write", rep, none.creates, len(b.intents))
	}
}

// ResolveDrift is the drift resolver's contract: the event it returns is
// the one it recorded.
func (b *books) ResolveDrift(_ context.Context, k syncd.Key, how, runID string) (*syncd.Event, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.resolved = append(b.resolved, k.String()+" "+how+" "+runID)
	return &syncd.Event{Type: syncd.EventDriftResolved, RunID: runID, Kind: k.Kind, Name: k.Name, Outcome: how}, nil
}

// TestApplyRecordsEachOutcome: what the executor writes to the platform,
// the audit and the inventory for each kind of change, through the
// contracts only. Every write is announced (change_planned) before it is
// sent and never sent when the announcement cannot be recorded; a write
// the platform did not keep is change_failed, not applied; an update that
// converged closes the resource's drift.
func TestApplyRecordsEachOutcome(t *testing.T) {
	run := syncd.Run{ID: "r1", Mode: syncd.ModeApply, Actor: "ann", ManifestRevision: "rev"}
	desiredW := &syncd.Desired{Key: widgetKey, Spec: map[string]any{"owner": "ann", "title": "New"}}
	title := []syncd.FieldChange{{Path: "/title", Before: "Old", After: "New"}}
	update := planner.Change{Key: widgetKey, Action: planner.ActionUpdate, RemoteID: "w1", Fields: title}
	type ev struct {
		Type     syncd.EventType
		RemoteID string
		Action   string
		Outcome  string
	}
	for _, tc := range []struct {
		name        string
		change      planner.Change
		dropUpdates bool
		recordErr   error
		wantOutcome string
		wantPersist bool
		wantEvents  []ev
		wantUpdates int
		wantDeletes int
		wantBound   map[syncd.Key]string
		wantResolve []string
	}{
		{
			name:        "update applied closes the drift",
			change:      update,
			wantOutcome: executor.OutcomeApplied,
			wantEvents:  []ev{{syncd.EventChangePlanned, "w1", "update", "pending"}, {syncd.EventChangeApplied, "w1", "update", "applied"}},
			wantUpdates: 1,
			wantBound:   map[syncd.Key]string{widgetKey: "w1"},
			wantResolve: []string{"Widget/w apply r1"},
		},
		{
			name:        "update the platform did not keep is a persistent failure",
			change:      update,
			dropUpdates: true,
			wantOutcome: executor.OutcomeFailed,
			wantPersist: true,
			wantEvents:  []ev{{syncd.EventChangePlanned, "w1", "update", "pending"}, {syncd.EventChangeFailed, "w1", "update", "failed"}},
			wantUpdates: 1,
			wantBound:   map[syncd.Key]string{widgetKey: "w1"},
		},
		{
			name:        "audit unavailable: nothing is written",
			change:      update,
			recordErr:   errors.New("database down, spool full"),
			wantOutcome: executor.OutcomeSkipped,
			wantBound:   map[syncd.Key]string{widgetKey: "w1"},
		},
		{
			name:        "delete unbinds",
			change:      planner.Change{Key: widgetKey, Action: planner.ActionDelete, RemoteID: "w1"},
			wantOutcome: executor.OutcomeApplied,
			wantEvents:  []ev{{syncd.EventChangePlanned, "w1", "delete", "pending"}, {syncd.EventChangeApplied, "w1", "delete", "applied"}},
			wantDeletes: 1,
			wantBound:   map[syncd.Key]string{},
		},
		{
			name:        "blocked change: no event, no write",
			change:      planner.Change{Key: widgetKey, Action: planner.ActionDelete, RemoteID: "w1", Blocked: "a manifest failed to load"},
			wantOutcome: executor.OutcomeBlocked,
			wantBound:   map[syncd.Key]string{widgetKey: "w1"},
		},
		{
			name:        "report-only change: no event, no write",
			change:      planner.Change{Key: widgetKey, Action: planner.ActionUpdate, RemoteID: "w1", Fields: title, ReportOnly: true},
			wantOutcome: executor.OutcomeSkipped,
			wantBound:   map[syncd.Key]string{widgetKey: "w1"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &widgets{objects: map[string]map[string]any{"w1": {"owner": "ann", "title": "Old"}}, dropUpdates: tc.dropUpdates}
			b := newBooks()
			b.bindings[widgetKey] = "w1"
			b.recordErr = tc.recordErr
			x := newExecutor(w, b, map[syncd.Kind]syncd.Rules{widget: widgetRules{}})
			x.Drift = b
			rep := x.Apply(context.Background(), run, &planner.Plan{Changes: []planner.Change{tc.change}}, map[syncd.Key]*syncd.Desired{widgetKey: desiredW})
			if len(rep.Results) != 1 {
				t.Fatalf("report %+v: want one result", rep)
			}
			res := rep.Results[0]
			if res.Outcome != tc.wantOutcome || res.Persistent != tc.wantPersist {
				t.Errorf("outcome %q persistent %v (err %v), want %q persistent %v", res.Outcome, res.Persistent, res.Err, tc.wantOutcome, tc.wantPersist)
			}
			var got []ev
			for _, e := range b.events {
				got = append(got, ev{e.Type, e.RemoteID, e.Action, e.Outcome})
				if e.RunID != run.ID || e.Mode != run.Mode || e.Actor != run.Actor || e.ManifestRevision != run.ManifestRevision || e.ID == "" {
					t.Errorf("event %s not stamped by run %+v: %+v", e.Type, run, e)
				}
			}
			if diff := cmp.Diff(tc.wantEvents, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if w.updates != tc.wantUpdates || w.deletes != tc.wantDeletes {
				t.Errorf("%d updates and %d deletes, want %d and %d", w.updates, w.deletes, tc.wantUpdates, tc.wantDeletes)
			}
			if diff := cmp.Diff(tc.wantBound, b.bindings); diff != "" {
				t.Errorf("bindings (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantResolve, b.resolved); diff != "" {
				t.Errorf("drift resolutions (-want +got):\n%s", diff)
			}
			if (res.DriftResolved != nil) != (len(tc.wantResolve) > 0) {
				t.Errorf("DriftResolved = %+v", res.DriftResolved)
			}
		})
	}
}
