package planner

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/syncd"
)

func TestCoverageOf(t *testing.T) {
	mk := func(app, name, label string) syncd.Live {
		return syncd.Live{Kind: syncd.MakeConnection, RemoteID: name, Spec: map[string]any{"app": app, "label": label}}
	}
	pw := func(id, name string) syncd.Live {
		return syncd.Live{Kind: syncd.PatchworksConnector, RemoteID: id, Spec: map[string]any{"name": name}}
	}
	key := func(k syncd.Kind, n string) syncd.Key { return syncd.Key{Kind: k, Name: n} }
	tests := []struct {
		name     string
		live     []syncd.Live
		bindings map[syncd.Key]syncd.Binding
		changes  []Change
		want     *Coverage
		percent  float64
		whole    int
	}{
		{
			name:    "nothing listed",
			want:    &Coverage{ByPlatform: map[syncd.Kind]PlatformCoverage{}},
			percent: 100, whole: 100,
		},
		{
			name:    "two of three: rounded, and down in whole percent",
			live:    []syncd.Live{pw("1", "A"), pw("2", "B"), pw("3", "C")},
			changes: []Change{{Key: key(syncd.PatchworksConnector, "a"), Action: ActionNoop, RemoteID: "1"}, {Key: key(syncd.PatchworksConnector, "b"), Action: ActionNoop, RemoteID: "2"}},
			want: &Coverage{Managed: 2, Unmanaged: []Unmanaged{{Kind: syncd.PatchworksConnector, RemoteID: "3", Name: "C", Heading: "Patchworks"}},
				ByPlatform: map[syncd.Kind]PlatformCoverage{syncd.PatchworksConnector: {Managed: 2, Unmanaged: 1}}},
			percent: 66.7, whole: 66,
		},
		{
			name: "managed, unmanaged, a create and a pruned orphan",
			live: []syncd.Live{mk("app-one", "c1", "One"), mk("app-one", "c2", "Two"), mk("app-two", "c3", "Three"), pw("7", "Shop"), pw("8", "Stray"), pw("8", "Stray")},
			bindings: map[syncd.Key]syncd.Binding{
				key(syncd.PatchworksConnector, "gone"): {RemoteID: "8"},
			},
			changes: []Change{
				{Key: key(syncd.MakeConnection, "one"), Action: ActionNoop, RemoteID: "c1"},
				{Key: key(syncd.MakeConnection, "new"), Action: ActionCreate},
				{Key: key(syncd.PatchworksConnector, "shop"), Action: ActionUpdate, RemoteID: "7"},
				{Key: key(syncd.PatchworksConnector, "gone"), Action: ActionDelete, RemoteID: "8"},
			},
			want: &Coverage{
				Managed: 2,
				Unmanaged: []Unmanaged{
					{Kind: syncd.MakeConnection, Group: "app-one", RemoteID: "c2", Name: "Two", Heading: "Make app app-one"},
					{Kind: syncd.MakeConnection, Group: "app-two", RemoteID: "c3", Name: "Three", Heading: "Make app app-two"},
					{Kind: syncd.PatchworksConnector, RemoteID: "8", Name: "Stray", Bound: "PatchworksConnector/gone", Heading: "Patchworks"},
				},
				ByPlatform: map[syncd.Kind]PlatformCoverage{
					syncd.MakeConnection:      {Managed: 1, Unmanaged: 2},
					syncd.PatchworksConnector: {Managed: 1, Unmanaged: 1},
				},
			},
			percent: 40, whole: 40,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CoverageOf(tt.live, tt.bindings, &Plan{Changes: tt.changes}, testRules)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("coverage (-want +got):\n%s", diff)
			}
			if p := got.Percent(); p != tt.percent {
				t.Errorf("percent %v, want %v", p, tt.percent)
			}
			if p := got.WholePercent(); p != tt.whole {
				t.Errorf("whole percent %v, want %v", p, tt.whole)
			}
		})
	}
}
