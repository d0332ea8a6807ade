package emulator

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestIgnoreFieldsKnob: a write of an ignored field answers success and
// changes nothing, on both platforms; other fields of the same write are
// kept.
func TestIgnoreFieldsKnob(t *testing.T) {
	e := newEnv(t, Options{Knobs: Knobs{IgnoreFields: []string{"make/label", "make/sections/api", "make/common", "patchworks/timezone", "patchworks/variables"}}})
	name := e.createConn(t, "acme", "Main", "apikey")
	conn := "/sdk/apps/connections/" + name
	writes := []struct {
		method, path, body string
		jsonc              bool
	}{
		{"PATCH", conn, `{"label":"Renamed","connectedSystemName":"sys"}`, false},
		{"PUT", conn + "/api", `{"url":"https://changed"}`, true},
		{"PUT", conn + "/parameters", `[{"name":"kept"}]`, true},
		{"PUT", conn + "/common", `{"k":"v"}`, false},
	}
	for _, w := range writes {
		send := e.mk
		if w.jsonc {
			send = e.mkc
		}
		if r := send(t, w.method, w.path, w.body); r.status != 200 {
			t.Fatalf("%s %s: %d %s", w.method, w.path, r.status, r.body)
		}
	}
	got, _ := e.srv.MakeConnection(name)
	if got.Label != "Main" || got.ConnectedSystemName == nil || *got.ConnectedSystemName != "sys" {
		t.Errorf("label/system = %q/%v, want Main/sys", got.Label, got.ConnectedSystemName)
	}
	if got.Sections["api"] != makeAPITemplate || got.Sections["parameters"] != `[{"name":"kept"}]` {
		t.Errorf("sections = %v", got.Sections)
	}
	if len(got.Common) != 0 {
		t.Errorf("common = %v, want it unchanged", got.Common)
	}

	id := e.createConnector(t, "c")
	r := e.pw(t, "PUT", "/connectors/1", `{"timezone":"UTC","date_format":"Y","variables":[{"key":"v","value":"x"}]}`)
	if r.status != 200 {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	c, _ := e.srv.Connector(id)
	if c.Attributes["timezone"] != "Europe/London" || c.Attributes["date_format"] != "Y" || len(c.Variables) != 0 {
		t.Errorf("connector = %+v", c)
	}
}

// TestVariablesPutKnob: a PUT's variables list is merged (default) or
// replaces the list; named variables keep what the PUT leaves out.
func TestVariablesPutKnob(t *testing.T) {
	tests := []struct {
		mode string
		want []string // keys afterwards
	}{
		{"", []string{"a", "b", "secret"}},
		{VariablesMerge, []string{"a", "b", "secret"}},
		{VariablesReplace, []string{"a", "secret"}},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			e := newEnv(t, Options{Knobs: Knobs{VariablesPut: tc.mode}})
			id := e.createConnector(t, "c")
			if err := e.srv.EditConnector(id, map[string]any{"variables": []any{
				map[string]any{"key": "a", "value": "1"}, map[string]any{"key": "b", "value": "2"},
				map[string]any{"key": "secret", "value": "s3cret-value", "secret": true},
			}}); err != nil {
				t.Fatal(err)
			}
			// The secret is named by key only: its value must survive.
			r := e.pw(t, "PUT", "/connectors/1", `{"variables":[{"key":"a","value":"changed"},{"key":"secret"}]}`)
			if r.status != 200 {
				t.Fatalf("update: %d %s", r.status, r.body)
			}
			c, _ := e.srv.Connector(id)
			var keys []string
			vals := map[string]any{}
			for _, v := range c.Variables {
				keys = append(keys, v.Key)
				vals[v.Key] = v.Value
			}
			if diff := cmp.Diff(tc.want, keys); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			if vals["a"] != "changed" || vals["secret"] != "s3cret-value" {
				t.Errorf("values = %v", vals)
			}
		})
	}
}

