package emulator

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func (e *env) createConnector(t *testing.T, name string) int64 {
	t.Helper()
	r := e.pw(t, "POST", "/connectors", fmt.Sprintf(connectorBody, name))
	if r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	return int64(r.json(t).(map[string]any)["data"].(map[string]any)["id"].(float64))
}

func TestPatchworksCRUD(t *testing.T) {
	e := newEnv(t, Options{})
	created := `{"id":1,"name":"Shop","authentication_implementation_id":"42","timezone":"Europe/London","date_format":"d/m/Y H:i",
		"rate_limit_unit":"minute","rate_limit_duration":60,"connection_pool_id":null,"certificate_id":null,
		"created_at":"2026-01-02T03:04:05.000000Z","updated_at":"2026-01-02T03:04:05.000000Z"}`
	withVars := `{"id":1,"name":"Shop","authentication_implementation_id":"42","timezone":"Europe/London","date_format":"d/m/Y H:i",
		"rate_limit_unit":"minute","rate_limit_duration":60,"connection_pool_id":null,"certificate_id":null,
		"created_at":"2026-01-02T03:04:05.000000Z","updated_at":"2026-01-02T03:04:05.000000Z",
		"variables":[
		  {"id":1,"key":"domain","value":"acme.myshopify.com","label":"Shop domain","secret":false,"locked":false,"pivot":{"alias":"shop","configurable":true,"required":true,"advanced":false}},
		  {"id":2,"key":"token","value":null,"label":null,"secret":true,"locked":false,"pivot":{"alias":null,"configurable":false,"required":false,"advanced":false}}]}`
	updated := `{"id":1,"name":"Shop (prod)","authentication_implementation_id":"42","timezone":"Europe/London","date_format":"d/m/Y H:i",
		"rate_limit_unit":"hour","rate_limit_duration":5,"connection_pool_id":7,"certificate_id":null,
		"created_at":"2026-01-02T03:04:05.000000Z","updated_at":"2026-01-02T03:05:05.000000Z",
		"variables":[
		  {"id":1,"key":"domain","value":"new.myshopify.com","label":"Shop domain","secret":false,"locked":true,"pivot":{"alias":"shop","configurable":true,"required":true,"advanced":true}},
		  {"id":2,"key":"token","value":null,"label":null,"secret":true,"locked":false,"pivot":{"alias":null,"configurable":false,"required":false,"advanced":false}},
		  {"id":3,"key":"extra","value":"v","label":null,"secret":false,"locked":false,"pivot":{"alias":null,"configurable":false,"required":false,"advanced":false}}]}`
	steps := []struct {
		name       string
		method     string
		path       string
		body       string
		advance    time.Duration
		wantStatus int
		want       string
	}{
		{"create", "POST", "/connectors", `{"name":"Shop","authentication_implementation_id":"42","timezone":"Europe/London","date_format":"d/m/Y H:i","rate_limit_unit":"minute","rate_limit_duration":60,"session_id":"s","platform_app_key":"k",
			"variables":[{"key":"domain","value":"acme.myshopify.com","label":"Shop domain","pivot":{"alias":"shop","configurable":true,"required":true,"advanced":false}},{"key":"token","value":"t0ps3cret","secret":true}]}`,
			0, 200, `{"data":` + created + `}`},
		{"show", "GET", "/connectors/1", "", 0, 200, `{"data":` + created + `}`},
		{"show with variables, secret null", "GET", "/connectors/1?include=variables", "", 0, 200, `{"data":` + withVars + `}`},
		{"update part, upsert variables by id and key", "PUT", "/connectors/1?include=variables",
			`{"name":"Shop (prod)","rate_limit_unit":"hour","rate_limit_duration":"5","connection_pool_id":7,
			  "variables":[{"id":1,"value":"new.myshopify.com","locked":true,"pivot":{"advanced":true}},{"key":"extra","value":"v"}]}`,
			time.Minute, 200, `{"data":` + updated + `}`},
		{"update unknown variable id", "PUT", "/connectors/1", `{"variables":[{"id":99,"value":"x"}]}`, 0, 422,
			`{"message":"The selected variables.0.id is invalid.","errors":{"variables.0.id":["The selected variables.0.id is invalid."]}}`},
		{"update bad unit", "PUT", "/connectors/1", `{"rate_limit_unit":"week","name":null}`, 0, 422,
			`{"message":"The name field is required. (and 1 more error)","errors":{"name":["The name field is required."],"rate_limit_unit":["The selected rate limit unit is invalid."]}}`},
		{"update missing", "PUT", "/connectors/99", `{"name":"x"}`, 0, 404, `{"message":"Not found."}`},
		{"test ok", "POST", "/connectors/1/test", "", 0, 200, ``},
		{"test missing", "POST", "/connectors/99/test", "", 0, 404, `{"message":"Not found."}`},
		{"delete", "DELETE", "/connectors/1", "", 0, 200, `{"message":"Connector deleted."}`},
		{"show deleted", "GET", "/connectors/1", "", 0, 404, `{"message":"Not found."}`},
		{"delete again", "DELETE", "/connectors/1", "", 0, 404, `{"message":"Not found."}`},
		{"id not integer", "GET", "/connectors/abc", "", 0, 404, `{"message":"Not found."}`},
		{"unknown route", "GET", "/connectors/1/nope", "", 0, 404, `{"message":"The route api/v1/connectors/1/nope could not be found."}`},
		{"other resource", "GET", "/flows", "", 0, 404, `{"message":"The route api/v1/flows could not be found."}`},
		{"method not allowed", "DELETE", "/connectors", "", 0, 405,
			`{"message":"The DELETE method is not supported for route api/v1/connectors. Supported methods: GET, POST."}`},
		{"no PATCH", "PATCH", "/connectors/1", `{"name":"x"}`, 0, 405,
			`{"message":"The PATCH method is not supported for route api/v1/connectors/1. Supported methods: GET, PUT, DELETE."}`},
		{"test needs POST", "GET", "/connectors/2/test", "", 0, 405,
			`{"message":"The GET method is not supported for route api/v1/connectors/2/test. Supported methods: POST."}`},
		{"bad include", "GET", "/connectors/1?include=certificate", "", 0, 400,
			`{"message":"Requested include(s) ` + "`certificate`" + ` are not allowed. Allowed include(s) are ` + "`variables`" + `."}`},
		{"not json", "POST", "/connectors", `name=x`, 0, 400, `{"message":"The request body must be a JSON object."}`},
	}
	for _, tc := range steps {
		t.Run(tc.name, func(t *testing.T) {
			e.clock.Advance(tc.advance)
			r := e.pw(t, tc.method, tc.path, tc.body)
			if r.status != tc.wantStatus {
				t.Fatalf("status = %d, want %d: %s", r.status, tc.wantStatus, r.body)
			}
			if tc.want == "" {
				if len(r.body) != 0 {
					t.Errorf("body = %q, want none", r.body)
				}
				return
			}
			if diff := cmp.Diff(mustJSON(t, tc.want), r.json(t)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
	// The stored secret is the real one: only the API hides it.
	e.createConnector(t, "other")
	if _, err := e.srv.Seed(Seed{Patchworks: SeedPatchworks{Connectors: []map[string]any{{
		"name": "s", "authentication_implementation_id": 1, "timezone": "UTC", "date_format": "Y", "rate_limit_unit": "day", "rate_limit_duration": 1,
		"variables": []any{map[string]any{"key": "k", "value": "v", "secret": true}},
	}}}}); err != nil {
		t.Fatal(err)
	}
	c, ok := e.srv.Connector(3)
	if !ok || c.Variables[0].Value != "v" || c.Attributes["authentication_implementation_id"] != int64(1) {
		t.Errorf("Connector(3) = %+v, %v", c, ok)
	}
}

func TestPatchworksCreateValidation(t *testing.T) {
	e := newEnv(t, Options{})
	tests := []struct {
		name string
		body string
		want string
	}{
		{"everything missing", `{}`, `{"message":"The name field is required. (and 5 more errors)","errors":{
			"name":["The name field is required."],"authentication_implementation_id":["The authentication implementation id field is required."],
			"timezone":["The timezone field is required."],"date_format":["The date format field is required."],
			"rate_limit_unit":["The rate limit unit field is required."],"rate_limit_duration":["The rate limit duration field is required."]}}`},
		{"bad enum and integer", `{"name":"x","authentication_implementation_id":"1","timezone":"UTC","date_format":"Y","rate_limit_unit":"week","rate_limit_duration":1.5}`,
			`{"message":"The selected rate limit unit is invalid. (and 1 more error)","errors":{
			"rate_limit_unit":["The selected rate limit unit is invalid."],"rate_limit_duration":["The rate limit duration field must be an integer."]}}`},
		{"wrong types", `{"name":5,"authentication_implementation_id":true,"timezone":"UTC","date_format":"Y","rate_limit_unit":"day","rate_limit_duration":1,"connection_pool_id":"p"}`,
			`{"message":"The name field must be a string. (and 2 more errors)","errors":{
			"name":["The name field must be a string."],"authentication_implementation_id":["The authentication implementation id field must be a string or an integer."],
			"connection_pool_id":["The connection pool id field must be an integer."]}}`},
		{"name too long", `{"name":"` + strings.Repeat("n", 256) + `","authentication_implementation_id":"1","timezone":"UTC","date_format":"Y","rate_limit_unit":"day","rate_limit_duration":1}`,
			`{"message":"The name field must not be greater than 255 characters.","errors":{"name":["The name field must not be greater than 255 characters."]}}`},
		{"variables", `{"name":"x","authentication_implementation_id":"1","timezone":"UTC","date_format":"Y","rate_limit_unit":"day","rate_limit_duration":1,
			"variables":[{"value":"v"},{"key":"a","secret":"yes"},{"key":"a"},{"key":"b","pivot":{"required":"maybe"}}]}`,
			`{"message":"The variables.0.key field is required. (and 3 more errors)","errors":{
			"variables.0.key":["The variables.0.key field is required."],"variables.1.secret":["The variables.1.secret field must be true or false."],
			"variables.2.key":["The variables.2.key field has a duplicate value."],"variables.3.pivot.required":["The variables.3.pivot.required field must be true or false."]}}`},
		{"variables not a list", `{"name":"x","authentication_implementation_id":"1","timezone":"UTC","date_format":"Y","rate_limit_unit":"day","rate_limit_duration":1,"variables":{}}`,
			`{"message":"The variables field must be an array.","errors":{"variables":["The variables field must be an array."]}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.pw(t, "POST", "/connectors", tc.body)
			if r.status != 422 {
				t.Fatalf("status = %d, want 422: %s", r.status, r.body)
			}
			if diff := cmp.Diff(mustJSON(t, tc.want), r.json(t)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("without a JSON Accept header Laravel redirects back", func(t *testing.T) {
		r := e.do(t, "POST", "/api/v1/connectors", map[string]string{"Authorization": DefaultPatchworksToken, "Content-Type": "application/json"}, `{}`)
		if r.status != 302 || r.header.Get("Location") != e.ts.URL+"/" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Errorf("got %d Location %q Content-Type %q", r.status, r.header.Get("Location"), r.header.Get("Content-Type"))
		}
	})
	if n := e.srv.ConnectorCount(); n != 0 {
		t.Errorf("invalid creates stored %d connectors", n)
	}
}

func TestPatchworksAuth(t *testing.T) {
	e := newEnv(t, Options{PatchworksToken: "key"})
	tests := []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"missing", map[string]string{"Accept": "application/json"}, 401},
		{"bearer", map[string]string{"Authorization": "Bearer key", "Accept": "application/json"}, 401},
		{"make style", map[string]string{"Authorization": "Token key", "Accept": "application/json"}, 401},
		{"wrong", map[string]string{"Authorization": "nope", "Accept": "application/json"}, 401},
		{"right", map[string]string{"Authorization": "key", "Accept": "application/json"}, 200},
		{"right without Accept", map[string]string{"Authorization": "key"}, 200},
		// Laravel only answers JSON errors to requests that ask for JSON.
		{"wrong without Accept redirects to login", map[string]string{"Authorization": "nope", "Accept": "*/*"}, 302},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, "GET", "/api/v1/connectors", tc.header, "")
			if r.status != tc.want {
				t.Fatalf("status = %d, want %d", r.status, tc.want)
			}
			if tc.want == 302 && r.header.Get("Location") != e.ts.URL+"/login" {
				t.Errorf("Location = %q", r.header.Get("Location"))
			}
			if tc.want == 401 {
				if diff := cmp.Diff(mustJSON(t, `{"message":"Unauthenticated."}`), r.json(t)); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// listNames returns the names on one page and its meta.
func listPage(t *testing.T, e *env, query string) ([]string, map[string]any, map[string]any) {
	t.Helper()
	r := e.pw(t, "GET", "/connectors"+query, "")
	if r.status != 200 {
		t.Fatalf("list %s: %d %s", query, r.status, r.body)
	}
	body := r.json(t).(map[string]any)
	names := []string{}
	for _, it := range body["data"].([]any) {
		names = append(names, it.(map[string]any)["name"].(string))
	}
	return names, body["meta"].(map[string]any), body["links"].(map[string]any)
}

func TestPatchworksPagination(t *testing.T) {
	e := newEnv(t, Options{})
	var seed []map[string]any
	for i := range 250 {
		seed = append(seed, map[string]any{"name": fmt.Sprintf("c%03d", i+1), "authentication_implementation_id": "1", "timezone": "UTC",
			"date_format": "Y", "rate_limit_unit": "minute", "rate_limit_duration": 60})
	}
	if _, err := e.srv.Seed(Seed{Patchworks: SeedPatchworks{Connectors: seed}}); err != nil {
		t.Fatal(err)
	}
	base := e.ts.URL + "/api/v1/connectors"
	tests := []struct {
		name      string
		query     string
		wantCount int
		wantFirst string
		wantMeta  map[string]any
		wantLinks map[string]any
	}{
		{"page 1 of 3", "?per_page=100", 100, "c001",
			map[string]any{"current_page": 1.0, "last_page": 3.0, "per_page": 100.0, "total": 250.0, "from": 1.0, "to": 100.0, "path": base},
			map[string]any{"first": base + "?page=1&per_page=100", "last": base + "?page=3&per_page=100", "prev": nil, "next": base + "?page=2&per_page=100"}},
		{"page 2 of 3", "?per_page=100&page=2", 100, "c101",
			map[string]any{"current_page": 2.0, "last_page": 3.0, "per_page": 100.0, "total": 250.0, "from": 101.0, "to": 200.0, "path": base},
			map[string]any{"first": base + "?page=1&per_page=100", "last": base + "?page=3&per_page=100", "prev": base + "?page=1&per_page=100", "next": base + "?page=3&per_page=100"}},
		{"page 3 of 3", "?per_page=100&page=3", 50, "c201",
			map[string]any{"current_page": 3.0, "last_page": 3.0, "per_page": 100.0, "total": 250.0, "from": 201.0, "to": 250.0, "path": base},
			map[string]any{"first": base + "?page=1&per_page=100", "last": base + "?page=3&per_page=100", "prev": base + "?page=2&per_page=100", "next": nil}},
		{"past the end", "?per_page=100&page=4", 0, "",
			map[string]any{"current_page": 4.0, "last_page": 3.0, "per_page": 100.0, "total": 250.0, "from": nil, "to": nil, "path": base},
			map[string]any{"first": base + "?page=1&per_page=100", "last": base + "?page=3&per_page=100", "prev": base + "?page=3&per_page=100", "next": nil}},
		{"default page size", "", DefaultPerPage, "c001",
			map[string]any{"current_page": 1.0, "last_page": 17.0, "per_page": 15.0, "total": 250.0, "from": 1.0, "to": 15.0, "path": base},
			map[string]any{"first": base + "?page=1", "last": base + "?page=17", "prev": nil, "next": base + "?page=2"}},
		{"sorted descending", "?sort=-name&per_page=5", 5, "c250",
			map[string]any{"current_page": 1.0, "last_page": 50.0, "per_page": 5.0, "total": 250.0, "from": 1.0, "to": 5.0, "path": base},
			map[string]any{"first": base + "?page=1&per_page=5&sort=-name", "last": base + "?page=50&per_page=5&sort=-name", "prev": nil, "next": base + "?page=2&per_page=5&sort=-name"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			names, meta, links := listPage(t, e, tc.query)
			if len(names) != tc.wantCount || (tc.wantCount > 0 && names[0] != tc.wantFirst) {
				t.Errorf("got %d names starting %v, want %d starting %s", len(names), names[:min(1, len(names))], tc.wantCount, tc.wantFirst)
			}
			delete(meta, "links")
			if diff := cmp.Diff(tc.wantMeta, meta); diff != "" {
				t.Errorf("meta (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantLinks, links); diff != "" {
				t.Errorf("links (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("following links.next visits every connector once", func(t *testing.T) {
		seen := map[string]bool{}
		next := "?per_page=100&include=variables"
		pages := 0
		for next != "" {
			names, _, links := listPage(t, e, next)
			pages++
			for _, n := range names {
				if seen[n] {
					t.Fatalf("%s seen twice", n)
				}
				seen[n] = true
			}
			next = ""
			if s, ok := links["next"].(string); ok {
				next = strings.TrimPrefix(s, base)
			}
		}
		if pages != 3 || len(seen) != 250 {
			t.Errorf("pages = %d, connectors = %d, want 3 and 250", pages, len(seen))
		}
	})
}

func TestPatchworksListQuery(t *testing.T) {
	e := newEnv(t, Options{})
	for _, n := range []string{"b", "a", "c", "a,b"} {
		e.createConnector(t, n)
	}
	tests := []struct {
		name       string
		query      string
		wantStatus int
		wantNames  []string
		wantBody   string
	}{
		{"documented filter", "?filter[system]=x", 200, []string{}, ""},
		{"documented filters combine", "?filter[canonical_key]=a&filter[forSession]=1", 200, []string{}, ""},
		{"sort ascending", "?sort=name", 200, []string{"a", "a,b", "b", "c"}, ""},
		{"sort descending", "?sort=-name", 200, []string{"c", "b", "a,b", "a"}, ""},
		{"no name filter", "?filter[name]=a", 400, nil,
			`{"message":"Requested filter(s) ` + "`name`" + ` are not allowed. Allowed filter(s) are ` + "`canonical_key, system, system_template_id, forSystemTemplate, forSession, platformSession`" + `."}`},
		{"no id filter", "?filter[id]=1", 400, nil,
			`{"message":"Requested filter(s) ` + "`id`" + ` are not allowed. Allowed filter(s) are ` + "`canonical_key, system, system_template_id, forSystemTemplate, forSession, platformSession`" + `."}`},
		{"unknown sort", "?sort=-created_at", 400, nil,
			`{"message":"Requested sort(s) ` + "`-created_at`" + ` is not allowed. Allowed sort(s) are ` + "`name`" + `."}`},
		{"unknown include", "?include=variables,certificate", 400, nil,
			`{"message":"Requested include(s) ` + "`certificate`" + ` are not allowed. Allowed include(s) are ` + "`variables`" + `."}`},
		{"per_page too big", "?per_page=101", 422, nil,
			`{"message":"The per page field must be between 1 and 100.","errors":{"per_page":["The per page field must be between 1 and 100."]}}`},
		{"per_page zero", "?per_page=0", 422, nil,
			`{"message":"The per page field must be between 1 and 100.","errors":{"per_page":["The per page field must be between 1 and 100."]}}`},
		{"per_page not a number", "?per_page=ten&page=0", 422, nil,
			`{"message":"The page field must be at least 1. (and 1 more error)","errors":{"page":["The page field must be at least 1."],"per_page":["The per page field must be an integer."]}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.pw(t, "GET", "/connectors"+tc.query, "")
			if r.status != tc.wantStatus {
				t.Fatalf("status = %d, want %d: %s", r.status, tc.wantStatus, r.body)
			}
			if tc.wantBody != "" {
				if diff := cmp.Diff(mustJSON(t, tc.wantBody), r.json(t)); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
				return
			}
			names, _, _ := listPage(t, e, tc.query)
			if diff := cmp.Diff(tc.wantNames, names); diff != "" {
				t.Errorf("names (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("variables key only with include", func(t *testing.T) {
		for q, want := range map[string]bool{"": false, "?include=variables": true} {
			item := e.pw(t, "GET", "/connectors"+q, "").json(t).(map[string]any)["data"].([]any)[0].(map[string]any)
			if _, has := item["variables"]; has != want {
				t.Errorf("%q: variables present = %v, want %v", q, has, want)
			}
		}
	})
}

func TestPatchworksTestAndInUse(t *testing.T) {
	e := newEnv(t, Options{})
	res, err := e.srv.Seed(Seed{Patchworks: SeedPatchworks{Connectors: []map[string]any{
		{"name": "bad", "authentication_implementation_id": "1", "timezone": "UTC", "date_format": "Y", "rate_limit_unit": "day", "rate_limit_duration": 1, "test_error": "Invalid credentials.", "in_use": true},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Patchworks[0]
	r := e.pw(t, "POST", fmt.Sprintf("/connectors/%d/test", id), "")
	if r.status != 422 || string(r.body) != `{"message":"Invalid credentials."}` {
		t.Errorf("failing test: %d %s", r.status, r.body)
	}
	r = e.pw(t, "DELETE", fmt.Sprintf("/connectors/%d", id), "")
	if r.status != 409 || !strings.Contains(string(r.body), "process flow") {
		t.Errorf("delete in use: %d %s", r.status, r.body)
	}
	if err := e.srv.EditConnector(id, map[string]any{"test_error": nil, "in_use": false}); err != nil {
		t.Fatal(err)
	}
	if r := e.pw(t, "POST", fmt.Sprintf("/connectors/%d/test", id), ""); r.status != 200 {
		t.Errorf("test after fix: %d %s", r.status, r.body)
	}
	if r := e.pw(t, "DELETE", fmt.Sprintf("/connectors/%d", id), ""); r.status != 200 {
		t.Errorf("delete after release: %d %s", r.status, r.body)
	}
}

// Secret values are write-only on the wire, and no error repeats a value
// the client sent.
func TestSecretsNeverEchoed(t *testing.T) {
	const secret = "T0P-S3CRET-value"
	e := newEnv(t, Options{})
	id := e.createConnector(t, "c")
	name := e.createConn(t, "app", "l", "oauth")
	e.srv.SetApproved("app", true)
	calls := []struct {
		name string
		r    func() resp
	}{
		{"create with secret variable", func() resp {
			return e.pw(t, "POST", "/connectors?include=variables", strings.Replace(connectorBody, "%q", `"s","variables":[{"key":"k","value":"`+secret+`","secret":true}]`, 1))
		}},
		{"update with secret variable", func() resp {
			return e.pw(t, "PUT", fmt.Sprintf("/connectors/%d?include=variables", id), `{"variables":[{"key":"k","value":"`+secret+`","secret":true}]}`)
		}},
		{"show", func() resp { return e.pw(t, "GET", fmt.Sprintf("/connectors/%d?include=variables", id), "") }},
		{"list", func() resp { return e.pw(t, "GET", "/connectors?include=variables", "") }},
		{"invalid variable", func() resp {
			return e.pw(t, "PUT", fmt.Sprintf("/connectors/%d", id), `{"variables":[{"key":"k","value":"`+secret+`","secret":"perhaps"}]}`)
		}},
		{"value of the wrong type", func() resp {
			return e.pw(t, "PUT", fmt.Sprintf("/connectors/%d", id), `{"name":{"x":"`+secret+`"},"timezone":["`+secret+`"]}`)
		}},
		{"locked common", func() resp {
			return e.mk(t, "PUT", "/sdk/apps/connections/"+name+"/common", `{"clientSecret":"`+secret+`"}`)
		}},
		{"common not an object", func() resp {
			return e.mk(t, "PUT", "/sdk/apps/connections/"+name+"/common", `["`+secret+`"]`)
		}},
		{"malformed section", func() resp {
			return e.mkc(t, "PUT", "/sdk/apps/connections/"+name+"/api", `{"token": "`+secret+`" oops}`)
		}},
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			if r := tc.r(); strings.Contains(string(r.body), secret) {
				t.Errorf("response %d repeats the secret: %s", r.status, r.body)
			}
		})
	}
	// The emulator does keep it, for tests that check it was written.
	c, _ := e.srv.Connector(id)
	if len(c.Variables) != 1 || c.Variables[0].Value != secret {
		t.Errorf("stored variables = %+v", c.Variables)
	}
}

// TestPatchworksNoHead: the documented routes have no HEAD; Laravel's
// answer is a 405 (with no body, as for any HEAD).
func TestPatchworksNoHead(t *testing.T) {
	e := newEnv(t, Options{})
	e.createConnector(t, "c")
	for _, path := range []string{"/connectors", "/connectors/1"} {
		if r := e.pw(t, "HEAD", path, ""); r.status != 405 {
			t.Errorf("HEAD %s = %d, want 405", path, r.status)
		}
	}
}

// TestPageWindowIsLaravels: meta.links names the pages Laravel's
// UrlWindow names (three on each side): all of up to 13 pages; near the
// start pages 1-10, "..." and the last two; near the end the first two,
// "..." and the last ten; elsewhere both ends and a window of seven.
func TestPageWindowIsLaravels(t *testing.T) {
	seq := func(from, to int64) []int64 {
		var out []int64
		for n := from; n <= to; n++ {
			out = append(out, n)
		}
		return out
	}
	cat := func(parts ...[]int64) []int64 {
		var out []int64
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	dots := []int64{0}
	for _, tc := range []struct {
		page, last int64
		want       []int64
	}{
		{1, 1, []int64{1}},
		{5, 13, seq(1, 13)},
		{1, 14, cat(seq(1, 10), dots, seq(13, 14))},
		{7, 50, cat(seq(1, 10), dots, seq(49, 50))},
		{8, 50, cat(seq(1, 2), dots, seq(5, 11), dots, seq(49, 50))},
		{25, 50, cat(seq(1, 2), dots, seq(22, 28), dots, seq(49, 50))},
		{43, 50, cat(seq(1, 2), dots, seq(40, 46), dots, seq(49, 50))},
		{44, 50, cat(seq(1, 2), dots, seq(41, 50))},
		{50, 50, cat(seq(1, 2), dots, seq(41, 50))},
		{60, 50, cat(seq(1, 2), dots, seq(41, 50))}, // past the end
	} {
		if got := pageWindow(tc.page, tc.last, false); !slices.Equal(got, tc.want) {
			t.Errorf("page %d of %d: %v, want %v", tc.page, tc.last, got, tc.want)
		}
		if got := pageWindow(tc.page, tc.last, true); !slices.Equal(got, seq(1, tc.last)) {
			t.Errorf("all, page %d of %d: %v", tc.page, tc.last, got)
		}
	}

	// The answer itself: labels and urls as Laravel writes them.
	e := newEnv(t, Options{})
	var seed []map[string]any
	for i := range 50 {
		seed = append(seed, map[string]any{"name": fmt.Sprintf("c%03d", i+1), "authentication_implementation_id": "1", "timezone": "UTC",
			"date_format": "Y", "rate_limit_unit": "minute", "rate_limit_duration": 60})
	}
	if _, err := e.srv.Seed(Seed{Patchworks: SeedPatchworks{Connectors: seed}}); err != nil {
		t.Fatal(err)
	}
	labels := func(meta map[string]any) []string {
		var out []string
		for _, l := range meta["links"].([]any) {
			m := l.(map[string]any)
			out = append(out, m["label"].(string))
			if m["label"] == "..." && m["url"] != nil {
				t.Errorf("a ... link has a url: %v", m)
			}
		}
		return out
	}
	_, meta, _ := listPage(t, e, "?per_page=1&page=25")
	want := []string{"&laquo; Previous", "1", "2", "...", "22", "23", "24", "25", "26", "27", "28", "...", "49", "50", "Next &raquo;"}
	if got := labels(meta); !slices.Equal(got, want) {
		t.Errorf("links %v, want %v", got, want)
	}
	e.srv.UpdateKnobs(func(k *Knobs) { k.PageLinks = PageLinksAll })
	_, meta, _ = listPage(t, e, "?per_page=1&page=25")
	if got := labels(meta); len(got) != 52 {
		t.Errorf("with every page: %d links, want 52", len(got))
	}
}
