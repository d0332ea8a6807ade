package make

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/syncd"
)

// Tests of promises of provider.go that surviving mutants showed no test
// defended (issue 18).

// TestObserveReadsDeclaredDetailsOfAConnectionOnlyFoundByID: a bound
// connection its app's list does not show (here it lives under another app)
// is fetched by name and then read as fully as a listed one: every section
// and the common data the manifest declares. Reading only its summary would
// make the planner see the declared sections as missing and rewrite them on
// every run.
func TestObserveReadsDeclaredDetailsOfAConnectionOnlyFoundByID(t *testing.T) {
	f, c := startFake(t)
	name := f.add("erp", "Moved", "basic")
	api := `{"url": "https://x.test"}`
	f.set(func() {
		f.conns[name].sections["api"] = &api
		f.conns[name].common = `{"region": "eu"}`
	})
	d := desired("crm", "Moved", "basic", map[string]any{"api": map[string]any{}}, map[string]any{"region": "us"})
	snap, err := c.Observe(context.Background(), []platform.Want{{RemoteID: name, Desired: d}})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Objects) != 1 {
		t.Fatalf("objects = %+v, want the one connection", snap.Objects)
	}
	want := map[string]any{
		"label": "Moved", "type": "basic",
		"sections":            map[string]any{"api": map[string]any{"url": "https://x.test"}},
		"common":              map[string]any{"region": "eu"},
		"connectedSystemName": nil, // the GET tells it
	}
	if diff := cmp.Diff(want, snap.Objects[0].Spec); diff != "" {
		t.Fatalf("spec of %s (-want +got):\n%s", name, diff)
	}
}

// TestUpdateRefusesCommonDataThatIsNotAnObject: common data is a JSON
// object or null (written as {}); anything else is an error naming the
// connection, and nothing is written.
func TestUpdateRefusesCommonDataThatIsNotAnObject(t *testing.T) {
	for _, tc := range []struct {
		name   string
		common any
		// wantErr is "" when the update must succeed, wantBody what it writes.
		wantErr, wantBody string
	}{
		{name: "object", common: map[string]any{"a": "b"}, wantBody: `{"a":"b"}`},
		{name: "null", common: nil, wantBody: `{}`},
		{name: "string", common: "x", wantErr: "common data of crm must be an object"},
		{name: "list", common: []any{"x"}, wantErr: "common data of crm must be an object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, c := startFake(t)
			name := f.add("crm", "A", "basic")
			d := desired("crm", "A", "basic", nil, nil)
			d.Spec["common"] = tc.common
			f.set(func() { f.requests = nil })
			err := c.Update(context.Background(), name, d, []string{"/common"})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Update error = %v, want one containing %q", err, tc.wantErr)
				}
				if got := f.log(); len(got) != 0 {
					t.Fatalf("a refused update sent %v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.body("PUT /sdk/apps/connections/crm/common"); got != tc.wantBody {
				t.Fatalf("common data written = %s, want %s", got, tc.wantBody)
			}
		})
	}
}

// TestListAllFailsOnAnyFailedRead: ListAll (what `import` writes manifests
// from) answers an error when the list or any detail read fails other than
// with a clean 404, never a shorter list, which would read as connections
// that do not exist.
func TestListAllFailsOnAnyFailedRead(t *testing.T) {
	for _, path := range []string{
		"/api/v2/sdk/apps/crm/connections",
		"/api/v2/sdk/apps/connections/crm2/api",
		"/api/v2/sdk/apps/connections/crm2/common",
		"/api/v2/sdk/apps/connections/crm2",
	} {
		for _, fail := range nonNotFoundFailures() {
			t.Run(strings.TrimPrefix(path, "/api/v2")+" "+fail.name, func(t *testing.T) {
				f := newFakeMake()
				f.add("crm", "A", "basic")
				f.add("crm", "B", "basic")
				f.hook = func(w http.ResponseWriter, r *http.Request) bool {
					if r.Method == http.MethodGet && r.URL.Path == path {
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
				all, err := c.ListAll(context.Background(), "crm")
				if err == nil {
					t.Fatalf("ListAll succeeded with %d connections; want an error", len(all))
				}
				if platform.IsNotFound(err) {
					t.Fatalf("ListAll error %v counts as not found", err)
				}
			})
		}
	}
}

// TestListAllReadsEverything: every connection of the app, each with its
// connectedSystemName, all six sections and its common data.
func TestListAllReadsEverything(t *testing.T) {
	f, c := startFake(t)
	name := f.add("crm", "A", "basic")
	f.add("erp", "Other", "basic")
	api := `{"url": "https://x.test"}`
	csn := "sys"
	f.set(func() {
		f.conns[name].sections["api"] = &api
		f.conns[name].common = `{"region": "eu"}`
		f.conns[name].csn = &csn
	})
	all, err := c.ListAll(context.Background(), "crm")
	if err != nil {
		t.Fatal(err)
	}
	// A section never written reads as null and stands for its empty value.
	secs := map[string]any{
		"api": map[string]any{"url": "https://x.test"}, "install": map[string]any{}, "scopes": map[string]any{},
		"installSpec": []any{}, "parameters": []any{}, "scope": []any{},
	}
	want := []syncd.Live{{Kind: syncd.MakeConnection, RemoteID: name, Spec: map[string]any{
		"app": "crm", "label": "A", "type": "basic", "connectedSystemName": "sys",
		"sections": secs, "common": map[string]any{"region": "eu"},
	}}}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Fatalf("ListAll (-want +got):\n%s", diff)
	}
}

// TestObserveSharesWhatEqualsTheManifest: a connection read equal to its
// manifest keeps no copy of its own (the memory of a large estate in
// sync): found in its app's list, its whole spec is the manifest's map;
// fetched by name (another app's), its equal section is the manifest's.
func TestObserveSharesWhatEqualsTheManifest(t *testing.T) {
	same := func(a, b any) bool {
		ra, rb := reflect.ValueOf(a), reflect.ValueOf(b)
		return ra.Kind() == reflect.Map && rb.Kind() == reflect.Map && ra.Pointer() == rb.Pointer()
	}
	t.Run("listed", func(t *testing.T) {
		f, c := startFake(t)
		name := f.add("crm", "Orders", "basic")
		api := `{"url": "https://x.test"}`
		f.set(func() {
			f.conns[name].sections["api"] = &api
			f.conns[name].common = `{"region": "eu"}`
		})
		d := desired("crm", "Orders", "basic", map[string]any{"api": map[string]any{"url": "https://x.test"}}, map[string]any{"region": "eu"})
		snap, err := c.Observe(context.Background(), []platform.Want{{Desired: d}})
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Objects) != 1 || !same(snap.Objects[0].Spec, d.Spec) {
			t.Fatalf("live spec %+v is not the manifest's own", snap.Objects)
		}
	})
	t.Run("fetched by name", func(t *testing.T) {
		f, c := startFake(t)
		name := f.add("erp", "Moved", "basic")
		api := `{"url": "https://x.test"}`
		f.set(func() { f.conns[name].sections["api"] = &api })
		d := desired("crm", "Moved", "basic", map[string]any{"api": map[string]any{"url": "https://x.test"}}, nil)
		snap, err := c.Observe(context.Background(), []platform.Want{{RemoteID: name, Desired: d}})
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Objects) != 1 {
			t.Fatalf("objects = %+v, want the one connection", snap.Objects)
		}
		secs, _ := snap.Objects[0].Spec["sections"].(map[string]any)
		if !same(secs, d.Spec["sections"]) {
			t.Errorf("sections %v are not the manifest's own", secs)
		}
	})
}
