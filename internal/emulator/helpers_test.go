package emulator

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is the injected clock: tests step it instead of sleeping.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testApps exist in every test server unless Options.MakeApps says
// otherwise; any other app answers 404, as in Make.
var testApps = []string{"a", "acme", "acme-crm", "app", "crm", "custom-app", "empty", "other", "par", "x", "x2"}

type env struct {
	srv   *Server
	ts    *httptest.Server
	clock *fakeClock
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	if opts.DeleteLag == 0 {
		opts.DeleteLag = -1 // most tests want deletes to show at once
	}
	if opts.MakeApps == nil {
		opts.MakeApps = testApps
	}
	srv := New(opts)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	return &env{srv: srv, ts: ts, clock: clock}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic value, failing the test when it is
// not JSON.
func (r resp) json(t *testing.T) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("body is not JSON: %v: %q", err, r.body)
	}
	return v
}

func (e *env) do(t *testing.T, method, path string, header map[string]string, body string) resp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := *e.ts.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// mk calls the Make API (path relative to /api/v2) with the right token.
func (e *env) mk(t *testing.T, method, path, body string) resp {
	t.Helper()
	h := map[string]string{"Authorization": "Token " + DefaultMakeToken}
	if body != "" {
		h["Content-Type"] = "application/json"
	}
	return e.do(t, method, "/api/v2"+path, h, body)
}

// mkc sends a Make section body as JSONC.
func (e *env) mkc(t *testing.T, method, path, body string) resp {
	t.Helper()
	return e.do(t, method, "/api/v2"+path, map[string]string{"Authorization": "Token " + DefaultMakeToken, "Content-Type": "application/jsonc"}, body)
}

// pw calls the Patchworks API (path relative to /api/v1) with the right key.
func (e *env) pw(t *testing.T, method, path, body string) resp {
	t.Helper()
	h := map[string]string{"Authorization": DefaultPatchworksToken, "Accept": "application/json"}
	if body != "" {
		h["Content-Type"] = "application/json"
	}
	return e.do(t, method, "/api/v1"+path, h, body)
}

func (e *env) control(t *testing.T, method, path, body string) resp {
	t.Helper()
	return e.do(t, method, "/_emulator/"+path, nil, body)
}

func mustJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad test JSON %q: %v", s, err)
	}
	return v
}

const connectorBody = `{"name":%q,"authentication_implementation_id":"42","timezone":"Europe/London","date_format":"d/m/Y H:i","rate_limit_unit":"minute","rate_limit_duration":60}`
