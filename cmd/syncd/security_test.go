package main

import (
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/testenv"
)

// A plan that could not plan a resource says "Error: …" and must not exit
// 0: CI would read it as "no changes".
func TestPlanExitsOneWhenAResourceCannotBePlanned(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	twin := map[string]any{"name": "Twin", "authentication_implementation_id": 42, "timezone": "UTC",
		"date_format": "d/m/Y H:i", "rate_limit_unit": "minute", "rate_limit_duration": 60}
	if _, err := e.Emu.Seed(emulator.Seed{Patchworks: emulator.SeedPatchworks{Connectors: []map[string]any{twin, twin}}}); err != nil {
		t.Fatal(err)
	}
	e.Write(t, "x.yaml", testenv.PatchworksDoc("pw-x", "Twin"))
	for _, args := range [][]string{{"plan"}, {"plan", "--detailed-exitcode"}, {"plan", "--format", "json"}} {
		r := syncdCmd(t, e, nil, args...)
		if r.code != 1 {
			t.Errorf("syncd %s: exit %d, want 1\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		if args[len(args)-1] == "plan" && !strings.Contains(r.stdout, "could not be planned") {
			t.Errorf("plan text does not say the resource could not be planned:\n%s", r.stdout)
		}
	}
}
