package make

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/syncd"
)

const emuToken = "emu-make-token-7f3a"

// emuEnv is the emulator behind a real HTTP server. before, when set, runs
// ahead of every API request with its 0-based number, so a test can turn
// knobs on for exactly the requests it means.
// emuApps exist on the test emulator; Make answers 404 for other apps.
var emuApps = []string{"acme", "empty"}

type emuEnv struct {
	emu    *emulator.Server
	client *Client
	base   string
	n      atomic.Int64
	before atomic.Pointer[func(n int64, r *http.Request)]
}

func startEmulator(t *testing.T) *emuEnv {
	t.Helper()
	env := &emuEnv{emu: emulator.New(emulator.Options{MakeToken: emuToken, MakeApps: emuApps, Knobs: emulator.Knobs{DeleteLag: 1}})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			n := env.n.Add(1) - 1
			if f := env.before.Load(); f != nil {
				(*f)(n, r)
			}
		}
		env.emu.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { env.emu.Close(); srv.Close() })
	c, err := New(Config{BaseURL: srv.URL + "/api/v2", Token: emuToken, RequestsPerMinute: 600000, Burst: 1000, Retry: testRetry})
	if err != nil {
		t.Fatal(err)
	}
	env.client, env.base = c, srv.URL+"/api/v2"
	return env
}

func (e *emuEnv) setBefore(f func(n int64, r *http.Request)) { e.before.Store(&f) }

// failFirst makes the emulator fail the next k API requests with knob set.
func (e *emuEnv) failFirst(k int64, set func(*emulator.Knobs, bool)) {
	start := e.n.Load()
	e.setBefore(func(n int64, r *http.Request) {
		e.emu.UpdateKnobs(func(kn *emulator.Knobs) { set(kn, n-start < k) })
	})
}

func TestEmulatorEndpoints(t *testing.T) {
	ctx := context.Background()
	env := startEmulator(t)
	c := env.client

	a, err := c.CreateConnection(ctx, "acme", "oauth", "Main")
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.CreateConnection(ctx, "acme", "apikey", "Second")
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "acme" || b.Name != "acme2" {
		t.Fatalf("names %q, %q; want acme, acme2", a.Name, b.Name)
	}
	list, err := c.ListConnections(ctx, "acme")
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %+v, %v", list, err)
	}
	if _, err := c.CreateConnection(ctx, "acme", "oauth2", "Bad"); platform.KindOf(err) != platform.KindInvalid {
		t.Fatalf("bad type: %v", err)
	}

	label, csn := "Main (renamed)", "acme-system"
	p := &csn
	if _, err := c.UpdateConnection(ctx, a.Name, ConnectionUpdate{Label: &label, ConnectedSystemName: &p}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetConnection(ctx, a.Name)
	if err != nil || got.Label != label || got.ConnectedSystemName == nil || *got.ConnectedSystemName != csn {
		t.Fatalf("get: %+v, %v", got, err)
	}

	raw := "{\n  // OAuth flow, see the vendor docs\n  \"authorize\": {\"url\": \"https://example.com/oauth\"}, /* keep */\n  \"token\": {\"url\": \"https://example.com/token\",},\n}\n"
	if err := c.SetSection(ctx, a.Name, "api", raw); err != nil {
		t.Fatal(err)
	}
	text, val, err := c.GetSection(ctx, a.Name, "api")
	if err != nil {
		t.Fatal(err)
	}
	if text != raw {
		t.Fatalf("JSONC not returned verbatim:\n got %q\nwant %q", text, raw)
	}
	wantVal := map[string]any{"authorize": map[string]any{"url": "https://example.com/oauth"}, "token": map[string]any{"url": "https://example.com/token"}}
	if diff := cmp.Diff(wantVal, val); diff != "" {
		t.Fatalf("parsed (-want +got):\n%s", diff)
	}
	if err := c.SetSection(ctx, a.Name, "parameters", "[{"); platform.KindOf(err) != platform.KindInvalid {
		t.Fatalf("malformed JSONC: %v", err)
	}
	for _, s := range Sections {
		if _, _, err := c.GetSection(ctx, b.Name, s); err != nil {
			t.Fatalf("section %s of a new connection: %v", s, err)
		}
	}

	if err := c.SetCommon(ctx, a.Name, map[string]any{"clientId": "cid", "clientSecret": "cs-very-secret"}); err != nil {
		t.Fatal(err)
	}
	common, err := c.GetCommon(ctx, a.Name)
	if diff := cmp.Diff(map[string]any{"clientId": "cid", "clientSecret": "cs-very-secret"}, common); diff != "" || err != nil {
		t.Fatalf("common (-want +got):\n%s%v", diff, err)
	}
	env.emu.SetApproved("acme", true)
	err = c.SetCommon(ctx, a.Name, map[string]any{"clientId": "other"})
	if platform.KindOf(err) != platform.KindConflict {
		t.Fatalf("locked common: %v (kind %v)", err, platform.KindOf(err))
	}
	env.emu.SetApproved("acme", false)

	if name, err := c.Recreate(ctx, a.Name); err != nil || name != a.Name {
		t.Fatalf("recreate: %q, %v", name, err)
	}

	if err := c.Delete(ctx, b.Name); err != nil {
		t.Fatal(err)
	}
	// Make deletes lazily: the next list may still show it; a GET does not.
	if _, err := c.GetConnection(ctx, b.Name); !platform.IsNotFound(err) {
		t.Fatalf("get after delete: %v", err)
	}
	if err := c.Delete(ctx, b.Name); err != nil {
		t.Fatalf("repeated delete: %v", err)
	}
	if _, err := c.ListConnections(ctx, "empty"); err != nil {
		t.Fatalf("list of an empty app: %v", err)
	}
}

