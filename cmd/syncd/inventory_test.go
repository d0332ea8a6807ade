package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
)

// inventoryRows runs `syncd inventory list --format json` with extra.
func inventoryRows(t *testing.T, e *testenv.Env, extra map[string]string) map[string]string {
	t.Helper()
	r := syncdCmd(t, e, extra, "inventory", "list", "--format", "json")
	if r.code != 0 {
		t.Fatalf("inventory list: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var rows []inventoryJSON
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	out := map[string]string{}
	for _, row := range rows {
		out[string(row.Kind)+"/"+row.Name] = row.RemoteID
	}
	return out
}

// TestInventoryCommands: list (read-only, a SELECT-only role is enough),
// forget (audited, remote object untouched) and bind (audited, checks the
// live object, refuses a remote id bound already).
func TestInventoryCommands(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	e.Write(t, "b.yaml", testenv.MakeDoc("conn-b", "app-two", "Conn B", "basic"))
	e.Write(t, "x.yaml", testenv.PatchworksDoc("pw-x", "Shop X"))
	ci := map[string]string{"SYNCD_DATABASE_URL": selectOnlyRole(t, e.DB)}

	if r := syncdCmd(t, e, ci, "inventory", "list"); r.code != 0 || !strings.Contains(r.stdout, "The inventory is empty") {
		t.Errorf("empty inventory list: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := syncdCmd(t, e, nil, "apply", "--auto-approve"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	connA := e.Emu.MakeConnections("app-one")[0].Name
	connB := e.Emu.MakeConnections("app-two")[0].Name
	pwX := strconv.FormatInt(e.Emu.State().Patchworks.Connectors[0].ID, 10)
	want := map[string]string{
		"MakeConnection/conn-a":    connA,
		"MakeConnection/conn-b":    connB,
		"PatchworksConnector/pw-x": pwX,
	}
	if diff := cmp.Diff(want, inventoryRows(t, e, ci)); diff != "" {
		t.Errorf("inventory with a SELECT-only role (-want +got):\n%s", diff)
	}
	r := syncdCmd(t, e, ci, "inventory", "list")
	for _, s := range []string{"RESOURCE", "MakeConnection/conn-a", connA, "PatchworksConnector/pw-x"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("text list lacks %q:\n%s", s, r.stdout)
		}
	}
	if r := syncdCmd(t, e, ci, "inventory", "forget", "MakeConnection/conn-a"); r.code != 1 {
		t.Errorf("forget with a SELECT-only role: exit %d, want 1\n%s", r.code, r.stderr)
	}

	// forget: gone from the inventory, still live, audited; the next plan
	// adopts it again (by natural key).
	r = syncdCmd(t, e, nil, "inventory", "forget", "makeconnection/conn-a")
	if r.code != 0 || !strings.Contains(r.stdout, "Forgot MakeConnection/conn-a") {
		t.Fatalf("forget: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	delete(want, "MakeConnection/conn-a")
	if diff := cmp.Diff(want, inventoryRows(t, e, nil)); diff != "" {
		t.Errorf("inventory after forget (-want +got):\n%s", diff)
	}
	if _, ok := e.Emu.MakeConnection(connA); !ok {
		t.Errorf("forget deleted the remote object")
	}
	r = syncdCmd(t, e, nil, "audit", "--resource", "MakeConnection/conn-a", "--format", "json")
	if !strings.Contains(r.stdout, `"action": "forget"`) && !strings.Contains(r.stdout, `"action":"forget"`) {
		t.Errorf("forget is not audited:\n%s", r.stdout)
	}
	if r := syncdCmd(t, e, nil, "plan", "--detailed-exitcode"); r.code != 2 || !strings.Contains(r.stdout, "adopt") {
		t.Errorf("plan after forget: exit %d, want 2 with an adopt\n%s", r.code, r.stdout)
	}
	if r := syncdCmd(t, e, nil, "inventory", "forget", "MakeConnection/conn-a"); r.code != 1 || !strings.Contains(r.stderr, "not in the inventory") {
		t.Errorf("forget twice: exit %d\n%s", r.code, r.stderr)
	}

	// bind: refusals first.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"MakeConnection/conn-a", connB}, "already bound"},
		{[]string{"MakeConnection/conn-a", "no-such-connection"}, "no such live object"},
		{[]string{"MakeConnection/conn-b", connA}, "already bound"}, // conn-b itself is bound
		{[]string{"MakeConnection/nope", connA}, "no manifest"},
		{[]string{"Bucket/conn-a", connA}, "want KIND/NAME"},
	} {
		r := syncdCmd(t, e, nil, append([]string{"inventory", "bind"}, tc.args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("bind %v: exit %d, want 1 naming %q\n%s", tc.args, r.code, tc.want, r.stderr)
		}
	}
	// A Make connection of another app is refused.
	if r := syncdCmd(t, e, nil, "inventory", "forget", "MakeConnection/conn-b"); r.code != 0 {
		t.Fatalf("forget conn-b: exit %d\n%s", r.code, r.stderr)
	}
	if r := syncdCmd(t, e, nil, "inventory", "bind", "MakeConnection/conn-a", connB); r.code != 1 || !strings.Contains(r.stderr, "not a connection of the app app-one") {
		t.Errorf("bind to another app's connection: exit %d\n%s", r.code, r.stderr)
	}
	for _, k := range []string{"MakeConnection/conn-a", "MakeConnection/conn-b"} {
		if r := syncdCmd(t, e, nil, "inventory", "bind", k, map[string]string{"MakeConnection/conn-a": connA, "MakeConnection/conn-b": connB}[k]); r.code != 0 {
			t.Fatalf("bind %s: exit %d\n%s%s", k, r.code, r.stdout, r.stderr)
		}
	}
	want["MakeConnection/conn-a"], want["MakeConnection/conn-b"] = connA, connB
	if diff := cmp.Diff(want, inventoryRows(t, e, nil)); diff != "" {
		t.Errorf("inventory after bind (-want +got):\n%s", diff)
	}
	r = syncdCmd(t, e, nil, "audit", "--resource", "MakeConnection/conn-a", "--format", "json")
	var events struct {
		Events []struct {
			Type     syncd.EventType `json:"event_type"`
			Action   string          `json:"action"`
			RemoteID string          `json:"remote_id"`
		} `json:"events"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &events); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	var actions []string
	for _, ev := range events.Events {
		if ev.Action == "bind" || ev.Action == "forget" {
			actions = append(actions, ev.Action+" "+ev.RemoteID)
		}
	}
	if diff := cmp.Diff([]string{"forget " + connA, "bind " + connA}, actions); diff != "" {
		t.Errorf("audited inventory actions (-want +got):\n%s", diff)
	}
	// Bound again: the plan is back to in sync.
	if r := syncdCmd(t, e, nil, "plan", "--detailed-exitcode"); r.code != 0 {
		t.Errorf("plan after bind: exit %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
	}
}
