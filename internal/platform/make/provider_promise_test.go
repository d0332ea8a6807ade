package make

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/platform"
)

// Tests of promises of provider.go that surviving mutants showed no test
// defended (issue 18).

// TestObserveReadsDeclaredDetailsOfAConnectionOnlyFoundByID: a bound
// connection its app's list does not show (here it lives under another app)
// is fetched by name and then read as fully as a listed one: every section
// and the common data the manifest declares. Reading only its summary would
// make the planner see the declared sections as missing and rewrite them on
// every run.
func TestObserveReadsDeclaredDetailsOfAConnectionOnlyFoundByID(t *testing.T) {
	f, c := startFake(t)
	name := f.add("erp", "Moved", "basic")
	api := `{"url": "https://x.test"}`
	f.set(func() {
		f.conns[name].sections["api"] = &api
		f.conns[name].common = `{"region": "eu"}`
	})
	d := desired("crm", "Moved", "basic", map[string]any{"api": map[string]any{}}, map[string]any{"region": "us"})
	snap, err := c.Observe(context.Background(), []platform.Want{{RemoteID: name, Desired: d}})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Objects) != 1 {
		t.Fatalf("objects = %+v, want the one connection", snap.Objects)
	}
	want := map[string]any{
		"label": "Moved", "type": "basic",
		"sections":            map[string]any{"api": map[string]any{"url": "https://x.test"}},
		"common":              map[string]any{"region": "eu"},
		"connectedSystemName": nil, // the GET tells it
	}
	if diff := cmp.Diff(want, snap.Objects[0].Spec); diff != "" {
		t.Fatalf("spec of %s (-want +got):\n%s", name, diff)
	}
}
