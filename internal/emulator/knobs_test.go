package emulator

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRateLimit(t *testing.T) {
	tests := []struct {
		name      string
		perMinute int
		wantOK    int    // requests allowed at once (the burst)
		wantRetry string // Retry-After of the first refused one
		refill    time.Duration
	}{
		{"60 per minute", 60, 1, "1", time.Second},
		{"120 per minute", 120, 2, "1", 500 * time.Millisecond},
		{"30 per minute", 30, 1, "2", 2 * time.Second},
		{"1000 per minute", 1000, 16, "1", 60 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{Knobs: Knobs{RateLimit: tc.perMinute}})
			for i := range tc.wantOK {
				if r := e.mk(t, "GET", "/sdk/apps/a/connections", ""); r.status != 200 {
					t.Fatalf("request %d: %d", i, r.status)
				}
			}
			r := e.mk(t, "GET", "/sdk/apps/a/connections", "")
			if r.status != 429 || r.header.Get("Retry-After") != tc.wantRetry {
				t.Fatalf("over the limit: %d Retry-After %q, want 429 %q", r.status, r.header.Get("Retry-After"), tc.wantRetry)
			}
			want := `{"code":"SC429","message":"Requests limit for organization exceeded, please try again later.","detail":"Requests limit for organization exceeded, please try again later."}`
			if diff := cmp.Diff(mustJSON(t, want), r.json(t)); diff != "" {
				t.Errorf("Make 429 body (-want +got):\n%s", diff)
			}
			// Patchworks has its own bucket.
			if r := e.pw(t, "GET", "/connectors", ""); r.status != 200 {
				t.Errorf("patchworks first request: %d", r.status)
			}
			for range tc.wantOK {
				e.pw(t, "GET", "/connectors", "")
			}
			r = e.pw(t, "GET", "/connectors", "")
			if r.status != 429 || r.header.Get("Retry-After") == "" || string(r.body) != `{"message":"Too Many Attempts."}` {
				t.Errorf("patchworks over the limit: %d %q %s", r.status, r.header.Get("Retry-After"), r.body)
			}
			// Control requests are never limited.
			if r := e.control(t, "GET", "requests", ""); r.status != 200 {
				t.Errorf("control request limited: %d", r.status)
			}
			e.clock.Advance(tc.refill)
			if r := e.mk(t, "GET", "/sdk/apps/a/connections", ""); r.status != 200 {
				t.Errorf("after refill: %d", r.status)
			}
		})
	}
}

func TestFailureKnobs(t *testing.T) {
	create := `{"type":"basic","label":"x"}`
	tests := []struct {
		name        string
		knobs       Knobs
		method      string
		wantStatus  []int
		wantCreated int // connections that exist afterwards
		wantBody    string
	}{
		{"fail rate refuses before doing anything", Knobs{FailRate: 1}, "POST", []int{500, 502, 503}, 0, ""},
		{"fail after write carries the write out", Knobs{FailAfterWriteRate: 1}, "POST", []int{502}, 1,
			`{"code":"SC502","message":"Bad Gateway","detail":"The emulator was told to fail this request (Bad Gateway)."}`},
		{"fail after write leaves reads alone", Knobs{FailAfterWriteRate: 1}, "GET", []int{200}, 0, ""},
		{"random 429", Knobs{Rate429: 1}, "POST", []int{429}, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{Knobs: tc.knobs})
			r := e.mk(t, tc.method, "/sdk/apps/app/connections", create)
			if !containsInt(tc.wantStatus, r.status) {
				t.Fatalf("status = %d, want one of %v: %s", r.status, tc.wantStatus, r.body)
			}
			if tc.wantBody != "" {
				if diff := cmp.Diff(mustJSON(t, tc.wantBody), r.json(t)); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
			}
			if r.status == 429 && r.header.Get("Retry-After") != "1" {
				t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
			}
			if r.status >= 500 {
				if code, _ := r.json(t).(map[string]any)["code"].(string); !strings.HasPrefix(code, "SC5") {
					t.Errorf("5xx body lacks Make's shape: %s", r.body)
				}
			}
			if n := len(e.srv.MakeConnections("app")); n != tc.wantCreated {
				t.Errorf("connections = %d, want %d", n, tc.wantCreated)
			}
		})
	}
	t.Run("patchworks shapes", func(t *testing.T) {
		e := newEnv(t, Options{Knobs: Knobs{FailAfterWriteRate: 1}})
		r := e.pw(t, "POST", "/connectors", strings.Replace(connectorBody, "%q", `"x"`, 1))
		if r.status != 502 || string(r.body) != `{"message":"Bad Gateway"}` || e.srv.ConnectorCount() != 1 {
			t.Errorf("fail after write: %d %s, %d connectors", r.status, r.body, e.srv.ConnectorCount())
		}
		// A write the server refused is answered as it was, not as 502.
		r = e.pw(t, "POST", "/connectors", `{}`)
		if r.status != 422 {
			t.Errorf("invalid write under fail-after-write: %d", r.status)
		}
		e.srv.SetKnobs(Knobs{FailRate: 1})
		r = e.pw(t, "GET", "/connectors", "")
		if r.status < 500 || r.json(t).(map[string]any)["message"] == nil {
			t.Errorf("fail rate: %d %s", r.status, r.body)
		}
	})
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func TestTimeoutKnob(t *testing.T) {
	e := newEnv(t, Options{Knobs: Knobs{TimeoutRate: 1}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.ts.URL+"/api/v1/connectors", nil)
	req.Header.Set("Authorization", DefaultPatchworksToken)
	_, err := e.ts.Client().Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the client's deadline", err)
	}
	// Close releases anything still held so the test server can stop.
	e.srv.Close()
	r := e.pw(t, "GET", "/connectors", "")
	if r.status != http.StatusGatewayTimeout {
		t.Errorf("after Close: %d", r.status)
	}
}

