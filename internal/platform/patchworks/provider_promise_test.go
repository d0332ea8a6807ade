package patchworks

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/syncd"
)

// Tests of promises of provider.go that surviving or uncovered mutants
// showed no test defended (issue 18).

// TestUpdateKeepsVariablesTheManifestDoesNotDeclare: an update that writes
// variables reads the connector first and sends every variable it has that
// the manifest does not declare, by key (and id when it has one) only, so
// that a variable syncd does not manage survives with its value.
func TestUpdateKeepsVariablesTheManifestDoesNotDeclare(t *testing.T) {
	var put map[string]any
	_, c := serve(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		switch {
		case r.Method == http.MethodPut:
			if err := json.Unmarshal(body, &put); err != nil {
				t.Errorf("PUT body: %v", err)
			}
			reply(w, 200, connector9)
		case strings.HasSuffix(r.URL.Path, "/connectors/9"):
			reply(w, 200, `{"data": {"id": 9, "name": "A", "variables": [
				{"id": 901, "key": "shop_domain", "value": "a.example", "secret": false},
				{"id": 950, "key": "legacy_secret", "secret": true},
				{"key": "no_id_yet", "value": "v"},
				{"id": 960, "key": "", "value": "keyless"}]}}`)
		default:
			w.WriteHeader(http.StatusTeapot)
		}
	})
	if err := c.Update(context.Background(), "9", desiredConnector("A"), []string{"/variables"}); err != nil {
		t.Fatal(err)
	}
	vars, _ := put["variables"].([]any)
	var undeclared []any
	for _, v := range vars {
		m, _ := v.(map[string]any)
		if k := m["key"]; k != "shop_domain" && k != "api_token" {
			undeclared = append(undeclared, m)
		}
	}
	want := []any{
		map[string]any{"key": "legacy_secret", "id": 950.0},
		map[string]any{"key": "no_id_yet"},
	}
	if diff := cmp.Diff(want, undeclared); diff != "" {
		t.Fatalf("undeclared variables in the PUT (-want +got):\n%s", diff)
	}
}

// TestUpdateFailsWhenTheReadBeforeItFails: when the read of the connector's
// current variables fails, the update is an error and nothing is written
// (writing without it could drop variables syncd does not manage).
func TestUpdateFailsWhenTheReadBeforeItFails(t *testing.T) {
	rec, c := serve(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/connectors/9") {
			reply(w, 500, `{"message": "Server Error"}`)
			return
		}
		reply(w, 200, connector9)
	})
	err := c.Update(context.Background(), "9", desiredConnector("A"), []string{"/variables"})
	if err == nil {
		t.Fatal("Update succeeded although the read before the write failed")
	}
	for _, r := range rec.requests() {
		if strings.HasPrefix(r, "PUT ") {
			t.Fatalf("a PUT was sent: %v", rec.requests())
		}
	}
}

// failingServer answers every request to path with fail, and 404s the rest.
func failingServer(t *testing.T, path string, fail func(w http.ResponseWriter, r *http.Request)) *Client {
	t.Helper()
	rec := &recorder{handle: func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if r.URL.Path == path {
			fail(w, r)
			return
		}
		reply(w, 404, `{"message": "Not Found"}`)
	}}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	c, err := New(Config{BaseURL: srv.URL, Token: testKey, RequestsPerMinute: 600000, Burst: 1000,
		Timeout: 100 * time.Millisecond, Retry: testRetry})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// nonNotFound are the failures that must never read as "gone".
var nonNotFound = []struct {
	name   string
	answer func(w http.ResponseWriter, r *http.Request)
}{
	{"500", func(w http.ResponseWriter, r *http.Request) { reply(w, 500, `{"message": "Server Error"}`) }},
	{"401", func(w http.ResponseWriter, r *http.Request) { reply(w, 401, `{"message": "Unauthenticated."}`) }},
	{"403", func(w http.ResponseWriter, r *http.Request) { reply(w, 403, `{"message": "Forbidden"}`) }},
	{"429 exhausted", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "0")
		reply(w, 429, `{"message": "Too Many Attempts."}`)
	}},
	{"timeout", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
}

