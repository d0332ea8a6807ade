package daemon_test

import (
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
)

// TestStatusAndMetricsCountUnmanaged: /v1/status and /metrics carry the
// managed and unmanaged live objects of the last full scan.
func TestStatusAndMetricsCountUnmanaged(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	env.Write(t, "a.yaml", testenv.MakeDoc("alpha", "app-one", "Alpha", "apikey"))
	env.Write(t, "b.yaml", testenv.MakeDoc("beta", "app-one", "Beta", "apikey"))
	env.Write(t, "s.yaml", testenv.PatchworksDoc("shop", "Shop"))
	applyAll(t, env)
	// beta leaves git and the inventory: its connection stays, unmanaged.
	if err := env.State.Unbind(t.Context(), syncd.Key{Kind: syncd.MakeConnection, Name: "beta"}); err != nil {
		t.Fatal(err)
	}
	env.Remove(t, "b.yaml")

	d := startDaemon(t, env, daemon.Options{Mode: syncd.ModeReport})
	d.waitReady(t)
	st := d.status(t)
	if st.Coverage == nil {
		t.Fatal("/v1/status has no coverage")
	}
	if st.Coverage.Managed != 2 || st.Coverage.Unmanaged != 1 || st.Coverage.CoveragePercent != 66.7 ||
		st.Coverage.ByPlatform["make"].Unmanaged != 1 || st.Coverage.ByPlatform["patchworks"].Managed != 1 {
		t.Errorf("coverage %+v", *st.Coverage)
	}
	_, metrics := d.get(t, "/metrics")
	for _, want := range []string{
		`syncd_managed_objects{platform="make"} 1`,
		`syncd_unmanaged_objects{platform="make"} 1`,
		`syncd_managed_objects{platform="patchworks"} 1`,
		`syncd_unmanaged_objects{platform="patchworks"} 0`,
		`syncd_coverage_percent 66.7`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
