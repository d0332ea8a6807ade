package daemon

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/syncd/syncd/internal/desired"
	"github.com/syncd/syncd/internal/engine"
	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/reconcile"
	"github.com/syncd/syncd/internal/syncd"
)

func res(name, label string) *syncd.Desired {
	return &syncd.Desired{Key: syncd.Key{Kind: syncd.MakeConnection, Name: name}, Spec: map[string]any{"label": label}}
}

// The scope of a watch-triggered run is every resource whose hash changed
// or that is new; a resource gone asks for a full plan.
func TestChangedSince(t *testing.T) {
	h := syncd.NewHasher([]byte("k"))
	hashedOf := func(rs ...*syncd.Desired) hashed {
		out := hashed{res: rs, hash: make([]string, len(rs))}
		for i, r := range rs {
			out.hash[i] = planner.DesiredHash(h, r)
		}
		return out
	}
	key := func(n string) syncd.Key { return syncd.Key{Kind: syncd.MakeConnection, Name: n} }
	a, b, c := res("a", "A"), res("b", "B"), res("c", "C")
	tests := []struct {
		name        string
		good, cur   hashed
		wantChanged []syncd.Key
		wantRemoved bool
	}{
		{"nothing changed", hashedOf(a, b, c), hashedOf(a, b, c), []syncd.Key{}, false},
		{"the same spec decoded again", hashedOf(a, b, c), hashedOf(a, res("b", "B"), c), []syncd.Key{}, false},
		{"one edited", hashedOf(a, b, c), hashedOf(a, res("b", "B2"), c), []syncd.Key{key("b")}, false},
		{"first and last edited", hashedOf(a, b, c), hashedOf(res("a", "A2"), b, res("c", "C2")), []syncd.Key{key("a"), key("c")}, false},
		{"one added in the middle", hashedOf(a, c), hashedOf(a, b, c), []syncd.Key{key("b")}, false},
		{"one added at the end", hashedOf(a, b), hashedOf(a, b, c), []syncd.Key{key("c")}, false},
		{"from nothing", hashedOf(), hashedOf(a), []syncd.Key{key("a")}, false},
		{"one removed", hashedOf(a, b, c), hashedOf(a, c), []syncd.Key{}, true},
		{"the last removed", hashedOf(a, b, c), hashedOf(a, b), []syncd.Key{}, true},
		{"one renamed", hashedOf(a, b), hashedOf(a, res("b2", "B")), []syncd.Key{key("b2")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changed, removed := changedSince(tt.good, tt.cur)
			if diff := cmp.Diff(tt.wantChanged, changed); diff != "" {
				t.Errorf("changed (-want +got):\n%s", diff)
			}
			if removed != tt.wantRemoved {
				t.Errorf("removed = %v, want %v", removed, tt.wantRemoved)
			}
		})
	}
}

// desiredHashes hashes a resource again only when it is not the very one
// hashed last time, and gives every resource its own hash.
func TestDesiredHashesReuseUnchangedResources(t *testing.T) {
	h := syncd.NewHasher([]byte("k"))
	d := &Daemon{opts: Options{Runner: &reconcile.Runner{Engine: &engine.Engine{Hasher: h}}}}
	a, b, c := res("a", "A"), res("b", "B"), res("c", "C")
	want := func(rs ...*syncd.Desired) []string {
		var out []string
		for _, r := range rs {
			out = append(out, planner.DesiredHash(h, r))
		}
		return out
	}
	first := d.desiredHashes(&desired.Set{Resources: []*syncd.Desired{a, b, c}})
	if diff := cmp.Diff(want(a, b, c), first.hash); diff != "" {
		t.Fatalf("first hashes (-want +got):\n%s", diff)
	}
	// A planted hash shows which ones were reused rather than computed.
	d.lastHashed.hash[0] = "reused"
	b2 := res("b", "B2")
	d2 := res("d", "D")
	next := d.desiredHashes(&desired.Set{Resources: []*syncd.Desired{a, b2, c, d2}})
	if diff := cmp.Diff(append([]string{"reused"}, want(b2, c, d2)...), next.hash); diff != "" {
		t.Errorf("hashes after an edit (-want +got):\n%s", diff)
	}
	// a is gone: b2 must not inherit its hash by position.
	d.lastHashed.hash[1] = "reused"
	last := d.desiredHashes(&desired.Set{Resources: []*syncd.Desired{b2, c}})
	if diff := cmp.Diff([]string{"reused", want(c)[0]}, last.hash); diff != "" {
		t.Errorf("hashes after a removal (-want +got):\n%s", diff)
	}
}

// The console's plan after a scoped run: the run's changes, and for every
// other resource still declared what the previous plan said of it.
func TestMergePlans(t *testing.T) {
	ch := func(name, action string) planner.Change {
		return planner.Change{Key: syncd.Key{Kind: syncd.MakeConnection, Name: name}, Action: planner.Action(action)}
	}
	used := func(names ...string) *desired.Set {
		s := &desired.Set{}
		for _, n := range names {
			s.Resources = append(s.Resources, res(n, n))
		}
		return s
	}
	plan := func(cs ...planner.Change) *planner.Plan { return &planner.Plan{Changes: cs} }
	tests := []struct {
		name      string
		prev, cur *planner.Plan
		used      *desired.Set
		want      []planner.Change
	}{
		{"no previous plan", nil, plan(ch("b", "update")), used("a", "b"), []planner.Change{ch("b", "update")}},
		{"no run plan", plan(ch("a", "noop")), nil, used("a"), []planner.Change{ch("a", "noop")}},
		{"one resource planned again", plan(ch("a", "noop"), ch("b", "noop"), ch("c", "noop")), plan(ch("b", "update")), used("a", "b", "c"),
			[]planner.Change{ch("a", "noop"), ch("b", "update"), ch("c", "noop")}},
		{"first and last planned again", plan(ch("a", "noop"), ch("b", "noop"), ch("c", "noop")), plan(ch("a", "update"), ch("c", "update")), used("a", "b", "c"),
			[]planner.Change{ch("a", "update"), ch("b", "noop"), ch("c", "update")}},
		{"a new resource", plan(ch("a", "noop"), ch("c", "noop")), plan(ch("b", "create")), used("a", "b", "c"),
			[]planner.Change{ch("a", "noop"), ch("b", "create"), ch("c", "noop")}},
		{"one no longer declared", plan(ch("a", "noop"), ch("b", "noop"), ch("c", "noop")), plan(ch("c", "update")), used("a", "c"),
			[]planner.Change{ch("a", "noop"), ch("c", "update")}},
		{"a run plan out of order", plan(ch("a", "noop"), ch("d", "noop")), plan(ch("c", "update"), ch("b", "update")), used("a", "b", "c", "d"),
			[]planner.Change{ch("a", "noop"), ch("b", "update"), ch("c", "update"), ch("d", "noop")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mergePlans(tt.prev, tt.cur, tt.used)
			if diff := cmp.Diff(tt.want, got.Changes, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
		})
	}
}
