package make

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/syncd"
)

// recorder is a hand-written syncd.Comparison: it keeps every unit it is
// handed and calls a unit different when its two values are not equal.
type recorder struct {
	units    []syncd.Unit
	replaced bool
}

func (r *recorder) Unit(u syncd.Unit) bool {
	r.units = append(r.units, u)
	return !u.LiveHas || !cmp.Equal(u.Desired, u.Live)
}

func (r *recorder) Replace() { r.replaced = true }

// sorted returns the units by path (Compare walks maps).
func (r *recorder) sorted() []syncd.Unit {
	out := slices.Clone(r.units)
	slices.SortFunc(out, func(a, b syncd.Unit) int {
		return strings.Compare(strings.Join(a.Path, "/"), strings.Join(b.Path, "/"))
	})
	return out
}

// TestCompareUnitsOfAConnection pins what Make's rules compare and what a
// difference means: server-assigned fields are never compared, an app or
// type difference is a replace (an app the live object does not echo is not
// one), each declared section is a unit whose null or missing side is its
// empty shape, and common data is one unit whose null is {}.
func TestCompareUnitsOfAConnection(t *testing.T) {
	u := func(path string, d, l any, has bool) syncd.Unit {
		return syncd.Unit{Path: strings.Split(path, "/"), Desired: d, Live: l, LiveHas: has}
	}
	for _, tc := range []struct {
		name      string
		d, l      map[string]any
		want      []syncd.Unit
		wantRepl  bool
		wantEqual bool
	}{
		{
			name: "server-assigned fields are never compared",
			d:    map[string]any{"id": "x", "created_at": "a", "updated_at": "b", "appVersion": 1.0, "app_version": "1", "redirectUri": "u", "label": "A"},
			l:    map[string]any{"id": "y", "label": "A"},
			want: []syncd.Unit{u("label", "A", "A", true)},
		},
		{
			name: "same app and type",
			d:    map[string]any{"app": "crm", "type": "basic"},
			l:    map[string]any{"app": "crm", "type": "basic"},
			want: []syncd.Unit{u("app", "crm", "crm", true), u("type", "basic", "basic", true)},
		},
		{
			name:     "another app is another object",
			d:        map[string]any{"app": "crm"},
			l:        map[string]any{"app": "erp"},
			want:     []syncd.Unit{u("app", "crm", "erp", true)},
			wantRepl: true,
		},
		{
			name: "an app the live object does not echo is not compared",
			d:    map[string]any{"app": "crm"},
			l:    map[string]any{},
		},
		{
			name:     "another type is a replace",
			d:        map[string]any{"type": "oauth"},
			l:        map[string]any{"type": "basic"},
			want:     []syncd.Unit{u("type", "oauth", "basic", true)},
			wantRepl: true,
		},
		{
			name:     "a type the live object lacks is a replace",
			d:        map[string]any{"type": "oauth"},
			l:        map[string]any{},
			want:     []syncd.Unit{u("type", "oauth", nil, false)},
			wantRepl: true,
		},
		{
			name: "null and missing sections are their empty shapes",
			d: map[string]any{"sections": map[string]any{
				"api": nil, "parameters": []any{"p"}, "scope": nil, "install": map[string]any{"i": 1.0},
			}},
			l: map[string]any{"sections": map[string]any{"api": map[string]any{}, "parameters": nil, "install": map[string]any{"i": 2.0}}},
			want: []syncd.Unit{
				u("sections/api", map[string]any{}, map[string]any{}, true),
				u("sections/install", map[string]any{"i": 1.0}, map[string]any{"i": 2.0}, true),
				u("sections/parameters", []any{"p"}, []any{}, true),
				u("sections/scope", []any{}, []any{}, true),
			},
		},
		{
			name: "sections the live object lacks entirely",
			d:    map[string]any{"sections": map[string]any{"scopes": map[string]any{"s": true}}},
			l:    map[string]any{},
			want: []syncd.Unit{u("sections/scopes", map[string]any{"s": true}, map[string]any{}, true)},
		},
		{
			name: "sections that are not an object are one unit",
			d:    map[string]any{"sections": "text"},
			l:    map[string]any{"sections": map[string]any{}},
			want: []syncd.Unit{u("sections", "text", map[string]any{}, true)},
		},
		{
			name: "null common data is {} either side",
			d:    map[string]any{"common": nil},
			l:    map[string]any{},
			want: []syncd.Unit{u("common", map[string]any{}, map[string]any{}, true)},
		},
		{
			name: "common data is one unit: a key only live has differs",
			d:    map[string]any{"common": map[string]any{"a": "1"}},
			l:    map[string]any{"common": map[string]any{"a": "1", "b": "2"}},
			want: []syncd.Unit{u("common", map[string]any{"a": "1"}, map[string]any{"a": "1", "b": "2"}, true)},
		},
		{
			name: "live null common data against declared keys",
			d:    map[string]any{"common": map[string]any{"a": "1"}},
			l:    map[string]any{"common": nil},
			want: []syncd.Unit{u("common", map[string]any{"a": "1"}, map[string]any{}, true)},
		},
		{
			name: "other fields are compared as they are",
			d:    map[string]any{"connectedSystemName": nil},
			l:    map[string]any{},
			want: []syncd.Unit{u("connectedSystemName", nil, nil, false)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r recorder
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

// TestNaturalKeyRoundTrips: app + "/" + label, and back; a label may hold
// slashes (an app name cannot).
func TestNaturalKeyRoundTrips(t *testing.T) {
	for _, tc := range []struct {
		spec map[string]any
		nk   string
	}{
		{map[string]any{"app": "crm", "label": "Main"}, "crm/Main"},
		{map[string]any{"app": "crm", "label": "a/b/c"}, "crm/a/b/c"},
		{map[string]any{"app": "crm", "label": ""}, "crm/"},
	} {
		if got := (Rules{}).NaturalKey(tc.spec); got != tc.nk {
			t.Errorf("NaturalKey(%v) = %q, want %q", tc.spec, got, tc.nk)
		}
		if diff := cmp.Diff(tc.spec, Rules{}.KeySpec(tc.nk)); diff != "" {
			t.Errorf("KeySpec(%q) (-want +got):\n%s", tc.nk, diff)
		}
	}
	if got := (Rules{}).Kind(); got != syncd.MakeConnection {
		t.Errorf("Kind = %v", got)
	}
}

// TestCreateFieldsOfAConnection: one entry per top-level field and per
// section; server-assigned and null fields are not shown.
func TestCreateFieldsOfAConnection(t *testing.T) {
	d := map[string]any{
		"app": "crm", "label": "A", "id": "x", "redirectUri": "u", "connectedSystemName": nil,
		"sections": map[string]any{"api": map[string]any{"u": "x"}, "scope": []any{"s"}},
		"common":   map[string]any{"k": "v"},
	}
	got := map[string]any{}
	Rules{}.CreateFields(d, func(p []string, v any) { got[strings.Join(p, "/")] = v })
	want := map[string]any{
		"app": "crm", "label": "A",
		"sections/api": map[string]any{"u": "x"}, "sections/scope": []any{"s"},
		"common": map[string]any{"k": "v"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("create fields (-want +got):\n%s", diff)
	}
	got = map[string]any{}
	Rules{}.CreateFields(map[string]any{"sections": "text"}, func(p []string, v any) { got[strings.Join(p, "/")] = v })
	if diff := cmp.Diff(map[string]any{"sections": "text"}, got); diff != "" {
		t.Errorf("sections that are not an object (-want +got):\n%s", diff)
	}
}

// TestUnmanagedAndMaySensitive: an unmanaged connection is listed under its
// app, or under "app unknown"; only common data may hold secrets.
func TestUnmanagedAndMaySensitive(t *testing.T) {
	g, h, n := Rules{}.Unmanaged(map[string]any{"app": "crm", "label": "A"})
	if g != "crm" || h != "Make app crm" || n != "A" {
		t.Errorf("Unmanaged = %q, %q, %q", g, h, n)
	}
	g, h, n = Rules{}.Unmanaged(map[string]any{"label": "B"})
	if g != "" || h != "Make (app unknown)" || n != "B" {
		t.Errorf("Unmanaged without app = %q, %q, %q", g, h, n)
	}
	for ptr, want := range map[string]bool{
		"": true, "/common": true, "/common/x": true, "/commonX": false, "/label": false, "/sections/api": false,
	} {
		if got := (Rules{}).MaySensitive(ptr); got != want {
			t.Errorf("MaySensitive(%q) = %v, want %v", ptr, got, want)
		}
	}
}

// TestCheckBindRefusesAnotherApp: an externalId may only bind a connection
// of the manifest's own app.
func TestCheckBindRefusesAnotherApp(t *testing.T) {
	d := &syncd.Desired{Key: syncd.Key{Kind: syncd.MakeConnection, Name: "crm-main"}, Spec: map[string]any{"app": "crm"}}
	if err := (Platform{}).CheckBind(d, syncd.Live{RemoteID: "crm2", Spec: map[string]any{"app": "crm"}}); err != nil {
		t.Errorf("same app: %v", err)
	}
	err := Platform{}.CheckBind(d, syncd.Live{RemoteID: "erp", Spec: map[string]any{"app": "erp"}})
	if err == nil || !strings.Contains(err.Error(), "erp is not a connection of the app crm") {
		t.Errorf("another app: %v", err)
	}
}

// TestEstimateRequestsCountsEveryRead: one list per app, one read per
// declared section, common data and connected system name, and the
// preflight; nothing at all for no connection.
func TestEstimateRequestsCountsEveryRead(t *testing.T) {
	for _, tc := range []struct {
		name  string
		specs []map[string]any
		want  int
	}{
		{"none", nil, 0},
		{"one bare connection", []map[string]any{{"app": "crm", "label": "A"}}, 2},
		{"two apps, details", []map[string]any{
			{"app": "crm", "label": "A", "sections": map[string]any{"api": nil, "scope": nil}, "common": nil},
			{"app": "crm", "label": "B", "connectedSystemName": nil},
			{"app": "erp", "label": "C"},
		}, 1 + 2 + 2 + 1 + 1},
	} {
		if got := (Platform{}).EstimateRequests(tc.specs); got != tc.want {
			t.Errorf("%s: EstimateRequests = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestNewProviderNeedsAURLOrZoneAndAToken: without a URL or zone Make is
// not configured (no provider, no error); with one, a missing token or an
// unknown zone is an error.
func TestNewProviderNeedsAURLOrZoneAndAToken(t *testing.T) {
	cfg := func(v platform.Values) platform.Config {
		return platform.Config{Settings: map[string]platform.Values{platformName: v}}
	}
	if p, err := (Platform{}).NewProvider(cfg(platform.Values{flagToken: "t"})); p != nil || err != nil {
		t.Errorf("not configured: %v, %v", p, err)
	}
	for _, v := range []platform.Values{{flagURL: "http://127.0.0.1:1/api/v2"}, {flagZone: "eu1"}} {
		if _, err := (Platform{}).NewProvider(cfg(v)); err == nil || !strings.Contains(err.Error(), "SYNCD_MAKE_TOKEN") {
			t.Errorf("%v without token: %v", v, err)
		}
	}
	if _, err := (Platform{}).NewProvider(cfg(platform.Values{flagZone: "mars1", flagToken: "t"})); err == nil || !strings.Contains(err.Error(), "unknown zone") {
		t.Errorf("unknown zone: %v", err)
	}
	for _, v := range []platform.Values{{flagURL: "http://127.0.0.1:1/api/v2", flagToken: "t"}, {flagZone: "eu1", flagToken: "t"}} {
		if p, err := (Platform{}).NewProvider(cfg(v)); p == nil || err != nil {
			t.Errorf("%v: %v, %v", v, p, err)
		}
	}
}
