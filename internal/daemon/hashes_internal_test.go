package daemon

import (
	"testing"

	"github.com/google/go-cmp/cmp"

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
