package planner

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/syncd"
)

// TestUnmanagedListIsSorted: the unmanaged objects are listed by platform,
// then Make app, then remote id, whatever order the APIs listed them in,
// so that the report does not churn between runs.
func TestUnmanagedListIsSorted(t *testing.T) {
	mk := func(app, id string) syncd.Live {
		return syncd.Live{Kind: syncd.MakeConnection, RemoteID: id, Spec: map[string]any{"app": app, "label": id}}
	}
	pw := func(id string) syncd.Live {
		return syncd.Live{Kind: syncd.PatchworksConnector, RemoteID: id, Spec: map[string]any{"name": id}}
	}
	live := []syncd.Live{pw("9"), mk("b", "1"), pw("2"), mk("a", "7"), mk("b", "0")}
	cov := CoverageOf(live, nil, &Plan{}, testRules)
	type row struct{ Kind, Group, RemoteID string }
	var got []row
	for _, u := range cov.Unmanaged {
		got = append(got, row{string(u.Kind), u.Group, u.RemoteID})
	}
	want := []row{
		{string(syncd.MakeConnection), cov.Unmanaged[0].Group, "7"},
		{string(syncd.MakeConnection), cov.Unmanaged[1].Group, "0"},
		{string(syncd.MakeConnection), cov.Unmanaged[1].Group, "1"},
		{string(syncd.PatchworksConnector), "", "2"},
		{string(syncd.PatchworksConnector), "", "9"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("unmanaged order (-want +got):\n%s", diff)
	}
	if cov.Unmanaged[0].Group >= cov.Unmanaged[1].Group {
		t.Errorf("Make groups %q, %q are not in order", cov.Unmanaged[0].Group, cov.Unmanaged[1].Group)
	}
}