func TestEmulatorObserveCost(t *testing.T) {
	ctx := context.Background()
	env := startEmulator(t)
	var seed emulator.Seed
	seed.Make.Apps = map[string]emulator.SeedApp{"acme": {}}
	app := seed.Make.Apps["acme"]
	var wants []platform.Want
	for i := range 10 {
		label := fmt.Sprintf("Connection %02d", i)
		app.Connections = append(app.Connections, emulator.SeedConnection{Label: label, Type: "oauth",
			Sections: map[string]json.RawMessage{"api": json.RawMessage(`"{\n // c\n \"url\": \"x\"\n}"`), "scope": json.RawMessage(`["read"]`)}})
		wants = append(wants, platform.Want{Desired: desired("acme", label, "oauth",
			map[string]any{"api": map[string]any{"url": "x"}, "scope": []any{"read"}}, nil)})
	}
	seed.Make.Apps["acme"] = app
	if _, err := env.emu.Seed(seed); err != nil {
		t.Fatal(err)
	}
	env.emu.ResetCounts()
	before := env.client.Stats()
	snap, err := env.client.Observe(ctx, wants)
	if err != nil {
		t.Fatal(err)
	}
	want := int64(1 + 10*2)
	if got := env.client.Stats().Sub(before).Total(); got != want {
		t.Fatalf("client counted %d requests, want %d", got, want)
	}
	if got := env.emu.Counts().Make.Total; int64(got) != want {
		t.Fatalf("emulator served %d requests, want %d", got, want)
	}
	if len(snap.Objects) != 10 {
		t.Fatalf("objects: %d", len(snap.Objects))
	}
	for _, o := range snap.Objects {
		if diff := cmp.Diff(map[string]any{"api": map[string]any{"url": "x"}, "scope": []any{"read"}}, o.Spec["sections"]); diff != "" {
			t.Fatalf("%s sections (-want +got):\n%s", o.RemoteID, diff)
		}
	}

	// Drift made in the web console shows in the next snapshot.
	lbl := "Edited by hand"
	if err := env.emu.EditMakeConnection(snap.Objects[0].RemoteID, emulator.MakeEdit{Label: &lbl, Sections: map[string]string{"scope": `["read","write"]`}}); err != nil {
		t.Fatal(err)
	}
	wants[0].RemoteID = snap.Objects[0].RemoteID
	snap2, err := env.client.Observe(ctx, wants[:1])
	if err != nil {
		t.Fatal(err)
	}
	var edited syncd.Live
	for _, o := range snap2.Objects {
		if o.RemoteID == wants[0].RemoteID {
			edited = o
		}
	}
	if edited.Spec["label"] != lbl || cmp.Diff([]any{"read", "write"}, edited.Spec["sections"].(map[string]any)["scope"]) != "" {
		t.Fatalf("drift not seen: %+v", edited.Spec)
	}
}

func TestEmulatorRetries(t *testing.T) {
	tests := []struct {
		name     string
		failures int64
		set      func(*emulator.Knobs, bool)
		wantErr  bool
	}{
		{name: "429 then success", failures: 1, set: func(k *emulator.Knobs, on bool) { k.Rate429 = b2f(on) }},
		// Whether Make's 429 carries Retry-After is not documented: both.
		{name: "429 without Retry-After then success", failures: 2, set: func(k *emulator.Knobs, on bool) { k.Rate429, k.NoRetryAfter = b2f(on), true }},
		{name: "5xx then success", failures: 2, set: func(k *emulator.Knobs, on bool) { k.FailRate = b2f(on) }},
		{name: "persistent 5xx", failures: 1000, set: func(k *emulator.Knobs, on bool) { k.FailRate = b2f(on) }, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := startEmulator(t)
			if _, err := env.client.CreateConnection(context.Background(), "acme", "basic", "A"); err != nil {
				t.Fatal(err)
			}
			env.failFirst(tt.failures, tt.set)
			_, err := env.client.ListConnections(context.Background(), "acme")
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("want success after retries: %v", err)
				}
				return
			}
			if platform.KindOf(err) != platform.KindTransient || !strings.Contains(err.Error(), "GET /sdk/apps/acme/connections") {
				t.Fatalf("error %v: want a transient error naming the request", err)
			}
			if strings.Contains(err.Error(), emuToken) {
				t.Fatal("error contains the token")
			}
		})
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func TestEmulatorAmbiguousCreateDoesNotDuplicate(t *testing.T) {
	env := startEmulator(t)
	// The emulator carries out the POST and answers 502.
	env.setBefore(func(n int64, r *http.Request) {
		env.emu.UpdateKnobs(func(k *emulator.Knobs) { k.FailAfterWriteRate = b2f(r.Method == http.MethodPost) })
	})
	d := desired("acme", "Only once", "apikey", map[string]any{"parameters": []any{}}, map[string]any{"apiKey": "k-secret-1234"})
	name, err := env.client.Create(context.Background(), d)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	conns := env.emu.MakeConnections("acme")
	if len(conns) != 1 || conns[0].Name != name {
		t.Fatalf("connections after an ambiguous create: %+v (returned %q)", conns, name)
	}
	if got := env.emu.Counts().Make.ByMethod["POST"]; got != 1 {
		t.Fatalf("POSTs = %d, want 1", got)
	}
}

