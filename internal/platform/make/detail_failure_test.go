package make

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/platform"
)

// failure is one way a read can fail other than a clean 404.
type failure struct {
	name string
	// answer fails the request; it may block until the client gives up.
	answer func(w http.ResponseWriter, r *http.Request)
}

// nonNotFoundFailures are the failures issue 18 names: each must surface
// as an error from Observe, never as "the object is gone" (which the
// planner turns into a create: a duplicate).
func nonNotFoundFailures() []failure {
	status := func(code int) func(w http.ResponseWriter, r *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			if code == 429 {
				w.Header().Set("Retry-After", "0")
			}
			makeErr(w, code, "nope")
		}
	}
	return []failure{
		{"500", status(500)},
		{"401", status(401)},
		{"403", status(403)},
		{"429 exhausted", status(429)},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done() // never answers; the client's per-attempt timeout ends it
		}},
	}
}

// TestObserveDetailReadFailuresAreErrors sends every non-404 failure on
// every detail read Observe makes (the GET of a connection the list did not
// show, the GET for connectedSystemName, a section, common data) and
// requires an error that names the read, never a snapshot.
func TestObserveDetailReadFailuresAreErrors(t *testing.T) {
	reads := []struct {
		name string
		// path is the request to fail, want what Observe is asked.
		path  string
		want  func() []platform.Want
		inErr string
	}{
		{
			name: "get unlisted connection", path: "/api/v2/sdk/apps/connections/other",
			want: func() []platform.Want {
				return []platform.Want{{RemoteID: "other", Desired: desired("crm", "B", "basic", nil, nil)}}
			},
			inErr: "get connection other",
		},
		{
			name: "get connection for connectedSystemName", path: "/api/v2/sdk/apps/connections/crm",
			want: func() []platform.Want {
				d := desired("crm", "A", "basic", nil, nil)
				d.Spec["connectedSystemName"] = nil
				return []platform.Want{{Desired: d}}
			},
			inErr: "get connection of connection crm",
		},
		{
			name: "get section", path: "/api/v2/sdk/apps/connections/crm/api",
			want: func() []platform.Want {
				return []platform.Want{{Desired: desired("crm", "A", "basic", map[string]any{"api": map[string]any{}}, nil)}}
			},
			inErr: "get section api of connection crm",
		},
		{
			name: "get common data", path: "/api/v2/sdk/apps/connections/crm/common",
			want: func() []platform.Want {
				return []platform.Want{{Desired: desired("crm", "A", "basic", nil, map[string]any{"k": "v"})}}
			},
			inErr: "get common data of connection crm",
		},
		{
			name: "get section of a bound connection", path: "/api/v2/sdk/apps/connections/crm/parameters",
			want: func() []platform.Want {
				return []platform.Want{{RemoteID: "crm", Desired: desired("crm", "A", "basic", map[string]any{"parameters": []any{}}, nil)}}
			},
			inErr: "get section parameters of connection crm",
		},
	}
	for _, read := range reads {
		for _, fail := range nonNotFoundFailures() {
			t.Run(read.name+"/"+fail.name, func(t *testing.T) {
				f := newFakeMake()
				f.add("crm", "A", "basic")
				f.hook = func(w http.ResponseWriter, r *http.Request) bool {
					if r.Method == "GET" && r.URL.Path == read.path {
						fail.answer(w, r)
						return true
					}
					return false
				}
				url := httptestServer(t, f)
				c, err := New(Config{BaseURL: url + "/api/v2", Token: fakeToken, RequestsPerMinute: 600000, Burst: 1000,
					Timeout: 100 * time.Millisecond, Retry: testRetry})
				if err != nil {
					t.Fatal(err)
				}
				snap, err := c.Observe(context.Background(), read.want())
				if err == nil {
					t.Fatalf("Observe succeeded with %+v; want an error (a failed read is not a missing object)", snap)
				}
				if platform.IsNotFound(err) {
					t.Fatalf("Observe error %v counts as not found", err)
				}
				if !strings.Contains(err.Error(), read.inErr) {
					t.Errorf("error %q does not name the read %q", err, read.inErr)
				}
				if f.count("GET "+strings.TrimPrefix(read.path, "/api/v2")) == 0 {
					t.Fatalf("the failing read was never sent: %v", f.log())
				}
			})
		}
	}
}
