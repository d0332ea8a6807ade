package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/testenv"
)

// TestMisconfiguredPlatformFailsTheRun: a base URL that does not answer like
// the platform, or a rejected token, fails plan, apply, run --once and
// import with the URL, the status and the likely fix, and nothing is
// planned (before the preflight, such a plan created every object).
func TestMisconfiguredPlatformFailsTheRun(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	e.Write(t, "x.yaml", testenv.PatchworksDoc("pw-x", "Shop X"))
	notFound := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"message": "Not Found"}`))
	}))
	t.Cleanup(notFound.Close)

	tests := []struct {
		name  string
		env   map[string]string
		wants []string // in stderr
	}{
		{"make url without /api/v2", map[string]string{"SYNCD_MAKE_URL": e.HTTP.URL},
			[]string{e.HTTP.URL + "/sdk/apps", "HTTP 404", "/api/v2", "SYNCD_MAKE_URL"}},
		{"make host answering 404 to everything", map[string]string{"SYNCD_MAKE_URL": notFound.URL + "/api/v2"},
			[]string{notFound.URL + "/api/v2/sdk/apps", "HTTP 404", "SYNCD_MAKE_URL"}},
		{"make token rejected", map[string]string{"SYNCD_MAKE_TOKEN": "wrong"},
			[]string{e.HTTP.URL + "/api/v2/sdk/apps", "HTTP 401", "token was rejected", "SYNCD_MAKE_TOKEN"}},
		{"patchworks url with a path", map[string]string{"SYNCD_PATCHWORKS_URL": e.HTTP.URL + "/core"},
			[]string{e.HTTP.URL + "/core/api/v1/connectors", "HTTP 404", "SYNCD_PATCHWORKS_URL"}},
		{"patchworks key rejected", map[string]string{"SYNCD_PATCHWORKS_TOKEN": "wrong"},
			[]string{e.HTTP.URL + "/api/v1/connectors", "HTTP 401", "SYNCD_PATCHWORKS_TOKEN"}},
		{"make host down", map[string]string{"SYNCD_MAKE_URL": "http://127.0.0.1:1/api/v2"},
			[]string{"http://127.0.0.1:1/api/v2/sdk/apps", "no answer", "SYNCD_MAKE_URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, args := range [][]string{
				{"plan", "--detailed-exitcode"},
				{"apply", "--auto-approve"},
				{"run", "--once", "--mode", "apply"},
			} {
				r := syncdCmd(t, e, tt.env, args...)
				if r.code != 1 {
					t.Errorf("%v: exit %d, want 1\n%s%s", args, r.code, r.stdout, r.stderr)
				}
				for _, w := range tt.wants {
					if !strings.Contains(r.stderr, w) {
						t.Errorf("%v: stderr lacks %q:\n%s", args, w, r.stderr)
					}
				}
				if strings.Contains(r.stdout, "to create") {
					t.Errorf("%v: planned anyway:\n%s", args, r.stdout)
				}
			}
			if n := e.Emu.MakeConnectionCount() + e.Emu.ConnectorCount(); n != 0 {
				t.Fatalf("%d objects created", n)
			}
		})
	}
	r := syncdCmd(t, e, map[string]string{"SYNCD_MAKE_TOKEN": "wrong"}, "import", "--kind", "MakeConnection", "--app", "app-one", "--out", t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, "SYNCD_MAKE_TOKEN") {
		t.Errorf("import with a wrong token: exit %d\n%s", r.code, r.stderr)
	}
}

// TestMissingMakeAppIsAnError: an app whose connection list answers 404 is
// an error for its resources (naming the app, the URL and spec.app), never
// a create; the other apps still plan; import of it fails.
func TestMissingMakeAppIsAnError(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	seed, err := emulator.ParseSeed([]byte(`{"make": {"apps": {"ghost": {"absent": true}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Emu.Seed(seed); err != nil {
		t.Fatal(err)
	}
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	e.Write(t, "g.yaml", testenv.MakeDoc("conn-g", "ghost", "Conn G", "apikey"))

	r := syncdCmd(t, e, nil, "plan", "--format", "json")
	var js struct {
		Changes []struct {
			Name   string `json:"name"`
			Action string `json:"action"`
			Error  string `json:"error"`
		} `json:"changes"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil {
		t.Fatalf("%v\n%s%s", err, r.stdout, r.stderr)
	}
	got := map[string][2]string{}
	for _, c := range js.Changes {
		got[c.Name] = [2]string{c.Action, c.Error}
	}
	if got["conn-a"][0] != "create" {
		t.Errorf("conn-a: %v, want a create", got["conn-a"])
	}
	g := got["conn-g"]
	if g[0] == "create" || g[1] == "" {
		t.Fatalf("conn-g: %v, want an error", g)
	}
	for _, w := range []string{`"ghost"`, e.HTTP.URL + "/api/v2/sdk/apps/ghost/connections", "404", "check spec.app"} {
		if !strings.Contains(g[1], w) {
			t.Errorf("conn-g's error lacks %q: %s", w, g[1])
		}
	}
	syncdCmd(t, e, nil, "apply", "--auto-approve")
	if n := len(e.Emu.MakeConnections("ghost")); n != 0 {
		t.Errorf("ghost has %d connections after apply", n)
	}
	if n := len(e.Emu.MakeConnections("app-one")); n != 1 {
		t.Errorf("app-one has %d connections after apply, want 1", n)
	}

	r = syncdCmd(t, e, nil, "import", "--kind", "MakeConnection", "--app", "ghost", "--out", t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, "check spec.app") {
		t.Errorf("import of a missing app: exit %d\n%s", r.code, r.stderr)
	}
}
