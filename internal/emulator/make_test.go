package emulator

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// createConn creates a connection through the API and returns its name.
func (e *env) createConn(t *testing.T, app, label, typ string) string {
	t.Helper()
	r := e.mk(t, "POST", "/sdk/apps/"+app+"/connections", fmt.Sprintf(`{"type":%q,"label":%q}`, typ, label))
	if r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	return r.json(t).(map[string]any)["appConnection"].(map[string]any)["name"].(string)
}

func TestMakeNames(t *testing.T) {
	e := newEnv(t, Options{})
	var got []string
	for i := range 3 {
		got = append(got, e.createConn(t, "acme-crm", fmt.Sprintf("c%d", i), "basic"))
	}
	if r := e.mk(t, "DELETE", "/sdk/apps/connections/acme-crm2", ""); r.status != 200 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	got = append(got, e.createConn(t, "acme-crm", "c3", "basic"))
	got = append(got, e.createConn(t, "other", "o", "apikey"))
	want := []string{"acme-crm", "acme-crm2", "acme-crm3", "acme-crm4", "other"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	// An app whose natural names are taken by another app skips them.
	e.createConn(t, "x", "a", "basic")
	e.createConn(t, "x", "b", "basic") // x2
	if n := e.createConn(t, "x2", "c", "basic"); n != "x22" {
		// "x2" is taken by app x, so app x2's first connection is x22.
		t.Errorf("name for app x2 = %q, want x22", n)
	}
}

func TestMakeCRUD(t *testing.T) {
	e := newEnv(t, Options{})
	name := e.createConn(t, "acme", "Main", "oauth")
	basic := e.createConn(t, "acme", "Key", "apikey")

	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		want       string
	}{
		{"list", "GET", "/sdk/apps/acme/connections", "", 200,
			`{"appConnections":[{"name":"acme","label":"Main","type":"oauth","app_version":"1"},{"name":"acme2","label":"Key","type":"apikey","app_version":"1"}]}`},
		{"list empty app", "GET", "/sdk/apps/empty/connections", "", 200, `{"appConnections":[]}`},
		{"list unknown app", "GET", "/sdk/apps/nobody/connections", "", 404,
			`{"code":"SC404","message":"Not Found","detail":"App nobody not found."}`},
		{"create in unknown app", "POST", "/sdk/apps/nobody/connections", `{"type":"basic","label":"x"}`, 404,
			`{"code":"SC404","message":"Not Found","detail":"App nobody not found."}`},
		{"get oauth has redirectUri", "GET", "/sdk/apps/connections/" + name, "", 200,
			`{"appConnection":{"name":"acme","label":"Main","type":"oauth","connectedSystemName":null,"appVersion":"1","redirectUri":"https://www.make.com/oauth/cb/app"}}`},
		{"get apikey has no redirectUri", "GET", "/sdk/apps/connections/" + basic, "", 200,
			`{"appConnection":{"name":"acme2","label":"Key","type":"apikey","connectedSystemName":null,"appVersion":"1"}}`},
		{"patch label and system", "PATCH", "/sdk/apps/connections/" + name, `{"label":"Renamed","connectedSystemName":"crm"}`, 200,
			`{"appConnection":{"name":"acme","label":"Renamed","type":"oauth"}}`},
		{"get after patch", "GET", "/sdk/apps/connections/" + name, "", 200,
			`{"appConnection":{"name":"acme","label":"Renamed","type":"oauth","connectedSystemName":"crm","appVersion":"1","redirectUri":"https://www.make.com/oauth/cb/app"}}`},
		{"patch system to null", "PATCH", "/sdk/apps/connections/" + name, `{"connectedSystemName":null}`, 200,
			`{"appConnection":{"name":"acme","label":"Renamed","type":"oauth"}}`},
		{"patch type refused", "PATCH", "/sdk/apps/connections/" + name, `{"type":"basic"}`, 400,
			`{"code":"SC400","message":"Bad Request","detail":"Field \"type\" cannot be updated; only label and connectedSystemName can."}`},
		{"patch other field refused", "PATCH", "/sdk/apps/connections/" + name, `{"label":"x","name":"y"}`, 400,
			`{"code":"SC400","message":"Bad Request","detail":"Field \"name\" cannot be updated; only label and connectedSystemName can."}`},
		{"patch empty label refused", "PATCH", "/sdk/apps/connections/" + name, `{"label":""}`, 400,
			`{"code":"SC400","message":"Bad Request","detail":"Label must be a non-empty string."}`},
		{"patch not json", "PATCH", "/sdk/apps/connections/" + name, `label=x`, 400,
			`{"code":"SC400","message":"Bad Request","detail":"The request body must be a JSON object."}`},
		{"patch missing", "PATCH", "/sdk/apps/connections/nope", `{"label":"x"}`, 404,
			`{"code":"SC404","message":"Not Found","detail":"Connection nope not found."}`},
		{"create bad type", "POST", "/sdk/apps/acme/connections", `{"type":"oauth2","label":"x"}`, 400,
			`{"code":"SC400","message":"Invalid connection type","detail":"Invalid connection type \"oauth2\"; valid types are oauth, oauth-refresh, oauth-resowncre, oauth-clicre, oauth-1, apikey, basic, other."}`},
		{"create without label", "POST", "/sdk/apps/empty/connections", `{"type":"basic"}`, 200,
			`{"appConnection":{"name":"empty","label":"empty","type":"basic"}}`},
		{"create with empty label", "POST", "/sdk/apps/empty/connections", `{"type":"basic","label":""}`, 400,
			`{"code":"SC400","message":"Bad Request","detail":"Label must be a non-empty string."}`},
		{"recreate", "POST", "/sdk/apps/connections/" + name + "/recreate", "", 200, `{"appConnection":"acme"}`},
		{"recreate missing", "POST", "/sdk/apps/connections/nope/recreate", "", 404,
			`{"code":"SC404","message":"Not Found","detail":"Connection nope not found."}`},
		{"get missing", "GET", "/sdk/apps/connections/nope", "", 404,
			`{"code":"SC404","message":"Not Found","detail":"Connection nope not found."}`},
		{"delete", "DELETE", "/sdk/apps/connections/" + basic, "", 200, `{"appConnection":"acme2"}`},
		{"get deleted", "GET", "/sdk/apps/connections/" + basic, "", 404,
			`{"code":"SC404","message":"Not Found","detail":"Connection acme2 not found."}`},
		{"section of deleted", "GET", "/sdk/apps/connections/" + basic + "/api", "", 404,
			`{"code":"SC404","message":"Not Found","detail":"Connection acme2 not found."}`},
		{"common of deleted", "GET", "/sdk/apps/connections/" + basic + "/common", "", 404,
			`{"code":"SC404","message":"Not Found","detail":"Connection acme2 not found."}`},
		{"delete again", "DELETE", "/sdk/apps/connections/" + basic, "", 404,
			`{"code":"SC404","message":"Not Found","detail":"Connection acme2 not found."}`},
		{"list after delete (lag off)", "GET", "/sdk/apps/acme/connections", "", 200,
			`{"appConnections":[{"name":"acme","label":"Renamed","type":"oauth","app_version":"1"}]}`},
		{"paths are case-sensitive", "GET", "/sdk/apps/connections/ACME", "", 404,
			`{"code":"SC404","message":"Not Found","detail":"Connection ACME not found."}`},
		{"route case-sensitive", "GET", "/SDK/apps/acme/connections", "", 404,
			`{"code":"SC404","message":"Not Found","detail":"Route /api/v2/SDK/apps/acme/connections not found."}`},
		{"unknown section", "GET", "/sdk/apps/connections/" + name + "/Api", "", 404,
			`{"code":"SC404","message":"Not Found","detail":"Section Api not found."}`},
		{"method not allowed", "PUT", "/sdk/apps/acme/connections", `{}`, 405,
			`{"code":"SC405","message":"Method Not Allowed","detail":"Method PUT is not allowed on /api/v2/sdk/apps/acme/connections."}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.mk(t, tc.method, tc.path, tc.body)
			if r.status != tc.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", r.status, tc.wantStatus, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if diff := cmp.Diff(mustJSON(t, tc.want), r.json(t)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMakeAuth(t *testing.T) {
	e := newEnv(t, Options{MakeToken: "tok"})
	tests := []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"missing", nil, 401},
		{"wrong token", map[string]string{"Authorization": "Token nope"}, 401},
		{"no prefix", map[string]string{"Authorization": "tok"}, 401},
		{"bearer", map[string]string{"Authorization": "Bearer tok"}, 401},
		{"right", map[string]string{"Authorization": "Token tok"}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, "GET", "/api/v2/sdk/apps/a/connections", tc.header, "")
			if r.status != tc.want {
				t.Fatalf("status = %d, want %d", r.status, tc.want)
			}
			if tc.want != 401 {
				return
			}
			body := r.json(t).(map[string]any)
			if body["code"] != "SC401" || body["message"] == nil || body["detail"] == nil {
				t.Errorf("401 body = %s", r.body)
			}
			if strings.Contains(string(r.body), "tok\"") {
				t.Errorf("401 body echoes the token: %s", r.body)
			}
		})
	}
}

func TestMakeDeleteLag(t *testing.T) {
	tests := []struct {
		name      string
		lag       int
		wantLists [][]string // names in each list after the delete
	}{
		{"default lag shows it in one list", 0, [][]string{{"app", "app2"}, {"app"}, {"app"}}},
		{"lag of two", 2, [][]string{{"app", "app2"}, {"app", "app2"}, {"app"}}},
		{"lag off", -1, [][]string{{"app"}, {"app"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{Knobs: Knobs{DeleteLag: tc.lag}})
			if tc.lag == 0 {
				e.srv.UpdateKnobs(func(k *Knobs) { k.DeleteLag = 0 })
			}
			e.createConn(t, "app", "a", "basic")
			e.createConn(t, "app", "b", "basic")
			if r := e.mk(t, "DELETE", "/sdk/apps/connections/app2", ""); r.status != 200 {
				t.Fatalf("delete: %d", r.status)
			}
			if r := e.mk(t, "GET", "/sdk/apps/connections/app2", ""); r.status != 404 {
				t.Errorf("GET of a deleted connection = %d, want 404 at once", r.status)
			}
			var got [][]string
			for range tc.wantLists {
				var names []string
				for _, it := range e.mk(t, "GET", "/sdk/apps/app/connections", "").json(t).(map[string]any)["appConnections"].([]any) {
					names = append(names, it.(map[string]any)["name"].(string))
				}
				got = append(got, names)
			}
			if diff := cmp.Diff(tc.wantLists, got); diff != "" {
				t.Errorf("lists (-want +got):\n%s", diff)
			}
			if n := len(e.srv.MakeConnections("app")); n != 1 {
				t.Errorf("MakeConnections = %d, want 1 (the lag is only in lists)", n)
			}
		})
	}
}

// TestMakeAbsentApp: an app the server was not given, or one marked
// absent, answers list and create with 404 and Make's error body; seeding
// or AddMakeApps makes it exist.
func TestMakeAbsentApp(t *testing.T) {
	e := newEnv(t, Options{MakeApps: []string{}})
	if _, err := e.srv.Seed(Seed{Make: SeedMake{Apps: map[string]SeedApp{"gone": {Absent: true}, "seeded": {}}}}); err != nil {
		t.Fatal(err)
	}
	for _, app := range []string{"gone", "never-seeded"} {
		for _, m := range []string{"GET", "POST"} {
			r := e.mk(t, m, "/sdk/apps/"+app+"/connections", `{"type":"basic","label":"x"}`)
			want := map[string]any{"code": "SC404", "message": "Not Found", "detail": "App " + app + " not found."}
			if r.status != 404 || !cmp.Equal(r.json(t), want) {
				t.Errorf("%s %s: %d %s", m, app, r.status, r.body)
			}
		}
	}
	if r := e.mk(t, "GET", "/sdk/apps/seeded/connections", ""); r.status != 200 {
		t.Errorf("seeded app: %d %s", r.status, r.body)
	}
	e.srv.AddMakeApps("never-seeded")
	if r := e.mk(t, "POST", "/sdk/apps/never-seeded/connections", `{"type":"basic","label":"x"}`); r.status != 200 {
		t.Errorf("declared app: %d %s", r.status, r.body)
	}
	e.srv.Reset()
	if r := e.mk(t, "GET", "/sdk/apps/never-seeded/connections", ""); r.status != 404 {
		t.Errorf("after reset, a declared app is gone: %d %s", r.status, r.body)
	}
}

func TestMakeSections(t *testing.T) {
	e := newEnv(t, Options{})
	name := e.createConn(t, "app", "c", "oauth")
	base := "/sdk/apps/connections/" + name + "/"

	t.Run("defaults", func(t *testing.T) {
		// A new OAuth connection starts from the editor's templates.
		want := map[string]string{"api": makeOAuthAPITemplate, "parameters": makeOAuthParametersTemplate, "scopes": "{}", "scope": "[]", "install": "{}", "installSpec": "[]"}
		for sec, text := range want {
			r := e.mk(t, "GET", base+sec, "")
			if r.status != 200 || string(r.body) != text || r.header.Get("Content-Type") != "application/jsonc" {
				t.Errorf("%s: %d %q %q, want 200 %q application/jsonc", sec, r.status, r.body, r.header.Get("Content-Type"), text)
			}
		}
	})

	const withComments = "{\n  // where to log in\n  \"authorize\": {\"url\": \"https://x/a\",}, /* done */\n}"
	steps := []struct {
		name        string
		contentType string
		sec         string
		body        string
		wantStatus  int
		want        string // response body
		wantStored  string // GET afterwards
	}{
		{"jsonc with comments", "application/jsonc", "api", withComments, 200,
			`{"change":{"id":1,"group":"connection","item":"app","code":"api"}}`, withComments},
		{"same value other comments", "application/jsonc", "api", `{"authorize":{"url":"https://x/a"}} // new`, 200,
			`{"change":{}}`, `{"authorize":{"url":"https://x/a"}} // new`},
		{"changed value", "application/jsonc", "api", `{"authorize":{"url":"https://x/b"}}`, 200,
			`{"change":{"id":2,"group":"connection","item":"app","code":"api"}}`, `{"authorize":{"url":"https://x/b"}}`},
		{"json content type accepted", "application/json", "parameters", `[{"name":"k","type":"text"}]`, 200,
			`{"change":{"id":3,"group":"connection","item":"app","code":"parameters"}}`, `[{"name":"k","type":"text"}]`},
		{"content type with charset", "application/jsonc; charset=utf-8", "scope", `["read",]`, 200,
			`{"change":{"id":4,"group":"connection","item":"app","code":"scope"}}`, `["read",]`},
		{"default value is no change", "application/jsonc", "install", `{}`, 200, `{"change":{}}`, `{}`},
		{"malformed", "application/jsonc", "scopes", `{"a": }`, 400,
			`{"code":"SC400","message":"Invalid JSONC","detail":"Unexpected token '}' in JSONC at position 6"}`, `{}`},
		{"scalar refused", "application/jsonc", "scopes", `"x"`, 400,
			`{"code":"SC400","message":"Bad Request","detail":"Section scopes must be a JSON object or array."}`, `{}`},
		{"other content type", "text/plain", "scopes", `{}`, 415,
			`{"code":"SC415","message":"Unsupported Media Type","detail":"Send sections as application/jsonc or application/json."}`, `{}`},
	}
	for _, tc := range steps {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, "PUT", "/api/v2"+base+tc.sec, map[string]string{"Authorization": "Token " + DefaultMakeToken, "Content-Type": tc.contentType}, tc.body)
			if r.status != tc.wantStatus {
				t.Fatalf("status = %d, want %d: %s", r.status, tc.wantStatus, r.body)
			}
			if diff := cmp.Diff(mustJSON(t, tc.want), r.json(t)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			g := e.mk(t, "GET", base+tc.sec, "")
			if string(g.body) != tc.wantStored {
				t.Errorf("stored %q, want %q", g.body, tc.wantStored)
			}
		})
	}
	t.Run("unknown section", func(t *testing.T) {
		r := e.mkc(t, "PUT", base+"apis", `{}`)
		if r.status != 404 {
			t.Errorf("status = %d, want 404", r.status)
		}
	})
	t.Run("missing connection", func(t *testing.T) {
		r := e.mkc(t, "PUT", "/sdk/apps/connections/nope/api", `{}`)
		if r.status != 404 {
			t.Errorf("status = %d, want 404", r.status)
		}
	})
	t.Run("legacy null from a seed", func(t *testing.T) {
		res, err := e.srv.Seed(Seed{Make: SeedMake{Apps: map[string]SeedApp{"legacy": {Connections: []SeedConnection{
			{Label: "l", Type: "basic", Sections: map[string]json.RawMessage{"parameters": json.RawMessage("null")}},
		}}}}})
		if err != nil {
			t.Fatal(err)
		}
		r := e.mk(t, "GET", "/sdk/apps/connections/"+res.Make["legacy"][0]+"/parameters", "")
		if string(r.body) != "null" {
			t.Errorf("legacy section = %q, want null", r.body)
		}
	})
}

