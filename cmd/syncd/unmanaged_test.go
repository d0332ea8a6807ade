package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/testenv"
)

type coveragePlanJSON struct {
	Summary struct {
		Managed         *int `json:"managed"`
		Unmanaged       *int `json:"unmanaged"`
		CoveragePercent *int `json:"coverage_percent"`
	} `json:"summary"`
	UnmanagedObjects []struct {
		Kind     string `json:"kind"`
		MakeApp  string `json:"make_app"`
		RemoteID string `json:"remote_id"`
		Name     string `json:"name"`
	} `json:"unmanaged_objects"`
}

// TestShowUnmanaged: plan --show-unmanaged lists the live objects no
// manifest declares, per platform and Make app; every full plan's JSON
// summary counts managed and unmanaged objects; and neither costs a
// request more than the plan without them (the emulator's counts).
func TestShowUnmanaged(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	e.Write(t, "b.yaml", testenv.MakeDoc("conn-b", "app-one", "Conn B", "basic"))
	e.Write(t, "x.yaml", testenv.PatchworksDoc("pw-x", "Shop X"))
	e.Write(t, "y.yaml", testenv.PatchworksDoc("pw-y", "Shop Y"))
	if r := syncdCmd(t, e, nil, "apply", "--auto-approve"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// conn-b and pw-y become objects syncd never managed.
	for _, k := range []string{"MakeConnection/conn-b", "PatchworksConnector/pw-y"} {
		if r := syncdCmd(t, e, nil, "inventory", "forget", k); r.code != 0 {
			t.Fatalf("forget %s: exit %d\n%s", k, r.code, r.stderr)
		}
	}
	e.Remove(t, "b.yaml")
	e.Remove(t, "y.yaml")
	connB := e.Emu.MakeConnections("app-one")
	var connBName string
	for _, c := range connB {
		if c.Label == "Conn B" {
			connBName = c.Name
		}
	}

	e.Emu.ResetCounts()
	r := syncdCmd(t, e, nil, "plan", "--format", "json")
	plain := e.Emu.Counts()
	// The minimum for conn-a and pw-x alone: the preflights, one list per
	// platform, conn-a's two sections and common. Nothing about conn-b.
	if plain.Make.Total != 5 || plain.Patchworks.Total != 2 {
		t.Errorf("plan requests: Make %d %v, Patchworks %d %v; want 5 and 2", plain.Make.Total, plain.Make.ByRoute, plain.Patchworks.Total, plain.Patchworks.ByRoute)
	}
	var js coveragePlanJSON
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if js.Summary.Managed == nil || *js.Summary.Managed != 2 || *js.Summary.Unmanaged != 2 || *js.Summary.CoveragePercent != 50 {
		t.Errorf("plan summary coverage: %s", r.stdout)
	}
	if len(js.UnmanagedObjects) != 0 {
		t.Errorf("unmanaged objects listed without --show-unmanaged: %s", r.stdout)
	}

	e.Emu.ResetCounts()
	r = syncdCmd(t, e, nil, "plan", "--format", "json", "--show-unmanaged")
	if diff := cmp.Diff(plain, e.Emu.Counts()); diff != "" {
		t.Errorf("--show-unmanaged made other requests (-plain +shown):\n%s", diff)
	}
	js = coveragePlanJSON{}
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	var got []string
	for _, u := range js.UnmanagedObjects {
		got = append(got, u.Kind+" "+u.MakeApp+" "+u.RemoteID+" "+u.Name)
	}
	want := []string{"MakeConnection app-one " + connBName + " Conn B", "PatchworksConnector  " + pwID(t, e, "Shop Y") + " Shop Y"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("unmanaged objects (-want +got):\n%s", diff)
	}

	e.Emu.ResetCounts()
	r = syncdCmd(t, e, nil, "plan", "--show-unmanaged")
	if diff := cmp.Diff(plain, e.Emu.Counts()); diff != "" {
		t.Errorf("text --show-unmanaged made other requests (-plain +shown):\n%s", diff)
	}
	for _, s := range []string{"Coverage: 2 managed, 2 unmanaged live object(s) (50.0% managed).", "Make app app-one:", "Patchworks:", `"Conn B"`, `"Shop Y"`} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("text plan lacks %q:\n%s", s, r.stdout)
		}
	}
	r = syncdCmd(t, e, nil, "plan", "--show-unmanaged", "--format", "markdown")
	for _, s := range []string{"Coverage: 2 managed", "Unmanaged: Make app app-one (1)", "Unmanaged: Patchworks (1)"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("markdown plan lacks %q:\n%s", s, r.stdout)
		}
	}

	// A partial plan counts nothing: the objects it did not read would
	// look unmanaged.
	r = syncdCmd(t, e, nil, "plan", "--format", "json", "--target", "MakeConnection/conn-a")
	js = coveragePlanJSON{}
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil || js.Summary.Managed != nil {
		t.Errorf("partial plan counts coverage: %s", r.stdout)
	}
}

// pwID is the id of the Patchworks connector named name.
func pwID(t *testing.T, e *testenv.Env, name string) string {
	t.Helper()
	for _, c := range e.Emu.State().Patchworks.Connectors {
		if c.Attributes["name"] == name {
			return strconv.FormatInt(c.ID, 10)
		}
	}
	t.Fatalf("no connector %q", name)
	return ""
}
