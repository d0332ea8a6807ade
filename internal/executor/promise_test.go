package executor_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/executor"
	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/syncd"
)

// faulty is a widget platform that fails the calls it is told to.
type faulty struct {
	*widgets
	updateErr, deleteErr, lookupErr, observeErr error
}

func (f *faulty) Update(ctx context.Context, id string, d *syncd.Desired, paths []string) error {
	if f.updateErr != nil {
		return f.updateErr
	}
	return f.widgets.Update(ctx, id, d, paths)
}
func (f *faulty) Delete(ctx context.Context, id string) error {
	if f.deleteErr != nil {
		return f.deleteErr
	}
	return f.widgets.Delete(ctx, id)
}
func (f *faulty) Lookup(ctx context.Context, d *syncd.Desired) ([]syncd.Live, error) {
	if f.lookupErr != nil {
		return nil, f.lookupErr
	}
	return f.widgets.Lookup(ctx, d)
}
func (f *faulty) Observe(ctx context.Context, wants []platform.Want) (platform.Snapshot, error) {
	if f.observeErr != nil {
		return platform.Snapshot{}, f.observeErr
	}
	return f.widgets.Observe(ctx, wants)
}

// shakyBooks is books whose inventory fails when told to.
type shakyBooks struct {
	*books
	bindErr, unbindErr error
}

func (b *shakyBooks) Bind(ctx context.Context, bd syncd.Binding) error {
	if b.bindErr != nil {
		return b.bindErr
	}
	return b.books.Bind(ctx, bd)
}
func (b *shakyBooks) Unbind(ctx context.Context, k syncd.Key) error {
	if b.unbindErr != nil {
		return b.unbindErr
	}
	return b.books.Unbind(ctx, k)
}

func apiErr(kind platform.ErrorKind, status int) error {
	return &platform.APIError{Platform: "widget", Op: "PUT /widgets/w1", Status: status, Kind: kind, Message: "no"}
}

var widgetRuleSet = map[syncd.Kind]syncd.Rules{widget: widgetRules{}}

