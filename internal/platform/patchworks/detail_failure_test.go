package patchworks

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/platform"
)

// TestObserveDetailReadFailuresAreErrors sends every non-404 failure (500,
// 401, 403, 429 until retries run out, a timeout) on the GET of a bound
// connector the list did not show, and on the list itself, and requires an
// error from Observe: never a snapshot that calls the connector gone, which
// the planner would turn into a create (a duplicate).
func TestObserveDetailReadFailuresAreErrors(t *testing.T) {
	status := func(code int, body string) func(w http.ResponseWriter, r *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			if code == 429 {
				w.Header().Set("Retry-After", "0")
			}
			reply(w, code, body)
		}
	}
	failures := []struct {
		name   string
		answer func(w http.ResponseWriter, r *http.Request)
	}{
		{"500", status(500, `{"message": "Server Error"}`)},
		{"401", status(401, `{"message": "Unauthenticated."}`)},
		{"403", status(403, `{"message": "This action is unauthorized."}`)},
		{"429 exhausted", status(429, `{"message": "Too Many Attempts."}`)},
		{"timeout", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
	}
	reads := []struct {
		name  string
		fail  func(r *http.Request) bool
		inErr string
	}{
		{"get connector", func(r *http.Request) bool { return r.URL.Path == "/api/v1/connectors/7" }, "get connector 7"},
		{"list connectors", func(r *http.Request) bool { return r.URL.Path == "/api/v1/connectors" }, "list connectors"},
	}
	for _, read := range reads {
		for _, fail := range failures {
			t.Run(read.name+"/"+fail.name, func(t *testing.T) {
				var failed atomic.Bool
				rec := &recorder{handle: func(w http.ResponseWriter, r *http.Request, _ []byte) {
					if read.fail(r) {
						failed.Store(true)
						fail.answer(w, r)
						return
					}
					if r.URL.Path == "/api/v1/connectors" {
						reply(w, 200, `{"data": [{"id": 1, "name": "Listed", "variables": []}], "links": {},
							"meta": {"current_page": 1, "last_page": 1, "per_page": 100, "total": 1}}`)
						return
					}
					w.WriteHeader(http.StatusTeapot)
					io.WriteString(w, "unexpected request")
				}}
				srv := httptest.NewServer(rec)
				t.Cleanup(srv.Close)
				c, err := New(Config{BaseURL: srv.URL, Token: testKey, RequestsPerMinute: 600000, Burst: 1000,
					Timeout: 100 * time.Millisecond, Retry: testRetry})
				if err != nil {
					t.Fatal(err)
				}
				snap, err := c.Observe(context.Background(), []platform.Want{{RemoteID: "7", Desired: desiredConnector("Bound")}, {RemoteID: "1"}})
				if err == nil {
					t.Fatalf("Observe succeeded with %+v; want an error (a failed read is not a missing connector)", snap)
				}
				if platform.IsNotFound(err) {
					t.Fatalf("Observe error %v counts as not found", err)
				}
				if !strings.Contains(err.Error(), read.inErr) {
					t.Errorf("error %q does not name the read %q", err, read.inErr)
				}
				if !failed.Load() {
					t.Fatalf("the failing read was never sent: %v", rec.requests())
				}
			})
		}
	}
}
