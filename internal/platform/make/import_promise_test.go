package make

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/syncd"
)

// The import reader (import.go), pinned against the hand-written fake over
// real HTTP: what it reads, what raw text it keeps, what it drops and
// which failures it reports.

func strp(s string) *string { return &s }

// importFake holds three connections of acme (listed out of name order)
// and one of another app.
func importFake() *fakeMake {
	f := newFakeMake()
	f.add("acme", "A", "apikey")
	f.add("acme", "B", "basic")
	f.add("acme", "C", "oauth")
	f.add("other", "X", "basic")
	f.order = []string{"acme3", "other", "acme", "acme2"}
	a := f.conns["acme"]
	a.sections["api"] = strp("// base\n{\"url\": \"https://x\"}\n")
	a.sections["parameters"] = nil // a legacy null
	a.sections["scopes"] = strp(" null \n")
	a.sections["scope"] = strp("[]")
	a.sections["install"] = strp("  \n")
	a.common = `{"region": "eu"}`
	f.conns["acme2"].csn = strp("sys")
	return f
}

func importClient(t *testing.T, f *fakeMake) *Client {
	t.Helper()
	url := httptestServer(t, f)
	c, err := New(Config{BaseURL: url + "/api/v2", Token: fakeToken, RequestsPerMinute: 600000, Burst: 1000,
		Timeout: 2 * time.Second, Retry: testRetry})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func importedSpec(label, typ string, csn any, sections map[string]any, common map[string]any) map[string]any {
	secs := map[string]any{}
	for _, s := range Sections {
		secs[s] = EmptySection(s) // what GetSection makes of null
	}
	for s, v := range sections {
		secs[s] = v
	}
	return map[string]any{"app": "acme", "label": label, "type": typ, "connectedSystemName": csn, "sections": secs, "common": common}
}

// TestImportReadsEveryConnectionFaithfully: every connection of the app,
// sorted by name, with its connected system name, every section's value,
// its common data, and the raw text of each section that has one (in
// Make's section order; a null or blank section has none).
func TestImportReadsEveryConnectionFaithfully(t *testing.T) {
	for _, concurrency := range []int{1, 4} {
		c := importClient(t, importFake())
		got, err := Platform{}.Import(context.Background(), c, "acme", concurrency)
		if err != nil {
			t.Fatal(err)
		}
		live := func(name string, spec map[string]any) syncd.Live {
			return syncd.Live{Kind: syncd.MakeConnection, RemoteID: name, Spec: spec}
		}
		want := []platform.Imported{
			{Live: live("acme", importedSpec("A", "apikey", nil, map[string]any{
				"api": map[string]any{"url": "https://x"}, "scope": []any{},
			}, map[string]any{"region": "eu"})),
				Raw: []platform.RawPart{{Name: "api", Text: "// base\n{\"url\": \"https://x\"}\n"}, {Name: "scope", Text: "[]"}}},
			{Live: live("acme2", importedSpec("B", "basic", "sys", nil, map[string]any{}))},
			{Live: live("acme3", importedSpec("C", "oauth", nil, nil, map[string]any{}))},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("concurrency %d: imported (-want +got):\n%s", concurrency, diff)
		}
	}
}

// TestImportDropsAConnectionDeletedWhileRead: a 404 on any read of one
// connection (Make deletes asynchronously) leaves that connection out and
// keeps the others.
func TestImportDropsAConnectionDeletedWhileRead(t *testing.T) {
	for _, path := range []string{"/api/v2/sdk/apps/connections/acme2", "/api/v2/sdk/apps/connections/acme2/installSpec", "/api/v2/sdk/apps/connections/acme2/common"} {
		t.Run(path, func(t *testing.T) {
			f := importFake()
			f.hook = func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method == "GET" && r.URL.Path == path {
					makeErr(w, 404, "Connection not found")
					return true
				}
				return false
			}
			got, err := Platform{}.Import(context.Background(), importClient(t, f), "acme", 2)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, o := range got {
				names = append(names, o.Live.RemoteID)
			}
			if diff := cmp.Diff([]string{"acme", "acme3"}, names); diff != "" {
				t.Errorf("imported (-want +got):\n%s", diff)
			}
		})
	}
}

// TestImportReadFailuresAreErrors: any other failure of a read is an
// error naming the read and the connection, never a dropped connection.
func TestImportReadFailuresAreErrors(t *testing.T) {
	for _, read := range []struct{ path, inErr string }{
		{"/api/v2/sdk/apps/connections/acme2", "make: get connection of connection acme2: "},
		{"/api/v2/sdk/apps/connections/acme2/api", "make: get section api of connection acme2: "},
		{"/api/v2/sdk/apps/connections/acme2/common", "make: get common data of connection acme2: "},
	} {
		t.Run(read.path, func(t *testing.T) {
			f := importFake()
			f.hook = func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method == "GET" && r.URL.Path == read.path {
					makeErr(w, 403, "nope")
					return true
				}
				return false
			}
			got, err := Platform{}.Import(context.Background(), importClient(t, f), "acme", 1)
			if err == nil {
				t.Fatalf("Import succeeded with %d connections; want an error", len(got))
			}
			if platform.IsNotFound(err) || !strings.HasPrefix(err.Error(), read.inErr) {
				t.Errorf("error %q, want one starting %q", err, read.inErr)
			}
		})
	}
}

// TestImportListFailures: an app Make does not know is the provider's
// worded error; a list that answers 404 once and then lists is still an
// error (the import read nothing); any other failure names the list.
func TestImportListFailures(t *testing.T) {
	f := importFake()
	c := importClient(t, f)
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/api/v2/sdk/apps/nope/connections" {
			makeErr(w, 404, "App not found")
			return true
		}
		return false
	}
	_, err := Platform{}.Import(context.Background(), c, "nope", 1)
	if err == nil || err.Error() != c.appNotFound("nope") {
		t.Errorf("unknown app: %v, want %q", err, c.appNotFound("nope"))
	}

	var lists atomic.Int64
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/api/v2/sdk/apps/acme/connections" && lists.Add(1) == 1 {
			makeErr(w, 404, "App not found")
			return true
		}
		return false
	}
	_, err = Platform{}.Import(context.Background(), c, "acme", 1)
	if err == nil || err.Error() != "make: app acme: its connection list answered 404" {
		t.Errorf("a 404 then a listing: %v", err)
	}

	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/api/v2/sdk/apps/acme/connections" {
			makeErr(w, 403, "nope")
			return true
		}
		return false
	}
	_, err = Platform{}.Import(context.Background(), c, "acme", 1)
	if err == nil || !strings.HasPrefix(err.Error(), "make: list connections of app acme: ") || platform.IsNotFound(err) {
		t.Errorf("a 403 on the list: %v", err)
	}
}

// TestCheckImportScope: --app is required.
func TestCheckImportScope(t *testing.T) {
	if err := (Platform{}).CheckImportScope(""); err == nil || err.Error() != "--app is required for MakeConnection" {
		t.Errorf("no app: %v", err)
	}
	if err := (Platform{}).CheckImportScope("acme"); err != nil {
		t.Errorf("acme: %v", err)
	}
}
