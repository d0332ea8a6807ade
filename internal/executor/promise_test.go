package executor_test

import (
	"context"
	"errors"
	"strings"
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
