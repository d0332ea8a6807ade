package planner

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/syncd"
)

// TestMatchingPromises: which live object a manifest gets, and which
// inventory rows are pruned, in the corners the matching table leaves.
func TestMatchingPromises(t *testing.T) {
	pw := func(name string) syncd.Key { return syncd.Key{Kind: syncd.PatchworksConnector, Name: name} }
	for _, tc := range []struct {
		name string
		in   Input
		want []outcome
	}{
		{
			name: "bound object deleted outside syncd and named as externalId is recreated, not an error",
			in: Input{Rules: testRules, Desired: []*syncd.Desired{pwDesired("a", "A", "9")},
				Bindings: bindings("a", "9"), Gone: map[syncd.Kind][]string{syncd.PatchworksConnector: {"9"}}},
			want: []outcome{{Name: "a", Action: ActionCreate}},
		},
		{
			name: "an object a manifest names as externalId is not pruned (with prune) while that manifest cannot be planned",
			in: Input{Rules: testRules, Desired: []*syncd.Desired{pwDesired("b", "B", "1")},
				Live: []syncd.Live{pwLive("1", "A")}, Bindings: bindings("old", "1"),
				Unreadable: map[syncd.Key]string{pw("b"): "app missing"}, Prune: true},
			want: []outcome{{Name: "b", Action: ActionNoop, Error: "app missing"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Hasher = testHasher
			if diff := cmp.Diff(tc.want, outcomes(Build(tc.in))); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRenameSupersedesTheOldKey: a manifest that takes over, by natural
// key, the object of an inventory row whose manifest is gone says whose it
// was, so that the apply moves the binding instead of keeping two.
func TestRenameSupersedesTheOldKey(t *testing.T) {
	p := Build(Input{Rules: testRules, Hasher: testHasher, Desired: []*syncd.Desired{pwDesired("new-name", "A", "")},
		Live: []syncd.Live{pwLive("1", "A")}, Bindings: bindings("old-name", "1")})
	if len(p.Changes) != 1 {
		t.Fatalf("changes = %+v, want one", outcomes(p))
	}
	c := p.Changes[0]
	if want := (syncd.Key{Kind: syncd.PatchworksConnector, Name: "old-name"}); c.Supersedes != want || len(c.Notes) == 0 {
		t.Errorf("supersedes %v with notes %q, want %v and a note", c.Supersedes, c.Notes, want)
	}
}