// TestPatchworksDropsFieldsOutsideRules: create and update keep only the
// fields of their validation rules; certificate_id, session_id and
// platform_app_key are create-only; nothing else is stored or echoed.
func TestPatchworksDropsFieldsOutsideRules(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.pw(t, "POST", "/connectors", `{"name":"c","authentication_implementation_id":"42","timezone":"UTC","date_format":"Y","rate_limit_unit":"minute","rate_limit_duration":1,"certificate_id":7,"colour":"red"}`)
	if r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	data := r.json(t).(map[string]any)["data"].(map[string]any)
	if _, has := data["colour"]; has || data["certificate_id"] != 7.0 {
		t.Errorf("create answered %v", data)
	}
	r = e.pw(t, "PUT", "/connectors/1", `{"certificate_id":9,"session_id":"s","platform_app_key":"k","colour":"blue","name":"d"}`)
	if r.status != 200 {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	data = r.json(t).(map[string]any)["data"].(map[string]any)
	if _, has := data["colour"]; has || data["certificate_id"] != 7.0 || data["name"] != "d" {
		t.Errorf("update answered %v", data)
	}
	c, _ := e.srv.Connector(1)
	for _, k := range []string{"colour", "session_id", "platform_app_key"} {
		if _, has := c.Attributes[k]; has {
			t.Errorf("stored %s", k)
		}
	}
	// A person in the dashboard can still change it.
	if err := e.srv.EditConnector(1, map[string]any{"certificate_id": "11"}); err != nil {
		t.Fatal(err)
	}
	if c, _ := e.srv.Connector(1); c.Attributes["certificate_id"] != "11" {
		t.Errorf("edit: certificate_id = %v", c.Attributes["certificate_id"])
	}
}

// TestMakeTemplates: a created connection starts from templates: api and
// parameters for every type, common too for OAuth types.
func TestMakeTemplates(t *testing.T) {
	e := newEnv(t, Options{})
	for _, tc := range []struct {
		typ               string
		api, params       string
		wantCommonEntries int
	}{
		{"apikey", makeAPITemplate, makeParametersTemplate, 0},
		{"basic", makeAPITemplate, makeParametersTemplate, 0},
		{"oauth-refresh", makeOAuthAPITemplate, makeOAuthParametersTemplate, 2},
	} {
		name := e.createConn(t, "acme", "L "+tc.typ, tc.typ)
		c, _ := e.srv.MakeConnection(name)
		if c.Sections["api"] != tc.api || c.Sections["parameters"] != tc.params || len(c.Common) != tc.wantCommonEntries {
			t.Errorf("%s: %+v", tc.typ, c)
		}
		for _, sec := range []string{"api", "parameters"} {
			if err := checkSection(sec, c.Sections[sec]); err != nil {
				t.Errorf("%s template %s: %v", tc.typ, sec, err)
			}
		}
	}
}

// TestNoRetryAfterKnob: 429s carry Retry-After unless the knob says not.
func TestNoRetryAfterKnob(t *testing.T) {
	for _, no := range []bool{false, true} {
		e := newEnv(t, Options{Knobs: Knobs{Rate429: 1, NoRetryAfter: no}})
		r := e.mk(t, "GET", "/sdk/apps/a/connections", "")
		if r.status != 429 || (r.header.Get("Retry-After") == "") != no {
			t.Errorf("no_retry_after %v: %d Retry-After %q", no, r.status, r.header.Get("Retry-After"))
		}
	}
}

// TestPatchworksBodyNeedsJSONContentType: without Content-Type naming
// JSON, Laravel reads no input from the body.
func TestPatchworksBodyNeedsJSONContentType(t *testing.T) {
	e := newEnv(t, Options{})
	e.createConnector(t, "c")
	h := map[string]string{"Authorization": DefaultPatchworksToken, "Accept": "application/json"}
	if r := e.do(t, "PUT", "/api/v1/connectors/1", h, `{"name":"renamed"}`); r.status != 200 {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	if c, _ := e.srv.Connector(1); c.Attributes["name"] != "c" {
		t.Errorf("name = %v, want it unchanged", c.Attributes["name"])
	}
	if r := e.do(t, "POST", "/api/v1/connectors", h, fmt.Sprintf(connectorBody, "d")); r.status != 422 {
		t.Errorf("create without Content-Type: %d %s, want 422", r.status, r.body)
	}
}
