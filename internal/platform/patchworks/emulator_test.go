package patchworks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/syncd"
)

// emuEnv is the emulator behind a real HTTP server; before runs ahead of
// each API request so a test can turn knobs on for exactly the requests it
// means.
type emuEnv struct {
	emu    *emulator.Server
	client *Client
	url    string
	n      atomic.Int64
	before atomic.Pointer[func(n int64, r *http.Request)]
}

func startEmulator(t *testing.T) *emuEnv {
	t.Helper()
	env := &emuEnv{emu: emulator.New(emulator.Options{PatchworksToken: testKey})}
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
	env.url = srv.URL
	env.client = newTestClient(t, srv.URL)
	return env
}

func (e *emuEnv) setBefore(f func(n int64, r *http.Request)) { e.before.Store(&f) }

func (e *emuEnv) failFirst(k int64, set func(*emulator.Knobs, bool)) {
	start := e.n.Load()
	e.setBefore(func(n int64, r *http.Request) {
		e.emu.UpdateKnobs(func(kn *emulator.Knobs) { set(kn, n-start < k) })
	})
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func connectorSpec(name string) map[string]any {
	return map[string]any{
		"name": name, "authentication_implementation_id": "42", "timezone": "Europe/London",
		"date_format": "d/m/Y H:i", "rate_limit_unit": "minute", "rate_limit_duration": 60.0,
		"connection_pool_id": nil,
		"variables": map[string]any{
			"shop_domain": map[string]any{"key": "shop_domain", "value": "acme.myshopify.com", "label": "Shop domain", "secret": false, "locked": false,
				"pivot": map[string]any{"alias": "shop", "configurable": true, "required": true, "advanced": false}},
			"api_token": map[string]any{"key": "api_token", "value": "tok-very-secret-1", "label": "Token", "secret": true, "locked": false,
				"pivot": map[string]any{"alias": "tok", "configurable": true, "required": true, "advanced": false}},
		},
	}
}

func desiredConnector(name string) *syncd.Desired {
	return &syncd.Desired{Key: syncd.Key{Kind: syncd.PatchworksConnector, Name: strings.ToLower(name)}, Spec: connectorSpec(name),
		Sensitive: []string{"/variables/api_token/value"}}
}

// seedConnectors is n connectors named "Connector %03d", each with vars
// (none when nil).
func seedConnectors(n int, vars []any) emulator.Seed {
	var seed emulator.Seed
	for i := range n {
		c := map[string]any{
			"name": fmt.Sprintf("Connector %03d", i), "authentication_implementation_id": 42, "timezone": "UTC",
			"date_format": "Y-m-d", "rate_limit_unit": "minute", "rate_limit_duration": 60,
		}
		if vars != nil {
			c["variables"] = vars
		}
		seed.Patchworks.Connectors = append(seed.Patchworks.Connectors, c)
	}
	return seed
}

func TestEmulatorObserve250(t *testing.T) {
	ctx := context.Background()
	env := startEmulator(t)
	res, err := env.emu.Seed(seedConnectors(250, []any{map[string]any{"key": "secret_key", "value": "never-shown", "secret": true}}))
	if err != nil {
		t.Fatal(err)
	}
	env.emu.ResetCounts()
	before := env.client.Stats()
	wants := []platform.Want{{RemoteID: strconv.FormatInt(res.Patchworks[0], 10), Desired: desiredConnector("Connector 000")}}
	snap, err := env.client.Observe(ctx, wants)
	if err != nil {
		t.Fatal(err)
	}
	if got := env.client.Stats().Sub(before).Total(); got != 3 {
		t.Fatalf("client counted %d requests, want 3", got)
	}
	if got := env.emu.Counts().Patchworks.Total; got != 3 {
		t.Fatalf("emulator served %d requests, want 3", got)
	}
	if len(snap.Objects) != 250 || len(snap.Gone) != 0 {
		t.Fatalf("objects %d gone %v", len(snap.Objects), snap.Gone)
	}
	first := snap.Objects[0]
	if first.RemoteID != "1" || first.Spec["authentication_implementation_id"] != "42" {
		t.Fatalf("first object %s: %v", first.RemoteID, first.Spec)
	}
	v := first.Spec["variables"].(map[string]any)["secret_key"].(map[string]any)
	if val, ok := v["value"]; !ok || val != nil {
		t.Fatalf("secret variable value = %v (present %v), want null kept", val, ok)
	}
}

func TestEmulatorEndpointsAndProvider(t *testing.T) {
	ctx := context.Background()
	env := startEmulator(t)
	c := env.client
	d := desiredConnector("Shopify (prod)")

	id, err := c.Create(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := c.GetConnector(ctx, id, []string{"variables"})
	if err != nil {
		t.Fatal(err)
	}
	live := Spec(conn)
	want := connectorSpec("Shopify (prod)")
	want["variables"].(map[string]any)["api_token"].(map[string]any)["value"] = nil // write-only
	for k, v := range want {
		if diff := cmp.Diff(v, live[k]); diff != "" {
			t.Errorf("%s after create (-want +got):\n%s", k, diff)
		}
	}
	stored, _ := env.emu.Connector(mustInt(t, id))
	for _, v := range stored.Variables {
		if v.Key == "api_token" && v.Value != "tok-very-secret-1" {
			t.Errorf("secret value stored as %v", v.Value)
		}
	}

	// Lookup by name.
	found, err := c.Lookup(ctx, d)
	if err != nil || len(found) != 1 || found[0].RemoteID != id {
		t.Fatalf("lookup: %+v, %v", found, err)
	}

	// One PUT with the changed top-level fields; variables by key, values
	// included, after one read of the connector's variables (those syncd
	// does not manage are named in the PUT so that they survive).
	d.Spec["timezone"] = "UTC"
	d.Spec["variables"].(map[string]any)["api_token"].(map[string]any)["value"] = "tok-rotated-2"
	env.emu.ResetCounts()
	if err := c.Update(ctx, id, d, []string{"/timezone", "/variables/api_token/value"}); err != nil {
		t.Fatal(err)
	}
	if n := env.emu.Counts().Patchworks; n.Total != 2 || n.ByMethod["PUT"] != 1 {
		t.Fatalf("update took %d requests (%v), want 1 GET and 1 PUT", n.Total, n.ByMethod)
	}
	stored, _ = env.emu.Connector(mustInt(t, id))
	if stored.Attributes["timezone"] != "UTC" || len(stored.Variables) != 2 {
		t.Fatalf("after update: %v, %d variables", stored.Attributes["timezone"], len(stored.Variables))
	}
	for _, v := range stored.Variables {
		if v.Key == "api_token" && v.Value != "tok-rotated-2" {
			t.Fatalf("secret not rotated: %v", v.Value)
		}
	}

	// Paging options and a failing credential test.
	pg, err := c.ListConnectors(ctx, ListOptions{PerPage: 1, Include: []string{"variables"}, Sort: "-name"})
	if err != nil || len(pg.Data) != 1 || pg.Meta.Total != 1 {
		t.Fatalf("page: %+v, %v", pg, err)
	}
	if err := c.Test(ctx, id); err != nil {
		t.Fatalf("test: %v", err)
	}
	if err := env.emu.EditConnector(mustInt(t, id), map[string]any{"test_error": "bad credentials"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Test(ctx, id); err == nil || !strings.Contains(err.Error(), "bad credentials") {
		t.Fatalf("failing test: %v", err)
	}

	// In use: refused as a conflict; then deleted; again is success.
	env.emu.EditConnector(mustInt(t, id), map[string]any{"in_use": true})
	if err := c.Delete(ctx, id); platform.KindOf(err) != platform.KindConflict {
		t.Fatalf("delete in use: %v", err)
	}
	env.emu.EditConnector(mustInt(t, id), map[string]any{"in_use": false})
	if err := c.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteConnector(ctx, id); !platform.IsNotFound(err) {
		t.Fatalf("raw delete of a gone connector: %v", err)
	}
	if err := c.Delete(ctx, id); err != nil {
		t.Fatalf("provider delete of a gone connector: %v", err)
	}

	snap, err := c.Observe(ctx, []platform.Want{{RemoteID: id}, {RemoteID: "999"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{id, "999"}, snap.Gone); diff != "" {
		t.Fatalf("gone (-want +got):\n%s", diff)
	}

	// Invalid input: Laravel's field errors.
	bad := desiredConnector("x")
	delete(bad.Spec, "timezone")
	_, err = c.Create(ctx, bad)
	var ae *platform.APIError
	if !errorsAs(err, &ae) || ae.Kind != platform.KindInvalid || len(ae.Fields["timezone"]) == 0 {
		t.Fatalf("invalid create: %v", err)
	}
	if strings.Contains(err.Error(), "tok-very-secret-1") {
		t.Fatal("error carries a secret")
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
		{name: "5xx then success", failures: 2, set: func(k *emulator.Knobs, on bool) { k.FailRate = b2f(on) }},
		{name: "persistent 5xx", failures: 1000, set: func(k *emulator.Knobs, on bool) { k.FailRate = b2f(on) }, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := startEmulator(t)
			id, err := env.client.Create(context.Background(), desiredConnector("A"))
			if err != nil {
				t.Fatal(err)
			}
			env.failFirst(tt.failures, tt.set)
			_, err = env.client.GetConnector(context.Background(), id, nil)
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("want success after retries: %v", err)
				}
				return
			}
			if platform.KindOf(err) != platform.KindTransient || !strings.Contains(err.Error(), "GET /connectors/"+id) {
				t.Fatalf("error %v: want a transient error naming the request", err)
			}
			// Persistent failure never makes the object look deleted.
			if _, err := env.client.Observe(context.Background(), []platform.Want{{RemoteID: id}}); err == nil || platform.IsNotFound(err) {
				t.Fatalf("observe under 5xx: %v", err)
			}
		})
	}
}

func TestEmulatorAmbiguousCreateDoesNotDuplicate(t *testing.T) {
	env := startEmulator(t)
	env.setBefore(func(n int64, r *http.Request) {
		env.emu.UpdateKnobs(func(k *emulator.Knobs) { k.FailAfterWriteRate = b2f(r.Method == http.MethodPost) })
	})
	id, err := env.client.Create(context.Background(), desiredConnector("Once"))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if n := env.emu.ConnectorCount(); n != 1 {
		t.Fatalf("%d connectors exist, want 1", n)
	}
	if got := env.emu.Counts().Patchworks.ByMethod["POST"]; got != 1 {
		t.Fatalf("POSTs = %d, want 1", got)
	}
	if id != "1" {
		t.Fatalf("id = %q", id)
	}
}

func TestEmulatorErrorsCarryNoSecrets(t *testing.T) {
	env := startEmulator(t)
	id, err := env.client.Create(context.Background(), desiredConnector("A"))
	if err != nil {
		t.Fatal(err)
	}
	env.failFirst(1000, func(k *emulator.Knobs, on bool) { k.FailRate = b2f(on) })
	err = env.client.Update(context.Background(), id, desiredConnector("A"), []string{"/variables/api_token/value"})
	if err == nil {
		t.Fatalf("update under 5xx: %v", err)
	}
	_, cerr := env.client.Create(context.Background(), desiredConnector("B"))
	for _, e := range []error{err, cerr} {
		if e == nil {
			t.Fatal("want an error")
		}
		for _, s := range []string{"tok-very-secret-1", testKey} {
			if strings.Contains(e.Error(), s) {
				t.Fatalf("error %q contains %q", e, s)
			}
		}
	}
	wrong, _ := New(Config{BaseURL: env.url, Token: "wrong-key-777", RequestsPerMinute: 600000, Retry: testRetry})
	env.failFirst(0, func(k *emulator.Knobs, on bool) { k.FailRate = 0 })
	_, err = wrong.ListConnectors(context.Background(), ListOptions{})
	if platform.KindOf(err) != platform.KindUnauthorized || strings.Contains(err.Error(), "wrong-key-777") {
		t.Fatalf("wrong key: %v", err)
	}
}

func mustInt(t *testing.T, id string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func errorsAs(err error, target **platform.APIError) bool { return errors.As(err, target) }

// TestEmulatorObserveReadsEitherPageLinks: a list of more than 13 pages,
// whose meta.links Laravel windows (ASSUMED for Patchworks; the emulator
// can list every page instead), is read whole, one request per page,
// either way: syncd reads meta's numbers and links.next, not meta.links.
func TestEmulatorObserveReadsEitherPageLinks(t *testing.T) {
	ctx := context.Background()
	env := startEmulator(t)
	if _, err := env.emu.Seed(seedConnectors(1450, nil)); err != nil {
		t.Fatal(err)
	}
	for _, links := range []string{emulator.PageLinksWindow, emulator.PageLinksAll} {
		env.emu.UpdateKnobs(func(k *emulator.Knobs) { k.PageLinks = links })
		env.emu.ResetCounts()
		snap, err := env.client.Observe(ctx, nil)
		if err != nil {
			t.Fatalf("links %q: %v", links, err)
		}
		if len(snap.Objects) != 1450 || env.emu.Counts().Patchworks.Total != 15 {
			t.Fatalf("links %q: %d objects in %d requests, want 1450 in 15", links, len(snap.Objects), env.emu.Counts().Patchworks.Total)
		}
	}
}