func TestMakeCommon(t *testing.T) {
	e := newEnv(t, Options{})
	name := e.createConn(t, "app", "c", "oauth")
	path := "/sdk/apps/connections/" + name + "/common"
	steps := []struct {
		name       string
		method     string
		body       string
		approved   bool
		wantStatus int
		want       string
	}{
		{"templated at first", "GET", "", false, 200, `{"clientId":"","clientSecret":""}`},
		{"set", "PUT", `{"clientId":"ENTER_CLIENT_ID_HERE","clientSecret":"s"}`, false, 200, `{"changed":true}`},
		{"read back", "GET", "", false, 200, `{"clientId":"ENTER_CLIENT_ID_HERE","clientSecret":"s"}`},
		{"same again", "PUT", `{"clientSecret":"s","clientId":"ENTER_CLIENT_ID_HERE"}`, false, 200, `{"changed":false}`},
		{"array refused", "PUT", `["a"]`, false, 400,
			`{"code":"SC400","message":"Common data must be a collection","detail":"Common data must be a collection."}`},
		{"string refused", "PUT", `"a"`, false, 400,
			`{"code":"SC400","message":"Common data must be a collection","detail":"Common data must be a collection."}`},
		{"comments refused", "PUT", `{"a": 1 // c
}`, false, 400, `{"code":"SC400","message":"Bad Request","detail":"The request body is not valid JSON (at position 9)."}`},
		{"locked when approved", "PUT", `{"clientId":"new"}`, true, 403,
			`{"code":"SC403","message":"Common data is locked","detail":"Common data is locked because the app app is approved."}`},
		{"unchanged after lock", "GET", "", true, 200, `{"clientId":"ENTER_CLIENT_ID_HERE","clientSecret":"s"}`},
		{"unlocked again", "PUT", `{"clientId":"new"}`, false, 200, `{"changed":true}`},
	}
	for _, tc := range steps {
		t.Run(tc.name, func(t *testing.T) {
			e.srv.SetApproved("app", tc.approved)
			r := e.mk(t, tc.method, path, tc.body)
			if r.status != tc.wantStatus {
				t.Fatalf("status = %d, want %d: %s", r.status, tc.wantStatus, r.body)
			}
			if diff := cmp.Diff(mustJSON(t, tc.want), r.json(t)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}
