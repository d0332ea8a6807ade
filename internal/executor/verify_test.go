package executor_test

import (
	"context"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
)

// TestWriteNotEffective: a platform that answers 200 and keeps nothing
// makes the change not effective: change_failed naming the fields, not
// counted as applied; a write that took is applied as before.
func TestWriteNotEffective(t *testing.T) {
	tests := []struct {
		name     string
		ignore   string
		file     string
		edit     func(string) string
		key      syncd.Key
		wantPath string
	}{
		{"patchworks field dropped", "patchworks/timezone", "pw/x.yaml",
			func(s string) string { return strings.Replace(s, "Europe/London", "UTC", 1) },
			syncd.Key{Kind: syncd.PatchworksConnector, Name: "pw-x"}, "/timezone"},
		{"make label kept pending", "make/label", "make/a.yaml",
			func(s string) string { return strings.Replace(s, `"Conn A"`, `"Conn A (renamed)"`, 1) },
			syncd.Key{Kind: syncd.MakeConnection, Name: "conn-a"}, "/label"},
		{"make section kept pending", "make/sections/api", "make/a.yaml",
			func(s string) string {
				return strings.Replace(s, "https://api.example.com/", "https://api2.example.com/", 1)
			},
			syncd.Key{Kind: syncd.MakeConnection, Name: "conn-a"}, "/sections/api"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			e := testenv.New(t, testenv.Options{})
			docs := map[string]string{
				"make/a.yaml": testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"),
				"pw/x.yaml":   testenv.PatchworksDoc("pw-x", "Shop X"),
			}
			for f, d := range docs {
				e.Write(t, f, d)
			}
			converge(t, e, 2)
			e.Emu.UpdateKnobs(func(k *emulator.Knobs) { k.IgnoreFields = []string{tc.ignore} })
			e.Write(t, tc.file, tc.edit(docs[tc.file]))

			res, err := e.Reconcile(t, ctx, syncd.ModeApply, false)
			if err != nil {
				t.Fatal(err)
			}
			if res.Report.Applied != 0 || res.Report.Failed != 1 || res.Report.OK() {
				t.Fatalf("report = %+v, want 1 failed, 0 applied", res.Report)
			}
			evs, err := e.Store.Events(ctx, audit.Filter{Key: &tc.key})
			if err != nil {
				t.Fatal(err)
			}
			last := evs[len(evs)-1].Event
			if last.Type != syncd.EventChangeFailed || !strings.Contains(last.Error, "accepted the write but did not keep "+tc.wantPath) {
				t.Fatalf("last event = %s %q, want change_failed naming %s", last.Type, last.Error, tc.wantPath)
			}
			for _, ev := range evs {
				if ev.Event.Type == syncd.EventChangeApplied && ev.Event.RunID == res.RunID {
					t.Errorf("the not-effective write was also recorded as applied")
				}
			}
			assertNoSecretInDB(t, e)

			// Once the platform keeps the field, the same change applies.
			e.Emu.UpdateKnobs(func(k *emulator.Knobs) { k.IgnoreFields = nil })
			res, err = e.Reconcile(t, ctx, syncd.ModeApply, false)
			if err != nil || res.Report.Applied != 1 || res.Report.Failed != 0 {
				t.Fatalf("after the knob: %+v, %v", res.Report, err)
			}
		})
	}
}

// TestUndeclaredVariablesSurvive: whether a PUT's variables merge into the
// connector's list or replace it (undocumented), an apply that changes one
// declared variable keeps every variable the manifest does not declare,
// plain and secret, with its value.
func TestUndeclaredVariablesSurvive(t *testing.T) {
	for _, mode := range []string{emulator.VariablesMerge, emulator.VariablesReplace} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			e := testenv.New(t, testenv.Options{Knobs: emulator.Knobs{VariablesPut: mode}})
			doc := testenv.PatchworksDoc("pw-x", "Shop X")
			e.Write(t, "pw/x.yaml", doc)
			converge(t, e, 2)
			id := e.Emu.Connectors()[0].ID
			const handSecret = "hand-made-secret-value-9"
			if err := e.Emu.EditConnector(id, map[string]any{"variables": []any{
				map[string]any{"key": "by_hand", "value": "plain-value"},
				map[string]any{"key": "by_hand_secret", "value": handSecret, "secret": true},
			}}); err != nil {
				t.Fatal(err)
			}
			e.Write(t, "pw/x.yaml", strings.Replace(doc, "pw-x.example.com", "shop-x.example.com", 1))
			res, err := e.Reconcile(t, ctx, syncd.ModeApply, false)
			if err != nil || res.Report.Applied != 1 || res.Report.Failed != 0 {
				t.Fatalf("apply: %+v, %v", res.Report, err)
			}
			got := map[string]any{}
			c, _ := e.Emu.Connector(id)
			for _, v := range c.Variables {
				got[v.Key] = v.Value
			}
			want := map[string]any{"shop_domain": "shop-x.example.com", "api_token": testenv.SecretB, "by_hand": "plain-value", "by_hand_secret": handSecret}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("variable %s = %v, want %v (all: %v)", k, got[k], v, got)
				}
			}
			if p := e.Plan(t, false); p.HasChanges() {
				t.Errorf("plan after apply has changes: %+v", p.Summary)
			}
		})
	}
}

// TestMakeTemplatedSectionsLeftAlone: Make fills a new connection from
// templates. syncd writes only the sections its manifest declares (and
// common only when declared), the plan after apply is empty, and a full
// read (what import writes) shows the templated parts that are there.
func TestMakeTemplatedSectionsLeftAlone(t *testing.T) {
	ctx := context.Background()
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "make/o.yaml", `apiVersion: syncd/v1
kind: MakeConnection
metadata:
  name: oauth-conn
spec:
  app: app-one
  type: oauth
  label: OAuth
  sections:
    scope: ["read"]
`)
	res, err := e.Reconcile(t, ctx, syncd.ModeApply, false)
	if err != nil || res.Report.Applied != 1 || res.Report.Failed != 0 {
		t.Fatalf("apply: %+v, %v", res.Report, err)
	}
	if p := e.Plan(t, false); p.HasChanges() {
		t.Fatalf("plan after apply has changes: %+v", p.Summary)
	}
	conns := e.Emu.MakeConnections("app-one")
	if len(conns) != 1 {
		t.Fatalf("connections = %+v", conns)
	}
	c := conns[0]
	if c.Sections["api"] == "" || c.Sections["parameters"] == "" || len(c.Common) == 0 {
		t.Fatalf("templates were overwritten: %+v", c)
	}
	all, err := e.Providers[syncd.MakeConnection].ListAll(ctx, "app-one")
	if err != nil || len(all) != 1 {
		t.Fatalf("ListAll: %+v, %v", all, err)
	}
	secs, _ := all[0].Spec["sections"].(map[string]any)
	if api, _ := secs["api"].(map[string]any); len(api) == 0 {
		t.Errorf("import does not show the templated api: %v", secs["api"])
	}
	if params, _ := secs["parameters"].([]any); len(params) == 0 {
		t.Errorf("import does not show the templated parameters: %v", secs["parameters"])
	}
	if common, _ := all[0].Spec["common"].(map[string]any); len(common) == 0 {
		t.Errorf("import does not show the templated common: %v", all[0].Spec["common"])
	}
}
