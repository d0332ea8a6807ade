package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/desired"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
)

func TestTargetScope(t *testing.T) {
	set := &desired.Set{Resources: []*syncd.Desired{
		{Key: syncd.Key{Kind: syncd.MakeConnection, Name: "crm-a"}},
		{Key: syncd.Key{Kind: syncd.MakeConnection, Name: "crm-b"}},
		{Key: syncd.Key{Kind: syncd.MakeConnection, Name: "erp"}},
		{Key: syncd.Key{Kind: syncd.PatchworksConnector, Name: "crm-shop"}},
	}}
	mk := func(kind syncd.Kind, name string) syncd.Key { return syncd.Key{Kind: kind, Name: name} }
	tests := []struct {
		name    string
		targets []string
		want    []syncd.Key
		wantErr string
	}{
		{name: "none", targets: nil, want: nil},
		{name: "one", targets: []string{"MakeConnection/erp"}, want: []syncd.Key{mk(syncd.MakeConnection, "erp")}},
		{name: "kind is case-insensitive", targets: []string{"makeconnection/erp"}, want: []syncd.Key{mk(syncd.MakeConnection, "erp")}},
		{name: "glob name", targets: []string{"MakeConnection/crm-*"}, want: []syncd.Key{mk(syncd.MakeConnection, "crm-a"), mk(syncd.MakeConnection, "crm-b")}},
		{name: "glob kind", targets: []string{"*/crm-*"}, want: []syncd.Key{mk(syncd.MakeConnection, "crm-a"), mk(syncd.MakeConnection, "crm-b"), mk(syncd.PatchworksConnector, "crm-shop")}},
		{name: "repeated and overlapping", targets: []string{"MakeConnection/crm-a", "MakeConnection/crm-?"}, want: []syncd.Key{mk(syncd.MakeConnection, "crm-a"), mk(syncd.MakeConnection, "crm-b")}},
		{name: "no slash", targets: []string{"erp"}, wantErr: "want KIND/NAME"},
		{name: "empty name", targets: []string{"MakeConnection/"}, wantErr: "want KIND/NAME"},
		{name: "unknown kind", targets: []string{"Bucket/erp"}, wantErr: "no kind matches"},
		{name: "bad pattern", targets: []string{"MakeConnection/[erp"}, wantErr: "bad pattern"},
		{name: "matches nothing", targets: []string{"MakeConnection/nope*"}, wantErr: "matches no manifest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := targetFlag{Target: tt.targets}.scope(set)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("scope (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTargetedPlanApplyAndRunOnce: --target reads, plans and applies only
// the matching resources (proved by the emulator's request counts and by
// what exists afterwards), every rendering says the plan is partial, and a
// partial plan never prunes even with --prune.
func TestTargetedPlanApplyAndRunOnce(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	e.Write(t, "b.yaml", testenv.MakeDoc("conn-b", "app-two", "Conn B", "basic"))
	e.Write(t, "x.yaml", testenv.PatchworksDoc("pw-x", "Shop X"))
	e.Write(t, "y.yaml", testenv.PatchworksDoc("pw-y", "Shop Y"))

	// Plan one Make connection: only its app is listed, Patchworks is
	// never asked.
	e.Emu.ResetCounts()
	r := syncdCmd(t, e, nil, "plan", "--target", "MakeConnection/conn-a", "--format", "json", "--detailed-exitcode")
	if r.code != 2 {
		t.Fatalf("plan: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var js targetedPlanJSON
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if !js.Partial || !cmp.Equal(js.Targets, []string{"MakeConnection/conn-a"}) || len(js.Changes) != 1 || js.Changes[0].Name != "conn-a" || js.Summary["create"] != 1 {
		t.Errorf("targeted json plan: %s", r.stdout)
	}
	c := e.Emu.Counts()
	if c.Patchworks.Total != 1 { // the preflight only
		t.Errorf("Patchworks requests %d, want 1 (preflight): %v", c.Patchworks.Total, c.Patchworks.ByRoute)
	}
	if n := c.Make.ByRoute["GET /sdk/apps/{app}/connections"]; n != 1 {
		t.Errorf("Make lists %d, want 1 (only app-one): %v", n, c.Make.ByRoute)
	}
	for _, format := range []string{"text", "markdown"} {
		r := syncdCmd(t, e, nil, "plan", "--target", "MakeConnection/conn-a", "--format", format)
		if n := strings.Count(r.stdout, "partial plan (--target MakeConnection/conn-a)"); n != 1 {
			t.Errorf("%s plan: the partial note appears %d times\n%s", format, n, r.stdout)
		}
	}

	// Apply the Patchworks connectors only, by glob.
	if r := syncdCmd(t, e, nil, "apply", "--auto-approve", "--target", "patchworksconnector/pw-*"); r.code != 0 || !strings.Contains(r.stdout, "partial plan") {
		t.Fatalf("targeted apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if n := len(e.Emu.State().Patchworks.Connectors); n != 2 {
		t.Errorf("connectors after the targeted apply: %d, want 2", n)
	}
	if n := e.Emu.MakeConnectionCount(); n != 0 {
		t.Errorf("Make connections after a Patchworks-only apply: %d, want 0", n)
	}

	// run --once --mode apply on one Make connection.
	r = syncdCmd(t, e, nil, "run", "--once", "--mode", "apply", "--target", "MakeConnection/conn-b", "--detailed-exitcode")
	if r.code != 0 {
		t.Fatalf("targeted run --once: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if len(e.Emu.MakeConnections("app-two")) != 1 || len(e.Emu.MakeConnections("app-one")) != 0 {
		t.Errorf("run --once --target created the wrong connections")
	}

	// With pw-y's manifest gone, a targeted plan with --prune deletes nothing.
	e.Remove(t, "y.yaml")
	r = syncdCmd(t, e, nil, "plan", "--prune", "--target", "PatchworksConnector/pw-x", "--format", "json")
	if r.code != 0 || strings.Contains(r.stdout, `"delete"`+`: 1`) || !strings.Contains(r.stderr, "never prunes") {
		t.Errorf("partial plan with --prune: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	js = targetedPlanJSON{}
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil || js.Summary["delete"] != 0 || !js.Partial {
		t.Errorf("partial plan planned deletes: %s", r.stdout)
	}
	// The full plan does plan the delete (the test above can fail).
	r = syncdCmd(t, e, nil, "plan", "--prune", "--format", "json")
	js = targetedPlanJSON{}
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil || js.Summary["delete"] != 1 || js.Partial {
		t.Errorf("full plan with --prune: %s", r.stdout)
	}

	// A saved partial plan keeps its targets; apply refuses extra ones.
	out := filepath.Join(t.TempDir(), "plan.json")
	if r := syncdCmd(t, e, nil, "plan", "--target", "MakeConnection/conn-a", "--out", out); r.code != 0 {
		t.Fatalf("plan --out: exit %d\n%s", r.code, r.stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(data), `"targets"`) {
		t.Fatalf("saved plan lacks its targets: %v\n%s", err, data)
	}
	if r := syncdCmd(t, e, nil, "apply", "--target", "MakeConnection/conn-b", out); r.code != 1 || !strings.Contains(r.stderr, "plan file carries its own targets") {
		t.Errorf("apply PLANFILE --target: exit %d\n%s", r.code, r.stderr)
	}
	if r := syncdCmd(t, e, nil, "apply", out); r.code != 0 || !strings.Contains(r.stdout, "partial plan") {
		t.Fatalf("apply saved partial plan: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if len(e.Emu.MakeConnections("app-one")) != 1 {
		t.Errorf("the saved partial plan did not create conn-a")
	}

	// Mistakes are errors, never "no changes".
	for _, args := range [][]string{
		{"plan", "--target", "MakeConnection/typo"},
		{"plan", "--target", "conn-a"},
		{"run", "--target", "MakeConnection/conn-a"},
	} {
		if r := syncdCmd(t, e, nil, args...); r.code != 1 {
			t.Errorf("syncd %s: exit %d, want 1\n%s", strings.Join(args, " "), r.code, r.stderr)
		}
	}
}

type targetedPlanJSON struct {
	Summary map[string]int `json:"summary"`
	Partial bool           `json:"partial"`
	Targets []string       `json:"targets"`
	Changes []struct {
		Name string `json:"name"`
	} `json:"changes"`
}