func TestEmulatorErrorsCarryNoSecrets(t *testing.T) {
	env := startEmulator(t)
	name, err := env.client.CreateConnection(context.Background(), "acme", "basic", "A")
	if err != nil {
		t.Fatal(err)
	}
	env.failFirst(1000, func(k *emulator.Knobs, on bool) { k.FailRate = b2f(on) })
	d := desired("acme", "A", "basic", nil, map[string]any{"password": "pa55-word-xyz"})
	err = env.client.Update(context.Background(), name.Name, d, []string{"/common/password"})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, s := range []string{"pa55-word-xyz", emuToken} {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error %q contains %q", err, s)
		}
	}
	if !platform.IsAmbiguous(err) {
		t.Fatalf("a 5xx on a write must be ambiguous: %v", err)
	}

	bad, _ := New(Config{BaseURL: "http://127.0.0.1:1/api/v2", Token: "wrong-tok-999", RequestsPerMinute: 600000, Retry: testRetry})
	if _, err := bad.ListConnections(context.Background(), "acme"); err == nil || strings.Contains(err.Error(), "wrong-tok-999") {
		t.Fatalf("network error: %v", err)
	}
	env.failFirst(0, func(k *emulator.Knobs, on bool) { k.FailRate = 0 })
	wrong, _ := New(Config{BaseURL: env.base, Token: "wrong-tok-999", RequestsPerMinute: 600000, Retry: testRetry})
	_, err = wrong.ListConnections(context.Background(), "acme")
	if platform.KindOf(err) != platform.KindUnauthorized || strings.Contains(err.Error(), "wrong-tok-999") {
		t.Fatalf("wrong token: %v", err)
	}
}

func TestEmulatorDeleteLag(t *testing.T) {
	ctx := context.Background()
	env := startEmulator(t)
	d := desired("acme", "Doomed", "basic", map[string]any{"scope": []any{}}, nil)
	name, err := env.client.Create(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.client.Delete(ctx, name); err != nil {
		t.Fatal(err)
	}
	// The next list still shows the deleted connection; its details
	// answer 404, so it must not be matched (nor planned as existing).
	snap, err := env.client.Observe(ctx, []platform.Want{{Desired: d, RemoteID: name}})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Objects) != 0 || cmp.Diff([]string{name}, snap.Gone) != "" {
		t.Fatalf("snapshot after delete: %+v", snap)
	}
	if got := env.emu.Counts().Make.ByMethod["DELETE"]; got != 1 {
		t.Fatalf("DELETEs = %d, want 1", got)
	}
}

// TestEmulatorAbsentAppDoesNotBlockOthers: a manifest naming an app that
// does not exist (a clean 404 on its list) is unreadable — an error naming
// the app, the URL and spec.app, never "no connection there", which would
// plan a create; the other apps are still observed.
func TestEmulatorAbsentAppDoesNotBlockOthers(t *testing.T) {
	env := startEmulator(t)
	if _, err := env.emu.Seed(emulator.Seed{Make: emulator.SeedMake{Apps: map[string]emulator.SeedApp{
		"ghost": {Absent: true},
		"real":  {Connections: []emulator.SeedConnection{{Label: "L", Type: "apikey"}}},
	}}}); err != nil {
		t.Fatal(err)
	}
	want := func(app string) platform.Want {
		return platform.Want{Desired: &syncd.Desired{Key: syncd.Key{Kind: syncd.MakeConnection, Name: app},
			Spec: map[string]any{"app": app, "type": "apikey", "label": "L"}}}
	}
	snap, err := env.client.Observe(context.Background(), []platform.Want{want("ghost"), want("real")})
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	if len(snap.Objects) != 1 || snap.Objects[0].Spec["app"] != "real" {
		t.Fatalf("objects = %+v", snap.Objects)
	}
	why := snap.Unreadable[syncd.Key{Kind: syncd.MakeConnection, Name: "ghost"}]
	for _, w := range []string{`"ghost"`, env.base + "/sdk/apps/ghost/connections", "404", "check spec.app"} {
		if !strings.Contains(why, w) {
			t.Errorf("unreadable reason lacks %q: %q", w, why)
		}
	}
	if len(snap.Unreadable) != 1 {
		t.Errorf("unreadable = %v, want only ghost", snap.Unreadable)
	}
}
