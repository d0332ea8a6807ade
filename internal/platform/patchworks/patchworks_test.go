package patchworks

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/transport"
	"github.com/syncd/syncd/internal/syncd"
)

const testKey = "pw-key-5ecret-42"

var testRetry = transport.Retry{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond, MaxRetryAfter: 2 * time.Second}

func newTestClient(t *testing.T, url string) *Client {
	t.Helper()
	c, err := New(Config{BaseURL: url, Token: testKey, RequestsPerMinute: 600000, Burst: 1000, Retry: testRetry})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// recorder is a hand-written server: handle answers, every request is
// logged with its query and body.
type recorder struct {
	mu     sync.Mutex
	log    []string
	bodies []string
	handle func(w http.ResponseWriter, r *http.Request, body []byte)
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.log = append(rec.log, r.Method+" "+r.URL.RequestURI())
	rec.bodies = append(rec.bodies, string(b))
	rec.mu.Unlock()
	// Patchworks' Postman collection sends both headers on every request.
	if r.Header.Get("Authorization") != testKey || r.Header.Get("Accept") != "application/json" || r.Header.Get("Content-Type") != "application/json" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		io.WriteString(w, `{"message":"Unauthenticated."}`)
		return
	}
	rec.handle(w, r, b)
}

func (rec *recorder) requests() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]string(nil), rec.log...)
}

func (rec *recorder) lastBody() string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.bodies[len(rec.bodies)-1]
}

func serve(t *testing.T, h func(w http.ResponseWriter, r *http.Request, body []byte)) (*recorder, *Client) {
	t.Helper()
	rec := &recorder{handle: h}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return rec, newTestClient(t, srv.URL)
}

func reply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func TestSpecNormalisation(t *testing.T) {
	var conn Connector
	json.Unmarshal([]byte(`{"id": 17, "name": "Shop", "authentication_implementation_id": 42, "certificate_id": 7,
		"connection_pool_id": null, "rate_limit_duration": "60", "timezone": "UTC",
		"variables": [
		  {"id": 901, "key": "domain", "value": "x.example", "label": "Domain", "secret": false, "locked": false,
		   "pivot": {"connector_id": 17, "variable_id": 901, "alias": "d", "configurable": true, "required": true, "advanced": false}},
		  {"id": 902, "key": "token", "value": null, "label": null, "secret": true, "locked": true, "created_at": "x"}
		]}`), &conn)
	want := map[string]any{
		"id": 17.0, "name": "Shop", "authentication_implementation_id": "42", "certificate_id": "7",
		"connection_pool_id": nil, "rate_limit_duration": 60.0, "timezone": "UTC",
		"variables": map[string]any{
			"domain": map[string]any{"key": "domain", "value": "x.example", "label": "Domain", "secret": false, "locked": false,
				"pivot": map[string]any{"alias": "d", "configurable": true, "required": true, "advanced": false}},
			"token": map[string]any{"key": "token", "value": nil, "label": nil, "secret": true, "locked": true},
		},
	}
	if diff := cmp.Diff(want, Spec(conn)); diff != "" {
		t.Fatalf("Spec (-want +got):\n%s", diff)
	}
	if got := IDString(conn["id"]); got != "17" {
		t.Fatalf("IDString = %q", got)
	}
}

// Spec copies: the connector it was given is unchanged, ids, server
// fields and pivot columns included. live rewrites the connector it owns
// into the same spec.
func TestSpecLeavesTheConnectorAlone(t *testing.T) {
	const body = `{"id": 17, "name": "Shop", "authentication_implementation_id": 42, "rate_limit_duration": "60",
		"variables": [{"id": 901, "key": "domain", "value": "x", "pivot": {"id": 5, "connector_id": 17, "alias": "d"}}],
		"updated_at": "2026-01-02T03:04:05Z"}`
	var conn, before, owned Connector
	for _, c := range []*Connector{&conn, &before, &owned} {
		if err := json.Unmarshal([]byte(body), c); err != nil {
			t.Fatal(err)
		}
	}
	spec := Spec(conn)
	if diff := cmp.Diff(before, conn); diff != "" {
		t.Fatalf("Spec changed its argument (-before +after):\n%s", diff)
	}
	l := live(owned)
	if diff := cmp.Diff(spec, l.Spec); diff != "" {
		t.Fatalf("live and Spec disagree (-Spec +live):\n%s", diff)
	}
	if l.RemoteID != "17" {
		t.Fatalf("RemoteID = %q, want 17", l.RemoteID)
	}
	want := map[string]any{"key": "domain", "value": "x", "pivot": map[string]any{"alias": "d"}}
	if diff := cmp.Diff(want, spec["variables"].(map[string]any)["domain"]); diff != "" {
		t.Fatalf("variable (-want +got):\n%s", diff)
	}
}

