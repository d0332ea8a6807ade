package emulator

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSeedFile(t *testing.T) {
	e := newEnv(t, Options{})
	res, err := e.srv.SeedFile("testdata/seed.json")
	if err != nil {
		t.Fatal(err)
	}
	want := SeedResult{Make: map[string][]string{"acme-crm": {"acme-crm", "acme-crm2"}, "locked-app": {"locked-app"}}, Patchworks: []int64{1, 2}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("SeedResult (-want +got):\n%s", diff)
	}
	tests := []struct {
		name       string
		path       string
		wantStatus int
		want       string
	}{
		{"raw JSONC section verbatim", "/sdk/apps/connections/acme-crm/api", 200, "{\n  // OAuth endpoints\n  \"authorize\": {\"url\": \"https://acme.example/oauth\"},\n}"},
		{"JSON value section as written", "/sdk/apps/connections/acme-crm/scope", 200, `["read", "write"]`},
		{"never-set section", "/sdk/apps/connections/acme-crm2/scope", 200, `[]`},
		{"common", "/sdk/apps/connections/acme-crm/common", 200, `{"clientId":"abc","clientSecret":"shh"}`},
		{"connectedSystemName", "/sdk/apps/connections/acme-crm2", 200,
			`{"appConnection":{"name":"acme-crm2","label":"ACME key","type":"apikey","connectedSystemName":"acme","appVersion":"1"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.mk(t, "GET", tc.path, "")
			if r.status != tc.wantStatus {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if strings.HasPrefix(tc.want, "{\"") {
				if diff := cmp.Diff(mustJSON(t, tc.want), r.json(t)); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
			} else if string(r.body) != tc.want {
				t.Errorf("body = %q, want %q", r.body, tc.want)
			}
		})
	}
	t.Run("approved app locks common", func(t *testing.T) {
		r := e.mk(t, "PUT", "/sdk/apps/connections/locked-app/common", `{"a":1}`)
		if r.status != 403 {
			t.Errorf("status = %d, want 403", r.status)
		}
	})
	t.Run("patchworks", func(t *testing.T) {
		r := e.pw(t, "GET", "/connectors/1?include=variables", "")
		data := r.json(t).(map[string]any)["data"].(map[string]any)
		vars := data["variables"].([]any)
		if data["name"] != "Shopify (prod)" || len(vars) != 2 || vars[1].(map[string]any)["value"] != nil {
			t.Errorf("seeded connector = %s", r.body)
		}
		if r := e.pw(t, "POST", "/connectors/2/test", ""); r.status != 422 {
			t.Errorf("seeded test_error: %d", r.status)
		}
	})
}

func TestSeedRejectsInvalidAtomically(t *testing.T) {
	e := newEnv(t, Options{})
	tests := []struct {
		name    string
		body    string
		wantErr string
	}{
		{"bad type", `{"make":{"apps":{"a":{"connections":[{"label":"x","type":"oauth2"}]}}}}`, `invalid connection type "oauth2"`},
		{"bad section", `{"make":{"apps":{"a":{"connections":[{"label":"x","type":"basic","sections":{"api":"{,"}}]}}}}`, `in JSONC at position`},
		{"unknown section", `{"make":{"apps":{"a":{"connections":[{"label":"x","type":"basic","sections":{"apis":{}}}]}}}}`, `unknown section "apis"`},
		{"bad connector after a good app", `{"make":{"apps":{"a":{"connections":[{"label":"x","type":"basic"}]}}},"patchworks":{"connectors":[{"name":"x"}]}}`,
			`patchworks.connectors[0]: The authentication implementation id field is required. (and 4 more errors)`},
		{"not JSON", `{`, `seed:`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.control(t, "POST", "seed", tc.body)
			msg, _ := r.json(t).(map[string]any)["error"].(string)
			if r.status != 400 || !strings.Contains(msg, tc.wantErr) {
				t.Errorf("got %d %s, want 400 containing %q", r.status, r.body, tc.wantErr)
			}
		})
	}
	if st := e.srv.State(); len(st.Make.Apps) != len(testApps) || len(st.Patchworks.Connectors) != 0 {
		t.Errorf("a refused seed left objects: %+v", st)
	}
}

func TestOutOfBandMakeEdit(t *testing.T) {
	e := newEnv(t, Options{})
	if r := e.control(t, "POST", "seed", `{"make":{"apps":{"app":{"approved":true,"connections":[{"label":"L","type":"oauth","sections":{"api":"{}"},"common":{"k":"v"}}]}}}}`); r.status != 200 {
		t.Fatalf("seed: %d %s", r.status, r.body)
	}
	r := e.control(t, "PATCH", "make/connections/app", `{"label":"Edited by hand","type":"basic","connectedSystemName":"sys",
		"sections":{"api":"// typed in the console\n{\"x\": 1}","scope":["a"]},"common":{"k":"changed"}}`)
	if r.status != 200 {
		t.Fatalf("edit: %d %s", r.status, r.body)
	}
	want := `{"name":"app","app":"app","label":"Edited by hand","type":"basic","connectedSystemName":"sys",
		"sections":{"api":"// typed in the console\n{\"x\": 1}","scope":"[\"a\"]"},"common":{"k":"changed"}}`
	if diff := cmp.Diff(mustJSON(t, want), r.json(t)); diff != "" {
		t.Errorf("edit answer (-want +got):\n%s", diff)
	}
	// The API sees the drift.
	checks := []struct{ path, want string }{
		{"/sdk/apps/connections/app", `{"appConnection":{"name":"app","label":"Edited by hand","type":"basic","connectedSystemName":"sys","appVersion":"1"}}`},
		{"/sdk/apps/connections/app/common", `{"k":"changed"}`},
	}
	for _, c := range checks {
		if diff := cmp.Diff(mustJSON(t, c.want), e.mk(t, "GET", c.path, "").json(t)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.path, diff)
		}
	}
	if got := string(e.mk(t, "GET", "/sdk/apps/connections/app/api", "").body); got != "// typed in the console\n{\"x\": 1}" {
		t.Errorf("api section = %q", got)
	}
	if r := e.control(t, "PATCH", "make/connections/app", `{"connectedSystemName":null}`); r.status != 200 || r.json(t).(map[string]any)["connectedSystemName"] != nil {
		t.Errorf("clear connectedSystemName: %d %s", r.status, r.body)
	}
	errs := []struct {
		name, path, body string
		want             int
	}{
		{"bad type", "make/connections/app", `{"type":"oauth2"}`, 400},
		{"bad section text", "make/connections/app", `{"sections":{"api":"{"}}`, 400},
		{"unknown field", "make/connections/app", `{"name":"x"}`, 400},
		{"missing connection", "make/connections/nope", `{"label":"x"}`, 404},
		{"unknown endpoint", "make/nothing", `{}`, 404},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			if r := e.control(t, "PATCH", tc.path, tc.body); r.status != tc.want {
				t.Errorf("status = %d, want %d: %s", r.status, tc.want, r.body)
			}
		})
	}
	t.Run("approve and release", func(t *testing.T) {
		e.control(t, "PATCH", "make/apps/app", `{"approved":false}`)
		if r := e.mk(t, "PUT", "/sdk/apps/connections/app/common", `{"k":"api"}`); r.status != 200 {
			t.Errorf("unapproved PUT common: %d", r.status)
		}
		e.control(t, "PATCH", "make/apps/app", `{"approved":true}`)
		if r := e.mk(t, "PUT", "/sdk/apps/connections/app/common", `{"k":"api2"}`); r.status != 403 {
			t.Errorf("approved PUT common: %d", r.status)
		}
	})
	t.Run("delete by hand is immediate", func(t *testing.T) {
		e.srv.SetKnobs(Knobs{DeleteLag: 5})
		if r := e.control(t, "DELETE", "make/connections/app", ""); r.status != 200 {
			t.Fatalf("delete: %d", r.status)
		}
		if got := e.mk(t, "GET", "/sdk/apps/app/connections", "").json(t); !cmp.Equal(got, mustJSON(t, `{"appConnections":[]}`)) {
			t.Errorf("list after delete by hand = %v", got)
		}
	})
}

func TestOutOfBandConnectorEdit(t *testing.T) {
	e := newEnv(t, Options{})
	e.control(t, "POST", "seed", `{"patchworks":{"connectors":[{"name":"c","authentication_implementation_id":"1","timezone":"UTC","date_format":"Y","rate_limit_unit":"day","rate_limit_duration":1,
		"variables":[{"key":"a","value":"1"},{"key":"s","value":"old","secret":true},{"key":"gone","value":"x"}]}]}}`)
	r := e.control(t, "PATCH", "patchworks/connectors/1", `{"timezone":"Europe/Paris","rate_limit_duration":2,
		"variables":[{"key":"a","value":"2"},{"key":"s","value":"new"},{"key":"b","value":"3"}],"remove_variables":["gone"],"test_error":"Token expired."}`)
	if r.status != 200 {
		t.Fatalf("edit: %d %s", r.status, r.body)
	}
	c, _ := e.srv.Connector(1)
	got := map[string]any{}
	for _, v := range c.Variables {
		got[v.Key] = v.Value
	}
	if diff := cmp.Diff(map[string]any{"a": "2", "s": "new", "b": "3"}, got); diff != "" {
		t.Errorf("variables (-want +got):\n%s", diff)
	}
	data := e.pw(t, "GET", "/connectors/1?include=variables", "").json(t).(map[string]any)["data"].(map[string]any)
	if data["timezone"] != "Europe/Paris" || data["rate_limit_duration"] != 2.0 || len(data["variables"].([]any)) != 3 {
		t.Errorf("API after edit = %v", data)
	}
	if r := e.pw(t, "POST", "/connectors/1/test", ""); r.status != 422 || !strings.Contains(string(r.body), "Token expired.") {
		t.Errorf("test after edit: %d %s", r.status, r.body)
	}
	errs := []struct {
		name, method, path, body string
		want                     int
	}{
		{"bad unit", "PATCH", "patchworks/connectors/1", `{"rate_limit_unit":"week"}`, 400},
		{"missing", "PATCH", "patchworks/connectors/9", `{"name":"x"}`, 404},
		{"not an id", "PATCH", "patchworks/connectors/x", `{}`, 404},
		{"delete", "DELETE", "patchworks/connectors/1", ``, 200},
		{"delete again", "DELETE", "patchworks/connectors/1", ``, 404},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			if r := e.control(t, tc.method, tc.path, tc.body); r.status != tc.want {
				t.Errorf("status = %d, want %d: %s", r.status, tc.want, r.body)
			}
		})
	}
}

func TestControlKnobsAndReset(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.control(t, "POST", "knobs", `{"fail_rate":1,"latency":"1ms","rate_limit":600}`)
	want := `{"latency":"1ms","fail_rate":1,"fail_after_write_rate":0,"timeout_rate":0,"rate_429":0,"rate_limit":600,"delete_lag":-1,"ignore_fields":[],"variables_put":"","no_retry_after":false,"rate_window":"0s","rate_headers":"","page_links":""}`
	if diff := cmp.Diff(mustJSON(t, want), r.json(t)); diff != "" {
		t.Errorf("knobs (-want +got):\n%s", diff)
	}
	if r := e.mk(t, "GET", "/sdk/apps/a/connections", ""); r.status < 500 {
		t.Errorf("fail_rate 1 answered %d", r.status)
	}
	e.control(t, "POST", "knobs", `{"fail_rate":0,"latency":0}`)
	if k := e.srv.Knobs(); k.FailRate != 0 || k.Latency != 0 || k.RateLimit != 600 {
		t.Errorf("knobs after partial update = %+v", k)
	}
	for _, bad := range []string{`{"fail_rat":1}`, `{"latency":"soon"}`, `[1]`, `{"variables_put":"sync"}`} {
		if r := e.control(t, "POST", "knobs", bad); r.status != 400 {
			t.Errorf("%s: %d", bad, r.status)
		}
	}
	e.createConn(t, "app", "a", "basic")
	e.createConnector(t, "c")
	if r := e.control(t, "POST", "reset", ""); r.status != 200 {
		t.Fatalf("reset: %d", r.status)
	}
	if st := e.control(t, "GET", "state", "").json(t).(map[string]any); len(st["make"].(map[string]any)["apps"].(map[string]any)) != len(testApps) ||
		!cmp.Equal(st["patchworks"], mustJSON(t, `{"connectors":[]}`)) {
		t.Errorf("state after reset = %v", st)
	}
	// Names and ids start again.
	if n := e.createConn(t, "app", "a", "basic"); n != "app" {
		t.Errorf("name after reset = %q", n)
	}
	if id := e.createConnector(t, "c"); id != 1 {
		t.Errorf("id after reset = %d", id)
	}
	if r := e.control(t, "GET", "nope", ""); r.status != 404 {
		t.Errorf("unknown control endpoint: %d", r.status)
	}
	if r := e.control(t, "GET", "healthz", ""); r.status != 200 {
		t.Errorf("healthz: %d", r.status)
	}
}