func TestLatencyKnobHonoursCancel(t *testing.T) {
	e := newEnv(t, Options{Knobs: Knobs{Latency: time.Hour}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.ts.URL+"/api/v1/connectors", nil)
	if _, err := e.ts.Client().Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the client's deadline", err)
	}
	// Control requests are never delayed.
	if r := e.control(t, "GET", "state", ""); r.status != 200 {
		t.Errorf("control: %d", r.status)
	}
	e.srv.SetKnobs(Knobs{Latency: time.Millisecond})
	if r := e.pw(t, "GET", "/connectors", ""); r.status != 200 {
		t.Errorf("with 1ms latency: %d", r.status)
	}
}

func TestRandomKnobsAreDeterministic(t *testing.T) {
	run := func(seed int64) []int {
		e := newEnv(t, Options{Seed: seed, Knobs: Knobs{FailRate: 0.5}})
		var got []int
		for range 30 {
			got = append(got, e.mk(t, "GET", "/sdk/apps/a/connections", "").status)
		}
		return got
	}
	a, b := run(7), run(7)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different failures (-a +b):\n%s", diff)
	}
	ok := 0
	for _, s := range a {
		if s == 200 {
			ok++
		}
	}
	if ok == 0 || ok == len(a) {
		t.Errorf("fail rate 0.5 gave %d of %d successes", ok, len(a))
	}
}

func TestCounts(t *testing.T) {
	e := newEnv(t, Options{})
	e.mk(t, "GET", "/sdk/apps/a/connections", "")
	e.mk(t, "POST", "/sdk/apps/a/connections", `{"type":"basic","label":"x"}`)
	e.mk(t, "GET", "/sdk/apps/connections/a/api", "")
	e.mk(t, "GET", "/sdk/apps/connections/nope", "")
	e.do(t, "GET", "/api/v2/sdk/apps/a/connections", nil, "")
	e.pw(t, "GET", "/connectors?per_page=100", "")
	e.control(t, "GET", "state", "")
	want := Counts{
		Make: PlatformCounts{Total: 5, ByStatus: map[string]int{"200": 3, "404": 1, "401": 1}, ByMethod: map[string]int{"GET": 4, "POST": 1},
			ByRoute: map[string]int{"GET /sdk/apps/{app}/connections": 1, "POST /sdk/apps/{app}/connections": 1,
				"GET /sdk/apps/connections/{name}/{section}": 1, "GET /sdk/apps/connections/{name}": 1}},
		Patchworks: PlatformCounts{Total: 1, ByStatus: map[string]int{"200": 1}, ByMethod: map[string]int{"GET": 1},
			ByRoute: map[string]int{"GET /api/v1/connectors": 1}},
	}
	if diff := cmp.Diff(want, e.srv.Counts()); diff != "" {
		t.Errorf("Counts (-want +got):\n%s", diff)
	}
	var wire any = e.control(t, "GET", "requests", "").json(t)
	if got := wire.(map[string]any)["make"].(map[string]any)["by_status"]; !cmp.Equal(got, map[string]any{"200": 3.0, "404": 1.0, "401": 1.0}) {
		t.Errorf("GET /_emulator/requests make.by_status = %v", got)
	}
	e.control(t, "POST", "requests/reset", "")
	if c := e.srv.Counts(); c.Make.Total != 0 || c.Patchworks.Total != 0 {
		t.Errorf("after reset: %+v", c)
	}
}

func TestParallelRequests(t *testing.T) {
	e := newEnv(t, Options{})
	const n = 40
	errs := make(chan string, 2*n)
	done := make(chan struct{})
	for i := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			r := e.mk(t, "POST", "/sdk/apps/par/connections", `{"type":"basic","label":"x"}`)
			if r.status != 200 {
				errs <- string(r.body)
			}
			r = e.pw(t, "POST", "/connectors", strings.Replace(connectorBody, "%q", `"p`+string(rune('a'+i%26))+`"`, 1))
			if r.status != 200 {
				errs <- string(r.body)
			}
		}()
	}
	for range n {
		<-done
	}
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	names := map[string]bool{}
	for _, c := range e.srv.MakeConnections("par") {
		names[c.Name] = true
	}
	if len(names) != n || !names["par"] || !names["par40"] || e.srv.ConnectorCount() != n {
		t.Errorf("got %d distinct names, %d connectors; want %d each, par..par40", len(names), e.srv.ConnectorCount(), n)
	}
}