// TestReadOnlyACleanNotFoundIsNotFound: the executor's read-back says "not
// found" only after a clean 404; every other failure is an error.
func TestReadOnlyACleanNotFoundIsNotFound(t *testing.T) {
	c := failingServer(t, "/api/v1/connectors/9", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 404, `{"message": "No query results for model [Connector] 9"}`)
	})
	if _, found, err := c.Read(context.Background(), nil, "9"); err != nil || found {
		t.Fatalf("Read after a 404 = found %v, error %v; want not found, no error", found, err)
	}
	for _, fail := range nonNotFound {
		t.Run(fail.name, func(t *testing.T) {
			c := failingServer(t, "/api/v1/connectors/9", fail.answer)
			l, found, err := c.Read(context.Background(), nil, "9")
			if err == nil {
				t.Fatalf("Read = %+v, found %v, no error; want an error", l, found)
			}
			if found || platform.IsNotFound(err) {
				t.Fatalf("Read = found %v, error %v; a failed read is neither found nor gone", found, err)
			}
		})
	}
}

// TestListAllFailsOnAFailedList: ListAll (what `import` writes manifests
// from) is an error when the list fails, never an empty list.
func TestListAllFailsOnAFailedList(t *testing.T) {
	for _, fail := range nonNotFound {
		t.Run(fail.name, func(t *testing.T) {
			c := failingServer(t, "/api/v1/connectors", fail.answer)
			if all, err := c.ListAll(context.Background(), ""); err == nil {
				t.Fatalf("ListAll = %v, no error; want an error", all)
			}
		})
	}
}

// TestCreateRetriesOnceWhenTheLookupFindsNothing: after a POST whose outcome
// is unknown, a lookup that finds no connector of that name allows exactly
// one more POST; its id is the answer, and its failure, or an answer
// without an id, is an error, never an empty id taken for success.
func TestCreateRetriesOnceWhenTheLookupFindsNothing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		second  func(w http.ResponseWriter)
		wantID  string
		wantErr string
	}{
		{"second POST succeeds", func(w http.ResponseWriter) { reply(w, 201, `{"data": {"id": 5, "name": "Shop"}}`) }, "5", ""},
		{"second POST fails", func(w http.ResponseWriter) { reply(w, 502, `{"message": "Bad Gateway"}`) }, "", "the retry failed"},
		{"second answer has no id", func(w http.ResponseWriter) { reply(w, 201, `{"data": {"name": "Shop"}}`) }, "", "the answer has no id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			posts := 0
			_, c := serve(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				mu.Lock()
				defer mu.Unlock()
				if r.Method != http.MethodPost {
					reply(w, 200, `{"data": [], "meta": {"current_page": 1, "last_page": 1, "per_page": 100, "total": 0}}`)
					return
				}
				posts++
				if posts == 1 {
					reply(w, 502, `{"message": "Bad Gateway"}`) // nothing was created
					return
				}
				tc.second(w)
			})
			d := &syncd.Desired{Key: syncd.Key{Kind: syncd.PatchworksConnector, Name: "shop"}, Spec: map[string]any{"name": "Shop"}}
			id, err := c.Create(context.Background(), d)
			mu.Lock()
			defer mu.Unlock()
			if posts != 2 {
				t.Fatalf("%d POSTs, want 2", posts)
			}
			if tc.wantErr == "" {
				if err != nil || id != tc.wantID {
					t.Fatalf("Create = %q, %v; want %q", id, err, tc.wantID)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || id != "" {
				t.Fatalf("Create = %q, %v; want no id and an error containing %q", id, err, tc.wantErr)
			}
		})
	}
}