func TestListQuery(t *testing.T) {
	rec, c := serve(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		reply(w, 200, `{"data": [], "links": {}, "meta": {"current_page": 1, "last_page": 1, "per_page": "100", "total": 0}}`)
	})
	pg, err := c.ListConnectors(context.Background(), ListOptions{Page: 2, PerPage: 500,
		Filter: map[string][]string{"system": {"a", "b"}}, Include: []string{"variables", "certificate"}, Sort: "-name"})
	if err != nil {
		t.Fatal(err)
	}
	want := "GET /api/v1/connectors?filter%5Bsystem%5D=a%2Cb&include=variables%2Ccertificate&page=2&per_page=100&sort=-name"
	if got := rec.requests()[0]; got != want {
		t.Fatalf("request\n got %s\nwant %s", got, want)
	}
	if pg.Meta.PerPage != 100 || pg.Meta.LastPage != 1 {
		t.Fatalf("meta %+v: per_page given as a string must decode", pg.Meta)
	}
}

func TestCreateStatuses(t *testing.T) {
	for _, status := range []int{200, 201} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			rec, c := serve(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				reply(w, status, `{"data": {"id": 5, "name": "Shop"}}`)
			})
			d := &syncd.Desired{Key: syncd.Key{Kind: syncd.PatchworksConnector, Name: "shop"}, Spec: map[string]any{
				"name": "Shop", "authentication_implementation_id": "42", "session_id": nil,
				"variables": map[string]any{
					"b": map[string]any{"key": "b", "value": "2"},
					"a": map[string]any{"key": "a", "value": "hidden-value", "secret": true},
				},
			}}
			id, err := c.Create(context.Background(), d)
			if err != nil || id != "5" {
				t.Fatalf("create: %q, %v", id, err)
			}
			var body map[string]any
			json.Unmarshal([]byte(rec.lastBody()), &body)
			want := map[string]any{"name": "Shop", "authentication_implementation_id": "42", "session_id": nil,
				"variables": []any{
					map[string]any{"key": "a", "value": "hidden-value", "secret": true},
					map[string]any{"key": "b", "value": "2"},
				}}
			if diff := cmp.Diff(want, body); diff != "" {
				t.Fatalf("create body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorClassification(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		status    int
		body      string
		ctype     string
		kind      platform.ErrorKind
		fields    map[string][]string
		ambiguous bool
		msgHas    string
	}{
		{name: "422 with fields", method: "PUT", status: 422,
			body: `{"message": "The name field is required.", "errors": {"name": ["The name field is required."]}}`,
			kind: platform.KindInvalid, fields: map[string][]string{"name": {"The name field is required."}}, msgHas: "name field"},
		{name: "401", method: "GET", status: 401, body: `{"message": "Unauthenticated."}`, kind: platform.KindUnauthorized, msgHas: "Unauthenticated."},
		{name: "403", method: "GET", status: 403, body: `{"message": "This action is unauthorized."}`, kind: platform.KindForbidden},
		{name: "clean 404", method: "GET", status: 404, body: `{"message": "No query results for model."}`, kind: platform.KindNotFound},
		{name: "html 404", method: "GET", status: 404, body: `<html>nope</html>`, ctype: "text/html", kind: platform.KindInvalid},
		{name: "laravel route 404", method: "GET", status: 404, body: `{"message": "The route api/v9/connectors/1 could not be found."}`, kind: platform.KindInvalid, msgHas: "base URL"},
		{name: "400 bad include", method: "GET", status: 400, body: `{"message": "Requested include(s) x are not allowed."}`, kind: platform.KindInvalid},
		{name: "409 in use", method: "DELETE", status: 409, body: `{"message": "Connector is used by a process flow."}`, kind: platform.KindConflict},
		{name: "422 in use on delete", method: "DELETE", status: 422, body: `{"message": "This instance is in use by a process flow."}`, kind: platform.KindConflict},
		{name: "500 on write is ambiguous", method: "PUT", status: 500, body: `{"message": "Server Error"}`, kind: platform.KindTransient, ambiguous: true},
		{name: "500 on read", method: "GET", status: 500, body: `{"message": "Server Error"}`, kind: platform.KindTransient},
		{name: "429", method: "POST", status: 429, body: `{"message": "Too Many Attempts."}`, kind: platform.KindRateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &transport.Response{Status: tt.status, Header: http.Header{"Content-Type": {cmpOr(tt.ctype, "application/json")}}, Body: []byte(tt.body)}
			err := classify(tt.method+" /connectors/1", resp)
			var ae *platform.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("not an APIError: %v", err)
			}
			if ae.Kind != tt.kind || ae.Ambiguous != tt.ambiguous {
				t.Fatalf("kind %v ambiguous %v; want %v %v", ae.Kind, ae.Ambiguous, tt.kind, tt.ambiguous)
			}
			if diff := cmp.Diff(tt.fields, ae.Fields); diff != "" {
				t.Fatalf("fields (-want +got):\n%s", diff)
			}
			if !strings.Contains(ae.Error(), tt.msgHas) {
				t.Fatalf("message %q lacks %q", ae.Error(), tt.msgHas)
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestUnauthenticated(t *testing.T) {
	srv := httptest.NewServer(&recorder{})
	t.Cleanup(srv.Close)
	c, _ := New(Config{BaseURL: srv.URL, Token: "wrong-key-123", RequestsPerMinute: 600000, Retry: testRetry})
	_, err := c.ListConnectors(context.Background(), ListOptions{})
	if platform.KindOf(err) != platform.KindUnauthorized || strings.Contains(err.Error(), "wrong-key-123") {
		t.Fatalf("error = %v", err)
	}
}

func TestListWithoutMetaFollowsNext(t *testing.T) {
	rec, c := serve(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		switch r.URL.Query().Get("page") {
		case "1":
			reply(w, 200, `{"data": [{"id": 1}], "links": {"next": "http://x/?page=2"}}`)
		default:
			reply(w, 200, `{"data": [{"id": 2}], "links": {"next": null}}`)
		}
	})
	all, err := c.ListAllConnectors(context.Background(), ListOptions{})
	if err != nil || len(all) != 2 || len(rec.requests()) != 2 {
		t.Fatalf("got %d connectors in %d requests, %v", len(all), len(rec.requests()), err)
	}
}

func TestListChangingUnderfootIsReread(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	_, c := serve(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		// First pass: total 3 on page 1 but only 2 items overall (one
		// shifted between pages); second pass is consistent.
		if n <= 2 {
			if r.URL.Query().Get("page") == "1" {
				reply(w, 200, `{"data": [{"id": 1}], "meta": {"current_page": 1, "last_page": 2, "per_page": 1, "total": 3}}`)
			} else {
				reply(w, 200, `{"data": [{"id": 1}], "meta": {"current_page": 2, "last_page": 2, "per_page": 1, "total": 3}}`)
			}
			return
		}
		if r.URL.Query().Get("page") == "1" {
			reply(w, 200, `{"data": [{"id": 1}, {"id": 2}], "meta": {"current_page": 1, "last_page": 2, "per_page": 2, "total": 3}}`)
		} else {
			reply(w, 200, `{"data": [{"id": 3}], "meta": {"current_page": 2, "last_page": 2, "per_page": 2, "total": 3}}`)
		}
	})
	all, err := c.ListAllConnectors(context.Background(), ListOptions{})
	if err != nil || len(all) != 3 {
		t.Fatalf("got %d, %v; want the 3 of the consistent pass", len(all), err)
	}
}

func TestAmbiguousCreateHandWritten(t *testing.T) {
	var mu sync.Mutex
	var stored []string
	posts := 0
	_, c := serve(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		mu.Lock()
		defer mu.Unlock()
		switch r.Method {
		case "POST":
			posts++
			stored = append(stored, "Shop")
			reply(w, 502, `{"message": "Bad Gateway"}`) // created, then failed
		case "GET":
			var data []string
			for i, n := range stored {
				data = append(data, `{"id": `+string(rune('1'+i))+`, "name": "`+n+`"}`)
			}
			reply(w, 200, `{"data": [`+strings.Join(data, ",")+`], "meta": {"current_page": 1, "last_page": 1, "per_page": 100, "total": `+string(rune('0'+len(stored)))+`}}`)
		}
	})
	d := &syncd.Desired{Key: syncd.Key{Kind: syncd.PatchworksConnector, Name: "shop"}, Spec: map[string]any{"name": "Shop"}}
	id, err := c.Create(context.Background(), d)
	if err != nil || id != "1" {
		t.Fatalf("create: %q, %v", id, err)
	}
	if posts != 1 || len(stored) != 1 {
		t.Fatalf("posts %d, stored %d: want exactly one", posts, len(stored))
	}
}

func TestCreateAnswerWithoutBodyIsResolvedByLookup(t *testing.T) {
	var mu sync.Mutex
	posts := 0
	_, c := serve(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		mu.Lock()
		defer mu.Unlock()
		if r.Method == "POST" {
			posts++
			w.WriteHeader(201)
			return
		}
		reply(w, 200, `{"data": [{"id": 8, "name": "Shop"}], "meta": {"current_page": 1, "last_page": 1, "per_page": 100, "total": 1}}`)
	})
	d := &syncd.Desired{Key: syncd.Key{Kind: syncd.PatchworksConnector, Name: "shop"}, Spec: map[string]any{"name": "Shop"}}
	id, err := c.Create(context.Background(), d)
	if err != nil || id != "8" || posts != 1 {
		t.Fatalf("create: %q, %v, %d POSTs", id, err, posts)
	}
}
