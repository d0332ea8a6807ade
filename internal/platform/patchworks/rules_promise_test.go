package patchworks

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/syncd"
)

// unitRecorder is a hand-written syncd.Comparison: it keeps every unit it
// is handed and calls a unit different when its two values are not equal.
type unitRecorder struct {
	units    []syncd.Unit
	replaced bool
}

func (r *unitRecorder) Unit(u syncd.Unit) bool {
	r.units = append(r.units, u)
	return !u.LiveHas || !cmp.Equal(u.Desired, u.Live)
}

func (r *unitRecorder) Replace() { r.replaced = true }

func (r *unitRecorder) sorted() []syncd.Unit {
	out := slices.Clone(r.units)
	slices.SortFunc(out, func(a, b syncd.Unit) int {
		return strings.Compare(strings.Join(a.Path, "/"), strings.Join(b.Path, "/"))
	})
	return out
}

// TestCompareUnitsOfAConnector pins what Patchworks' rules compare and
// how: unreadable and server-assigned fields never, a create-only field's
// difference is a replace, top-level fields loosely, each variable subfield
// and pivot subfield the manifest sets as its own loose unit, a variable
// the live object lacks as a whole, and a secret variable's value as
// write-only (either side may say it is secret).
func TestCompareUnitsOfAConnector(t *testing.T) {
	type U = syncd.Unit
	p := func(s string) []string { return strings.Split(s, "/") }
	for _, tc := range []struct {
		name     string
		d, l     map[string]any
		want     []U
		wantRepl bool
	}{
		{
			name: "server-assigned and unreadable fields are never compared",
			d:    map[string]any{"id": 1.0, "created_at": "a", "updated_at": "b", "session_id": "s", "platform_app_key": "k", "name": "n"},
			l:    map[string]any{"id": 2.0, "name": "n"},
			want: []U{{Path: p("name"), Desired: "n", Live: "n", LiveHas: true, Loose: true}},
		},
		{
			name:     "a changed create-only field is a replace",
			d:        map[string]any{"certificate_id": "7"},
			l:        map[string]any{"certificate_id": 8.0},
			want:     []U{{Path: p("certificate_id"), Desired: "7", Live: 8.0, LiveHas: true, Loose: true}},
			wantRepl: true,
		},
		{
			name: "an equal create-only field is no replace",
			d:    map[string]any{"certificate_id": "7"},
			l:    map[string]any{"certificate_id": "7"},
			want: []U{{Path: p("certificate_id"), Desired: "7", Live: "7", LiveHas: true, Loose: true}},
		},
		{
			name: "top-level fields are loose units",
			d:    map[string]any{"timezone": "UTC", "connection_pool_id": 3.0},
			l:    map[string]any{"timezone": "UTC"},
			want: []U{
				{Path: p("connection_pool_id"), Desired: 3.0, LiveHas: false, Loose: true},
				{Path: p("timezone"), Desired: "UTC", Live: "UTC", LiveHas: true, Loose: true},
			},
		},
		{
			name: "variables that are not an object are one strict unit",
			d:    map[string]any{"variables": nil},
			l:    map[string]any{"variables": map[string]any{}},
			want: []U{{Path: p("variables"), Desired: nil, Live: map[string]any{}, LiveHas: true}},
		},
		{
			name: "a variable the live object lacks is one unit",
			d:    map[string]any{"variables": map[string]any{"host": map[string]any{"key": "host", "value": "h"}}},
			l:    map[string]any{"variables": map[string]any{}},
			want: []U{{Path: p("variables/host"), Desired: map[string]any{"key": "host", "value": "h"}}},
		},
		{
			name: "a live variable that is not an object is one unit",
			d:    map[string]any{"variables": map[string]any{"host": map[string]any{"key": "host"}}},
			l:    map[string]any{"variables": map[string]any{"host": "h"}},
			want: []U{{Path: p("variables/host"), Desired: map[string]any{"key": "host"}, Live: "h", LiveHas: true}},
		},
		{
			name: "each declared subfield is a loose unit; id is not compared",
			d: map[string]any{"variables": map[string]any{"host": map[string]any{
				"key": "host", "id": 1.0, "value": "h", "locked": false,
				"pivot": map[string]any{"alias": "H", "required": true},
			}}},
			l: map[string]any{"variables": map[string]any{"host": map[string]any{
				"key": "host", "id": 9.0, "value": "h", "label": "L",
				"pivot": map[string]any{"alias": "H", "required": 1.0, "advanced": 0.0},
			}}},
			want: []U{
				{Path: p("variables/host/key"), Desired: "host", Live: "host", LiveHas: true, Loose: true},
				{Path: p("variables/host/locked"), Desired: false, Loose: true},
				{Path: p("variables/host/pivot/alias"), Desired: "H", Live: "H", LiveHas: true, Loose: true},
				{Path: p("variables/host/pivot/required"), Desired: true, Live: 1.0, LiveHas: true, Loose: true},
				{Path: p("variables/host/value"), Desired: "h", Live: "h", LiveHas: true, Loose: true},
			},
		},
		{
			name: "a pivot that is not an object live is one unit",
			d:    map[string]any{"variables": map[string]any{"host": map[string]any{"pivot": map[string]any{"alias": "H"}}}},
			l:    map[string]any{"variables": map[string]any{"host": map[string]any{"pivot": nil}}},
			want: []U{{Path: p("variables/host/pivot"), Desired: map[string]any{"alias": "H"}, Live: nil, LiveHas: true, Loose: true}},
		},
		{
			name: "a secret value is write-only when the manifest says secret",
			d:    map[string]any{"variables": map[string]any{"pw": map[string]any{"secret": true, "value": "s", "label": "P"}}},
			l:    map[string]any{"variables": map[string]any{"pw": map[string]any{"value": nil, "label": "P"}}},
			want: []U{
				{Path: p("variables/pw/label"), Desired: "P", Live: "P", LiveHas: true, Loose: true},
				{Path: p("variables/pw/secret"), Desired: true, Loose: true},
				{Path: p("variables/pw/value"), Desired: "s", Live: nil, LiveHas: true, Loose: true, WriteOnly: true},
			},
		},
		{
			name: "a secret value is write-only when the live object says secret",
			d:    map[string]any{"variables": map[string]any{"pw": map[string]any{"value": "s"}}},
			l:    map[string]any{"variables": map[string]any{"pw": map[string]any{"value": nil, "secret": true}}},
			want: []U{{Path: p("variables/pw/value"), Desired: "s", Live: nil, LiveHas: true, Loose: true, WriteOnly: true}},
		},
		{
			name: "a value no side marks secret is not write-only",
			d:    map[string]any{"variables": map[string]any{"pw": map[string]any{"value": "s", "secret": false}}},
			l:    map[string]any{"variables": map[string]any{"pw": map[string]any{"value": "s", "secret": false}}},
			want: []U{
				{Path: p("variables/pw/secret"), Desired: false, Live: false, LiveHas: true, Loose: true},
				{Path: p("variables/pw/value"), Desired: "s", Live: "s", LiveHas: true, Loose: true},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r unitRecorder
			Rules{}.Compare(tc.d, tc.l, &r)
			if diff := cmp.Diff(tc.want, r.sorted()); diff != "" {
				t.Errorf("units (-want +got):\n%s", diff)
			}
			if r.replaced != tc.wantRepl {
				t.Errorf("replace = %v, want %v", r.replaced, tc.wantRepl)
			}
		})
	}
}