// TestOnlyARefusalIsPersistent: a failed write counts towards "stuck" only
// when the platform refused it (invalid, forbidden, conflict); an outage,
// a rate limit or an unclassified error would not fail the same way again.
func TestOnlyARefusalIsPersistent(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"invalid", apiErr(platform.KindInvalid, 422), true},
		{"forbidden", apiErr(platform.KindForbidden, 403), true},
		{"conflict", apiErr(platform.KindConflict, 409), true},
		{"server error", apiErr(platform.KindTransient, 500), false},
		{"rate limited", apiErr(platform.KindRateLimited, 429), false},
		{"unauthorized", apiErr(platform.KindUnauthorized, 401), false},
		{"unclassified", errors.New("connection reset"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &faulty{widgets: &widgets{objects: map[string]map[string]any{"w1": {"owner": "ann", "title": "Old"}}}, updateErr: tc.err}
			b := newBooks()
			b.bindings[widgetKey] = "w1"
			x := newExecutor(w.widgets, b, widgetRuleSet)
			x.Providers[widget] = w
			d := &syncd.Desired{Key: widgetKey, Spec: map[string]any{"owner": "ann", "title": "New"}}
			rep := x.Apply(context.Background(), syncd.Run{ID: "r1", Mode: syncd.ModeApply},
				&planner.Plan{Changes: []planner.Change{{Key: widgetKey, Action: planner.ActionUpdate, RemoteID: "w1",
					Fields: []syncd.FieldChange{{Path: "/title", Before: "Old", After: "New"}}}}},
				map[syncd.Key]*syncd.Desired{widgetKey: d})
			if rep.Failed != 1 || rep.Results[0].Outcome != executor.OutcomeFailed {
				t.Fatalf("report %+v, want one failure", rep)
			}
			if got := rep.Results[0].Persistent; got != tc.want {
				t.Errorf("persistent = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestRecoverResolvesOnlyWhatItCanProve: a pending intent is bound only
// when exactly one object other than the one it replaced has its natural
// key; an ambiguous or failed look-up leaves the intent pending with an
// error naming it, and a natural key stored hashed is looked up with the
// manifest's clear key only while the manifest still has that key.
func TestRecoverResolvesOnlyWhatItCanProve(t *testing.T) {
	secretTitle := &syncd.Desired{Key: widgetKey, Spec: map[string]any{"owner": "ann", "title": "Secret"}, Sensitive: []string{"/title"}}
	h := syncd.NewHasher([]byte("seam-test"))
	hashedKey := secretTitle.SafeNaturalKey(h, widgetRules{})
	if !syncd.NaturalKeyHashed(hashedKey) {
		t.Fatalf("natural key %q is not hashed", hashedKey)
	}
	for _, tc := range []struct {
		name      string
		intent    syncd.Intent
		objects   map[string]map[string]any
		desired   map[syncd.Key]*syncd.Desired
		lookupErr error
		bindErr   error
		noJournal bool

		wantBound   map[syncd.Key]string
		wantState   string // "" for still pending
		wantErr     string
		wantLookups int
		wantRows    int // change_applied "recovered" rows
	}{
		{
			name:        "one match: bound and recorded",
			intent:      syncd.Intent{ID: 1, Key: widgetKey, NaturalKey: "ann:Main", Action: "create"},
			objects:     map[string]map[string]any{"w7": {"owner": "ann", "title": "Main"}},
			wantBound:   map[syncd.Key]string{widgetKey: "w7"},
			wantState:   syncd.IntentSucceeded,
			wantLookups: 1,
			wantRows:    1,
		},
		{
			name:        "a replace: the object it replaced is not the new one",
			intent:      syncd.Intent{ID: 1, Key: widgetKey, NaturalKey: "ann:Main", Action: "replace", RemoteID: "w1"},
			objects:     map[string]map[string]any{"w1": {"owner": "ann", "title": "Main"}, "w7": {"owner": "ann", "title": "Main"}},
			wantBound:   map[syncd.Key]string{widgetKey: "w7"},
			wantState:   syncd.IntentSucceeded,
			wantLookups: 1,
			wantRows:    1,
		},
		{
			name:        "a replace whose create did not happen",
			intent:      syncd.Intent{ID: 1, Key: widgetKey, NaturalKey: "ann:Main", Action: "replace", RemoteID: "w1"},
			objects:     map[string]map[string]any{"w1": {"owner": "ann", "title": "Main"}},
			wantBound:   map[syncd.Key]string{},
			wantState:   syncd.IntentFailed,
			wantLookups: 1,
		},
		{
			name:        "two matches: pending, resolve by hand",
			intent:      syncd.Intent{ID: 1, Key: widgetKey, NaturalKey: "ann:Main", Action: "create"},
			objects:     map[string]map[string]any{"w7": {"owner": "ann", "title": "Main"}, "w8": {"owner": "ann", "title": "Main"}},
			wantBound:   map[syncd.Key]string{},
			wantErr:     `natural key "ann:Main" matches 2 objects (`,
			wantLookups: 1,
		},
		{
			name:        "look-up fails: pending",
			intent:      syncd.Intent{ID: 1, Key: widgetKey, NaturalKey: "ann:Main", Action: "create"},
			objects:     map[string]map[string]any{"w7": {"owner": "ann", "title": "Main"}},
			lookupErr:   apiErr(platform.KindTransient, 503),
			wantBound:   map[syncd.Key]string{},
			wantErr:     `intent 1 for Widget/w: look up "ann:Main"`,
			wantLookups: 0,
		},
		{
			name:      "binding fails: pending, nothing recorded",
			intent:    syncd.Intent{ID: 1, Key: widgetKey, NaturalKey: "ann:Main", Action: "create"},
			objects:   map[string]map[string]any{"w7": {"owner": "ann", "title": "Main"}},
			bindErr:   errors.New("database down"),
			wantBound: map[syncd.Key]string{},
			wantErr:   "database down", wantLookups: 1,
		},
		{
			name:        "hashed key, same manifest: looked up in clear",
			intent:      syncd.Intent{ID: 1, Key: widgetKey, NaturalKey: hashedKey, Action: "create"},
			objects:     map[string]map[string]any{"w7": {"owner": "ann", "title": "Secret"}},
			desired:     map[syncd.Key]*syncd.Desired{widgetKey: secretTitle},
			wantBound:   map[syncd.Key]string{widgetKey: "w7"},
			wantState:   syncd.IntentSucceeded,
			wantLookups: 1,
			wantRows:    1,
		},
		{
			name:      "hashed key, manifest gone: pending, no look-up",
			intent:    syncd.Intent{ID: 1, Key: widgetKey, NaturalKey: hashedKey, Action: "create"},
			objects:   map[string]map[string]any{"w7": {"owner": "ann", "title": "Secret"}},
			wantBound: map[syncd.Key]string{},
			wantErr:   "stored hashed; the manifest no longer has it",
		},
		{
			name:    "hashed key, manifest's key changed: pending, no look-up",
			intent:  syncd.Intent{ID: 1, Key: widgetKey, NaturalKey: hashedKey, Action: "create"},
			objects: map[string]map[string]any{"w7": {"owner": "ann", "title": "Secret"}},
			desired: map[syncd.Key]*syncd.Desired{widgetKey: {Key: widgetKey,
				Spec: map[string]any{"owner": "ann", "title": "Other"}, Sensitive: []string{"/title"}}},
			wantBound: map[syncd.Key]string{},
			wantErr:   "stored hashed; the manifest no longer has it",
		},
		{
			name:      "no journal: nothing to recover",
			intent:    syncd.Intent{ID: 1, Key: widgetKey, NaturalKey: "ann:Main", Action: "create"},
			objects:   map[string]map[string]any{"w7": {"owner": "ann", "title": "Main"}},
			noJournal: true,
			wantBound: map[syncd.Key]string{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &faulty{widgets: &widgets{objects: tc.objects}, lookupErr: tc.lookupErr}
			b := &shakyBooks{books: newBooks(), bindErr: tc.bindErr}
			b.pending = []syncd.Intent{tc.intent}
			x := &executor.Executor{Providers: map[syncd.Kind]platform.Provider{widget: w}, Rules: widgetRuleSet,
				Recorder: b, Inventory: b, Journal: b, Hasher: h}
			if tc.noJournal {
				x.Journal = nil
			}
			err := x.RecoverFor(context.Background(), syncd.Run{ID: "r1", Mode: syncd.ModeApply}, tc.desired)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("RecoverFor: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("RecoverFor error %v, want one with %q", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.wantBound, b.bindings); diff != "" {
				t.Errorf("bindings (-want +got):\n%s", diff)
			}
			if got := b.finished[tc.intent.ID]; got != tc.wantState {
				t.Errorf("intent state %q, want %q", got, tc.wantState)
			}
			if got := len(w.lookedUp); got != tc.wantLookups {
				t.Errorf("%d look-ups, want %d", got, tc.wantLookups)
			}
			if tc.wantLookups == 1 && tc.lookupErr == nil {
				want := map[string]any{"owner": "ann", "title": "Main"}
				if tc.desired != nil {
					want["title"] = "Secret"
				}
				if diff := cmp.Diff(want, w.lookedUp[0]); diff != "" {
					t.Errorf("looked up (-want +got):\n%s", diff)
				}
			}
			rows := 0
			for _, e := range b.events {
				if e.Type == syncd.EventChangeApplied && e.Kind == widget && e.Name == widgetKey.Name && strings.Contains(e.Error, "recovered") {
					rows++
				}
			}
			if rows != tc.wantRows {
				t.Errorf("%d recovered rows, want %d", rows, tc.wantRows)
			}
		})
	}
}

// TestApplyOutcomeOfEachChange: what one change comes to, and what of it
// reaches the platform, the audit and the inventory: nothing is written
// for a change in error, without its manifest or when the run was
// cancelled; a write whose inventory update failed is still applied (with
// a note); a delete of an object already gone is applied; a read-back that
// fails or finds the object gone is a failure, persistent only when the
// object is known not to have kept the write.
func TestApplyOutcomeOfEachChange(t *testing.T) {
	title := []syncd.FieldChange{{Path: "/title", Before: "Old", After: "New"}}
	update := planner.Change{Key: widgetKey, Action: planner.ActionUpdate, RemoteID: "w1", Fields: title}
	del := planner.Change{Key: widgetKey, Action: planner.ActionDelete, RemoteID: "w1"}
	oldKey := syncd.Key{Kind: widget, Name: "old"}
	for _, tc := range []struct {
		name       string
		change     planner.Change
		noManifest bool
		cancelled  bool
		noProvider bool
		identical  bool // the live object already matches the manifest
		platform   faulty
		bindErr    error
		unbindErr  error

		wantOutcome string
		wantPersist bool
		wantErr     string
		wantEvents  []string // type/outcome/error substring
		wantWrites  int      // updates + deletes sent
		wantBound   map[syncd.Key]string
	}{
		{
			name:        "a change in error is skipped",
			change:      planner.Change{Key: widgetKey, Action: planner.ActionUpdate, RemoteID: "w1", Error: "live state unreadable"},
			wantOutcome: executor.OutcomeSkipped, wantErr: "live state unreadable",
			wantBound: map[syncd.Key]string{widgetKey: "w1", oldKey: "w0"},
		},
		{
			name:        "a blocked change is counted blocked and not written",
			change:      planner.Change{Key: widgetKey, Action: planner.ActionDelete, RemoteID: "w1", Blocked: "a manifest failed to load"},
			wantOutcome: executor.OutcomeBlocked, wantErr: "a manifest failed to load",
			wantBound: map[syncd.Key]string{widgetKey: "w1", oldKey: "w0"},
		},
		{
			name:        "adopting an identical object sends no write",
			change:      planner.Change{Key: widgetKey, Action: planner.ActionAdopt, RemoteID: "w1"},
			identical:   true,
			wantOutcome: executor.OutcomeApplied,
			wantEvents:  []string{"change_planned/pending/", "change_applied/applied/"},
			wantBound:   map[syncd.Key]string{widgetKey: "w1", oldKey: "w0"},
		},
		{
			name:        "a cancelled run writes nothing",
			change:      update,
			cancelled:   true,
			wantOutcome: executor.OutcomeSkipped, wantErr: "context canceled",
			wantBound: map[syncd.Key]string{widgetKey: "w1", oldKey: "w0"},
		},
		{
			name:        "an update without its manifest fails unwritten",
			change:      update,
			noManifest:  true,
			wantOutcome: executor.OutcomeFailed, wantErr: "manifest not loaded",
			wantBound: map[syncd.Key]string{widgetKey: "w1", oldKey: "w0"},
		},
		{
			name:        "no platform for the kind",
			change:      update,
			noProvider:  true,
			wantOutcome: executor.OutcomeFailed, wantErr: "no platform configured for Widget",
			wantBound: map[syncd.Key]string{widgetKey: "w1", oldKey: "w0"},
		},
		{
			name:        "a refused update fails and is recorded",
			change:      update,
			platform:    faulty{updateErr: apiErr(platform.KindInvalid, 422)},
			wantOutcome: executor.OutcomeFailed, wantPersist: true, wantErr: "invalid",
			wantEvents: []string{"change_planned/pending/", "change_failed/failed/invalid"},
			wantBound:  map[syncd.Key]string{widgetKey: "w1", oldKey: "w0"},
		},
		{
			name:        "an update whose binding failed is applied with a note",
			change:      update,
			bindErr:     errors.New("database down"),
			wantOutcome: executor.OutcomeApplied,
			wantEvents:  []string{"change_planned/pending/", "change_applied/applied/applied; inventory not updated: database down"},
			wantWrites:  1,
			wantBound:   map[syncd.Key]string{widgetKey: "w1", oldKey: "w0"},
		},
		{
			name: "a renamed manifest takes over: the old name is unbound",
			change: planner.Change{Key: widgetKey, Action: planner.ActionAdopt, RemoteID: "w1", Fields: title,
				Supersedes: oldKey},
			wantOutcome: executor.OutcomeApplied,
			wantEvents:  []string{"change_planned/pending/", "change_applied/applied/"},
			wantWrites:  1,
			wantBound:   map[syncd.Key]string{widgetKey: "w1"},
		},
		{
			name: "the old name cannot be unbound: applied with a note",
			change: planner.Change{Key: widgetKey, Action: planner.ActionAdopt, RemoteID: "w1", Fields: title,
				Supersedes: oldKey},
			unbindErr:   errors.New("database down"),
			wantOutcome: executor.OutcomeApplied,
			wantEvents:  []string{"change_planned/pending/", "change_applied/applied/applied; inventory not updated: database down"},
			wantWrites:  1,
			wantBound:   map[syncd.Key]string{widgetKey: "w1", oldKey: "w0"},
		},
		{
			name:        "a delete of an object already gone is applied",
			change:      del,
			platform:    faulty{deleteErr: apiErr(platform.KindNotFound, 404)},
			wantOutcome: executor.OutcomeApplied,
			wantEvents:  []string{"change_planned/pending/", "change_applied/applied/"},
			wantBound:   map[syncd.Key]string{oldKey: "w0"},
		},
		{
			name:        "a delete that failed keeps the binding",
			change:      del,
			platform:    faulty{deleteErr: apiErr(platform.KindTransient, 503)},
			wantOutcome: executor.OutcomeFailed, wantErr: "HTTP 503",
			wantEvents: []string{"change_planned/pending/", "change_failed/failed/HTTP 503"},
			wantBound:  map[syncd.Key]string{widgetKey: "w1", oldKey: "w0"},
		},
		{
			name:        "a delete whose unbinding failed is applied with a note",
			change:      del,
			unbindErr:   errors.New("database down"),
			wantOutcome: executor.OutcomeApplied,
			wantEvents:  []string{"change_planned/pending/", "change_applied/applied/applied; inventory not updated: database down"},
			wantWrites:  1,
			wantBound:   map[syncd.Key]string{widgetKey: "w1", oldKey: "w0"},
		},
		{
			name:        "the read-back fails: not known to have taken effect, not persistent",
			change:      update,
			platform:    faulty{observeErr: apiErr(platform.KindTransient, 502)},
			wantOutcome: executor.OutcomeFailed, wantErr: "reading it back failed",
			wantEvents: []string{"change_planned/pending/", "change_failed/failed/reading it back failed"},
			wantWrites: 1,
			wantBound:  map[syncd.Key]string{widgetKey: "w1", oldKey: "w0"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.platform
			p.widgets = &widgets{objects: map[string]map[string]any{"w1": {"owner": "ann", "title": "Old"}}}
			if tc.identical {
				p.objects["w1"]["title"] = "New"
			}
			b := &shakyBooks{books: newBooks(), bindErr: tc.bindErr, unbindErr: tc.unbindErr}
			b.bindings[widgetKey] = "w1"
			b.bindings[oldKey] = "w0"
			x := &executor.Executor{Providers: map[syncd.Kind]platform.Provider{widget: &p}, Rules: widgetRuleSet,
				Recorder: b, Inventory: b, Journal: b, Hasher: syncd.NewHasher([]byte("seam-test"))}
			if tc.noProvider {
				x.Providers = map[syncd.Kind]platform.Provider{}
			}
			desired := map[syncd.Key]*syncd.Desired{widgetKey: {Key: widgetKey, Spec: map[string]any{"owner": "ann", "title": "New"}}}
			if tc.noManifest {
				desired = nil
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancelled {
				cancel()
			}
			rep := x.Apply(ctx, syncd.Run{ID: "r1", Mode: syncd.ModeApply}, &planner.Plan{Changes: []planner.Change{tc.change}}, desired)
			if len(rep.Results) != 1 {
				t.Fatalf("report %+v, want one result", rep)
			}
			res := rep.Results[0]
			if res.Outcome != tc.wantOutcome || res.Persistent != tc.wantPersist {
				t.Errorf("outcome %q persistent %v (%v), want %q persistent %v", res.Outcome, res.Persistent, res.Err, tc.wantOutcome, tc.wantPersist)
			}
			if tc.wantErr == "" && res.Err != nil || tc.wantErr != "" && (res.Err == nil || !strings.Contains(res.Err.Error(), tc.wantErr)) {
				t.Errorf("result error %v, want %q", res.Err, tc.wantErr)
			}
			var events []string
			for _, e := range b.events {
				events = append(events, string(e.Type)+"/"+e.Outcome+"/"+e.Error)
			}
			if len(events) != len(tc.wantEvents) {
				t.Errorf("events %q, want %q", events, tc.wantEvents)
			} else {
				for i, want := range tc.wantEvents {
					parts := strings.SplitN(want, "/", 3)
					prefix := parts[0] + "/" + parts[1] + "/"
					if !strings.HasPrefix(events[i], prefix) || !strings.Contains(strings.TrimPrefix(events[i], prefix), parts[2]) {
						t.Errorf("event %d = %q, want %q", i, events[i], want)
					}
				}
			}
			if got := p.updates + p.deletes; got != tc.wantWrites {
				t.Errorf("%d writes kept by the platform, want %d", got, tc.wantWrites)
			}
			if diff := cmp.Diff(tc.wantBound, b.bindings); diff != "" {
				t.Errorf("bindings (-want +got):\n%s", diff)
			}
			if got, want := rep.OK(), tc.wantOutcome != executor.OutcomeFailed; got != want {
				t.Errorf("report OK = %v, want %v", got, want)
			}
			counts := map[string]int{executor.OutcomeApplied: rep.Applied, executor.OutcomeFailed: rep.Failed,
				executor.OutcomeSkipped: rep.Skipped, executor.OutcomeBlocked: rep.Blocked}
			for outcome, n := range counts {
				if want := map[bool]int{true: 1}[outcome == tc.wantOutcome]; n != want {
					t.Errorf("report counts %d %s, want %d", n, outcome, want)
				}
			}
		})
	}
}

// readable is a widget platform that reads one object back by id (as
// Patchworks does) and can probe an object's credentials.
type readable struct {
	*widgets
	readErr error
	lose    bool // the object is gone when read back
	testErr error
	tested  []string
}

func (r *readable) Read(_ context.Context, _ *syncd.Desired, id string) (syncd.Live, bool, error) {
	if r.readErr != nil {
		return syncd.Live{}, false, r.readErr
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	spec, ok := r.objects[id]
	if !ok || r.lose {
		return syncd.Live{}, false, nil
	}
	return syncd.Live{Kind: widget, RemoteID: id, Spec: spec}, true, nil
}

func (r *readable) Test(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tested = append(r.tested, id)
	return r.testErr
}

// TestWriteIsAppliedOnlyOnceSeen: with a platform that reads one object
// back, an update is applied only when the read-back shows it; an object
// gone when read back is a persistent failure, a failed read an unknown
// one. After an applied write, a connector is probed only when asked, and
// a failed probe is recorded as such.
func TestWriteIsAppliedOnlyOnceSeen(t *testing.T) {
	for _, tc := range []struct {
		name        string
		p           readable
		probe       bool
		wantOutcome string
		wantPersist bool
		wantErr     string
		wantTested  []string
		wantProbe   string // outcome of connector_tested, "" for none
	}{
		{name: "seen", wantOutcome: executor.OutcomeApplied},
		{name: "seen and probed", probe: true, wantOutcome: executor.OutcomeApplied, wantTested: []string{"w1"}, wantProbe: "ok"},
		{name: "seen, probe fails", probe: true, p: readable{testErr: errors.New("credentials rejected")},
			wantOutcome: executor.OutcomeApplied, wantTested: []string{"w1"}, wantProbe: executor.OutcomeFailed},
		{name: "not kept", p: readable{widgets: &widgets{dropUpdates: true}}, wantOutcome: executor.OutcomeFailed, wantPersist: true,
			wantErr: "the platform accepted the write but did not keep /title"},
		{name: "gone when read back", p: readable{lose: true}, wantOutcome: executor.OutcomeFailed, wantPersist: true,
			wantErr: "w1 is not there when read back"},
		{name: "read back fails", p: readable{readErr: apiErr(platform.KindTransient, 500)}, wantOutcome: executor.OutcomeFailed,
			wantErr: "reading it back failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			p.widgets = &widgets{objects: map[string]map[string]any{"w1": {"owner": "ann", "title": "Old"}}, dropUpdates: tc.p.widgets != nil && tc.p.dropUpdates}
			b := newBooks()
			b.bindings[widgetKey] = "w1"
			x := &executor.Executor{Providers: map[syncd.Kind]platform.Provider{widget: &p}, Rules: widgetRuleSet,
				Recorder: b, Inventory: b, Journal: b, Hasher: syncd.NewHasher([]byte("seam-test")), TestConnectors: tc.probe}
			a := &alarmed{}
			x.Logger = slog.New(a)
			defer func() {
				if len(a.errors) != 0 {
					t.Errorf("logged errors %q with a working audit", a.errors)
				}
			}()
			var done []string
			var mu sync.Mutex
			x.Done = func(r executor.Result) {
				mu.Lock()
				defer mu.Unlock()
				done = append(done, r.Key.String()+" "+r.Outcome)
			}
			plan := &planner.Plan{Changes: []planner.Change{
				{Key: widgetKey, Action: planner.ActionUpdate, RemoteID: "w1", Fields: []syncd.FieldChange{{Path: "/title", Before: "Old", After: "New"}}},
				{Key: syncd.Key{Kind: widget, Name: "same"}, Action: planner.ActionNoop, RemoteID: "w2"},
			}}
			rep := x.Apply(context.Background(), syncd.Run{ID: "r1", Mode: syncd.ModeApply}, plan,
				map[syncd.Key]*syncd.Desired{widgetKey: {Key: widgetKey, Spec: map[string]any{"owner": "ann", "title": "New"}}})
			if len(rep.Results) != 1 {
				t.Fatalf("report %+v: want the update only (a noop is no result)", rep)
			}
			res := rep.Results[0]
			if res.Outcome != tc.wantOutcome || res.Persistent != tc.wantPersist {
				t.Errorf("outcome %q persistent %v (%v), want %q persistent %v", res.Outcome, res.Persistent, res.Err, tc.wantOutcome, tc.wantPersist)
			}
			if tc.wantErr == "" && res.Err != nil || tc.wantErr != "" && (res.Err == nil || !strings.Contains(res.Err.Error(), tc.wantErr)) {
				t.Errorf("result error %v, want %q", res.Err, tc.wantErr)
			}
			if diff := cmp.Diff([]string{widgetKey.String() + " " + tc.wantOutcome}, done); diff != "" {
				t.Errorf("progress callbacks (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantTested, p.tested); diff != "" {
				t.Errorf("probes (-want +got):\n%s", diff)
			}
			probe := ""
			for _, e := range b.events {
				if e.Type == syncd.EventConnectorTested {
					probe = e.Outcome
				}
			}
			if probe != tc.wantProbe {
				t.Errorf("connector_tested outcome %q, want %q", probe, tc.wantProbe)
			}
		})
	}
}

// TestApplyRunsEveryChangeWithAnyConcurrency: every change of a plan is
// carried out whatever the concurrency setting (0 is the default).
func TestApplyRunsEveryChangeWithAnyConcurrency(t *testing.T) {
	for _, n := range []int{-1, 0, 1, 3} {
		w := &widgets{objects: map[string]map[string]any{}}
		b := newBooks()
		x := newExecutor(w, b, widgetRuleSet)
		x.Concurrency = n
		plan := &planner.Plan{}
		desired := map[syncd.Key]*syncd.Desired{}
		for _, title := range []string{"a", "b", "c", "d", "e", "f"} {
			k := syncd.Key{Kind: widget, Name: title}
			plan.Changes = append(plan.Changes, planner.Change{Key: k, Action: planner.ActionCreate})
			desired[k] = &syncd.Desired{Key: k, Spec: map[string]any{"owner": "ann", "title": title}}
		}
		rep := x.Apply(context.Background(), syncd.Run{ID: "r1", Mode: syncd.ModeApply}, plan, desired)
		if rep.Applied != 6 || w.creates != 6 {
			t.Errorf("concurrency %d: %d applied, %d creates, want 6", n, rep.Applied, w.creates)
		}
	}
}

// alarmed collects the records an executor logs at error level.
type alarmed struct {
	mu     sync.Mutex
	errors []string
}

func (a *alarmed) Enabled(context.Context, slog.Level) bool { return true }
func (a *alarmed) Handle(_ context.Context, r slog.Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.Level >= slog.LevelError {
		a.errors = append(a.errors, r.Message)
	}
	return nil
}
func (a *alarmed) WithAttrs([]slog.Attr) slog.Handler { return a }
func (a *alarmed) WithGroup(string) slog.Handler      { return a }

// TestWorkingAuditRaisesNoError: "audit write failed" and "resolve drift"
// errors are for a store that failed; with one that works, applying,
// failing or not keeping a write logs no error.
func TestWorkingAuditRaisesNoError(t *testing.T) {
	for _, tc := range []struct {
		name        string
		updateErr   error
		dropUpdates bool
		want        string
	}{
		{name: "applied", want: executor.OutcomeApplied},
		{name: "refused", updateErr: apiErr(platform.KindInvalid, 422), want: executor.OutcomeFailed},
		{name: "not kept", dropUpdates: true, want: executor.OutcomeFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &faulty{widgets: &widgets{objects: map[string]map[string]any{"w1": {"owner": "ann", "title": "Old"}}, dropUpdates: tc.dropUpdates},
				updateErr: tc.updateErr}
			b := newBooks()
			b.bindings[widgetKey] = "w1"
			a := &alarmed{}
			x := &executor.Executor{Providers: map[syncd.Kind]platform.Provider{widget: w}, Rules: widgetRuleSet,
				Recorder: b, Inventory: b, Journal: b, Drift: b, Hasher: syncd.NewHasher([]byte("seam-test")), Logger: slog.New(a)}
			rep := x.Apply(context.Background(), syncd.Run{ID: "r1", Mode: syncd.ModeApply},
				&planner.Plan{Changes: []planner.Change{{Key: widgetKey, Action: planner.ActionUpdate, RemoteID: "w1",
					Fields: []syncd.FieldChange{{Path: "/title", Before: "Old", After: "New"}}}}},
				map[syncd.Key]*syncd.Desired{widgetKey: {Key: widgetKey, Spec: map[string]any{"owner": "ann", "title": "New"}}})
			if len(rep.Results) != 1 || rep.Results[0].Outcome != tc.want {
				t.Fatalf("report %+v, want %s", rep, tc.want)
			}
			if len(a.errors) != 0 {
				t.Errorf("logged errors %q with a working audit", a.errors)
			}
		})
	}
}

// TestCreateSettlesItsIntent: the journalled intent of a create is settled
// by what the platform said: succeeded once the object exists and is
// bound, failed when the platform refused it, and left pending when the
// create may have happened (an ambiguous failure), for recovery to settle.
func TestCreateSettlesItsIntent(t *testing.T) {
	for _, tc := range []struct {
		name      string
		createErr error
		wantState string // "" for still pending
		wantBound map[syncd.Key]string
	}{
		{name: "created", wantState: syncd.IntentSucceeded, wantBound: map[syncd.Key]string{widgetKey: "w1"}},
		{name: "refused", createErr: apiErr(platform.KindInvalid, 422), wantState: syncd.IntentFailed, wantBound: map[syncd.Key]string{}},
		{name: "ambiguous", createErr: &platform.APIError{Platform: "widget", Op: "POST /widgets", Kind: platform.KindTransient, Ambiguous: true},
			wantBound: map[syncd.Key]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &widgets{objects: map[string]map[string]any{}, createErr: tc.createErr}
			b := newBooks()
			x := newExecutor(w, b, widgetRuleSet)
			x.Apply(context.Background(), syncd.Run{ID: "r1", Mode: syncd.ModeApply},
				&planner.Plan{Changes: []planner.Change{{Key: widgetKey, Action: planner.ActionCreate}}},
				map[syncd.Key]*syncd.Desired{widgetKey: {Key: widgetKey, Spec: map[string]any{"owner": "ann", "title": "Main"}}})
			if len(b.intents) != 1 {
				t.Fatalf("%d intents journalled, want 1", len(b.intents))
			}
			if got := b.finished[1]; got != tc.wantState {
				t.Errorf("intent state %q, want %q", got, tc.wantState)
			}
			if diff := cmp.Diff(tc.wantBound, b.bindings); diff != "" {
				t.Errorf("bindings (-want +got):\n%s", diff)
			}
		})
	}
}