// TestConnectorKeyAndListing: the natural key is the name, and back; an
// unmanaged connector is listed under Patchworks by name.
func TestConnectorKeyAndListing(t *testing.T) {
	spec := map[string]any{"name": "Shopify"}
	if got := (Rules{}).NaturalKey(spec); got != "Shopify" {
		t.Errorf("NaturalKey = %q", got)
	}
	if diff := cmp.Diff(spec, Rules{}.KeySpec("Shopify")); diff != "" {
		t.Errorf("KeySpec (-want +got):\n%s", diff)
	}
	if got := (Rules{}).Kind(); got != syncd.PatchworksConnector {
		t.Errorf("Kind = %v", got)
	}
	if g, h, n := (Rules{}).Unmanaged(spec); g != "" || h != "Patchworks" || n != "Shopify" {
		t.Errorf("Unmanaged = %q, %q, %q", g, h, n)
	}
}

// TestCreateFieldsOfAConnector: one entry per top-level field and per
// variable; server-assigned and null fields are not shown.
func TestCreateFieldsOfAConnector(t *testing.T) {
	d := map[string]any{
		"name": "n", "id": 4.0, "created_at": "t", "certificate_id": nil,
		"variables": map[string]any{"a": map[string]any{"key": "a"}, "b": map[string]any{"key": "b"}},
	}
	got := map[string]any{}
	Rules{}.CreateFields(d, func(p []string, v any) { got[strings.Join(p, "/")] = v })
	want := map[string]any{"name": "n", "variables/a": map[string]any{"key": "a"}, "variables/b": map[string]any{"key": "b"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("create fields (-want +got):\n%s", diff)
	}
	got = map[string]any{}
	Rules{}.CreateFields(map[string]any{"variables": "x", "type": map[string]any{"a": 1.0}}, func(p []string, v any) { got[strings.Join(p, "/")] = v })
	if diff := cmp.Diff(map[string]any{"variables": "x", "type": map[string]any{"a": 1.0}}, got); diff != "" {
		t.Errorf("non-object variables (-want +got):\n%s", diff)
	}
}

// TestSensitiveVariableValues: the value (or anything under it) of a
// variable that either side marks secret, and nothing else.
func TestSensitiveVariableValues(t *testing.T) {
	secret := map[string]any{"variables": map[string]any{"a/b": map[string]any{"secret": true}, "pw": map[string]any{"secret": true}}}
	plain := map[string]any{"variables": map[string]any{"pw": map[string]any{"secret": false}, "host": map[string]any{}}}
	for _, tc := range []struct {
		ptr   string
		specs []map[string]any
		want  bool
	}{
		{"/variables/pw/value", []map[string]any{plain, secret}, true},
		{"/variables/pw/value", []map[string]any{secret}, true},
		{"/variables/pw/value/x", []map[string]any{secret}, true},
		{"/variables/a~1b/value", []map[string]any{secret}, true},
		{"/variables/pw/value", []map[string]any{plain}, false},
		{"/variables/pw/label", []map[string]any{secret}, false},
		{"/variables/pw/valueX", []map[string]any{secret}, false},
		{"/variables/pw", []map[string]any{secret}, false},
		{"/variables/host/value", []map[string]any{secret, plain}, false},
		{"/name", []map[string]any{secret}, false},
	} {
		if got := (Rules{}).Sensitive(tc.ptr, tc.specs...); got != tc.want {
			t.Errorf("Sensitive(%q) = %v, want %v", tc.ptr, got, tc.want)
		}
	}
	for ptr, want := range map[string]bool{"": true, "/variables": true, "/variables/x/value": true, "/variablesX": false, "/name": false} {
		if got := (Rules{}).MaySensitive(ptr); got != want {
			t.Errorf("MaySensitive(%q) = %v, want %v", ptr, got, want)
		}
	}
}

// TestEstimateRequestsPagesOfAHundred: the preflight and one list page per
// hundred connectors; nothing for none.
func TestEstimateRequestsPagesOfAHundred(t *testing.T) {
	for n, want := range map[int]int{0: 0, 1: 2, 99: 2, 100: 2, 101: 3, 200: 3, 201: 4} {
		if got := (Platform{}).EstimateRequests(make([]map[string]any, n)); got != want {
			t.Errorf("EstimateRequests(%d specs) = %d, want %d", n, got, want)
		}
	}
}

// TestNewProviderNeedsAURLAndAKey: without a URL Patchworks is not
// configured (no provider, no error); with one, a missing key is an error.
func TestNewProviderNeedsAURLAndAKey(t *testing.T) {
	cfg := func(v platform.Values) platform.Config {
		return platform.Config{Settings: map[string]platform.Values{platformName: v}}
	}
	if p, err := (Platform{}).NewProvider(cfg(platform.Values{flagToken: "t"})); p != nil || err != nil {
		t.Errorf("not configured: %v, %v", p, err)
	}
	if _, err := (Platform{}).NewProvider(cfg(platform.Values{flagURL: "http://127.0.0.1:1"})); err == nil || !strings.Contains(err.Error(), "SYNCD_PATCHWORKS_TOKEN") {
		t.Errorf("without a key: %v", err)
	}
	if _, err := (Platform{}).NewProvider(cfg(platform.Values{flagURL: "ftp://x", flagToken: "t"})); err == nil {
		t.Error("a URL that is not http(s) gave no error")
	}
	if p, err := (Platform{}).NewProvider(cfg(platform.Values{flagURL: "http://127.0.0.1:1", flagToken: "t"})); p == nil || err != nil {
		t.Errorf("configured: %v, %v", p, err)
	}
}

// TestImportReadsEveryConnector: an import is every connector, in the
// order ListAll gives them, and a failed listing is an error, never an
// empty import.
func TestImportReadsEveryConnector(t *testing.T) {
	ctx := context.Background()
	_, c := serve(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		reply(w, 200, `{"data": [{"id": 2, "name": "B"}, {"id": 1, "name": "A"}], "meta": {"last_page": 1, "total": 2}}`)
	})
	got, err := Platform{}.Import(ctx, c, "ignored", 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, im := range got {
		names = append(names, im.Live.RemoteID+":"+(Rules{}).NaturalKey(im.Live.Spec))
	}
	if diff := cmp.Diff([]string{"1:A", "2:B"}, names); diff != "" {
		t.Errorf("imported (-want +got):\n%s", diff)
	}
	_, c = serve(t, func(w http.ResponseWriter, r *http.Request, _ []byte) { reply(w, 403, `{"message": "Forbidden"}`) })
	if got, err := (Platform{}).Import(ctx, c, "", 0); err == nil || got != nil {
		t.Errorf("failed listing: %v, %v", got, err)
	}
	if err := (Platform{}).CheckImportScope("anything"); err != nil {
		t.Errorf("CheckImportScope: %v", err)
	}
	if err := (Platform{}).CheckBind(nil, syncd.Live{}); err != nil {
		t.Errorf("CheckBind: %v", err)
	}
}
