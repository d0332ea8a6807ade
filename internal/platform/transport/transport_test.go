package transport

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const testAuth = "Token very-secret-token-123"

func fastRetry() Retry {
	return Retry{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxRetryAfter: time.Second}
}

func newClient(t *testing.T, url string, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{Platform: "test", BaseURL: url, Authorization: testAuth, RequestsPerMinute: 600000,
		Burst: 1000, Timeout: 2 * time.Second, Retry: fastRetry()}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// script answers the n-th request (0-based) with statuses[n], the last one
// repeating; -1 drops the connection.
func script(statuses []int, header http.Header) (http.Handler, *atomic.Int64) {
	var n atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1) - 1)
		s := statuses[min(i, len(statuses)-1)]
		if s == -1 {
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
			return
		}
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(s)
		w.Write([]byte(`{"ok":true}`))
	}), &n
}

func TestDoRetries(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		statuses   []int
		header     http.Header
		wantStatus int
		wantCalls  int64
		wantStats  map[int]int64
		wantSent   bool
	}{
		{name: "get 5xx then success", method: "GET", statuses: []int{503, 502, 200},
			wantStatus: 200, wantCalls: 3, wantStats: map[int]int64{503: 1, 502: 1, 200: 1}, wantSent: true},
		{name: "get 429 then success", method: "GET", statuses: []int{429, 200},
			header: http.Header{"Retry-After": {"0"}}, wantStatus: 200, wantCalls: 2, wantStats: map[int]int64{429: 1, 200: 1}, wantSent: true},
		{name: "persistent 5xx gives up", method: "PUT", statuses: []int{500},
			wantStatus: 500, wantCalls: 4, wantStats: map[int]int64{500: 4}, wantSent: true},
		{name: "post is never retried", method: "POST", statuses: []int{502, 200},
			wantStatus: 502, wantCalls: 1, wantStats: map[int]int64{502: 1}, wantSent: true},
		{name: "post answered 429 is retried", method: "POST", statuses: []int{429, 201},
			header: http.Header{"Retry-After": {"0"}}, wantStatus: 201, wantCalls: 2, wantStats: map[int]int64{429: 1, 201: 1}, wantSent: true},
		{name: "post answered 429 without retry-after is retried", method: "POST", statuses: []int{429, 429, 201},
			wantStatus: 201, wantCalls: 3, wantStats: map[int]int64{429: 2, 201: 1}, wantSent: true},
		{name: "4xx is not retried", method: "DELETE", statuses: []int{404, 200},
			wantStatus: 404, wantCalls: 1, wantStats: map[int]int64{404: 1}, wantSent: true},
		{name: "network error then success", method: "PATCH", statuses: []int{-1, 200},
			wantStatus: 200, wantCalls: 2, wantStats: map[int]int64{0: 1, 200: 1}, wantSent: true},
		{name: "post network error is not retried", method: "POST", statuses: []int{-1, 200},
			wantStatus: 0, wantCalls: 1, wantStats: map[int]int64{0: 1}, wantSent: true},
		{name: "retry-after beyond the cap ends retries", method: "GET", statuses: []int{429, 200},
			header: http.Header{"Retry-After": {"3600"}}, wantStatus: 429, wantCalls: 1, wantStats: map[int]int64{429: 1}, wantSent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, calls := script(tt.statuses, tt.header)
			srv := httptest.NewServer(h)
			defer srv.Close()
			c := newClient(t, srv.URL, nil)
			resp := c.Do(context.Background(), Request{Method: tt.method, Path: "/x", Body: []byte(`{"secret":"s3cr3t-value"}`)})
			if resp.Status != tt.wantStatus {
				t.Errorf("status = %d, want %d (err %v)", resp.Status, tt.wantStatus, resp.Err)
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("server saw %d requests, want %d", got, tt.wantCalls)
			}
			if diff := cmp.Diff(tt.wantStats, c.Stats().ByStatus); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
			if resp.Sent != tt.wantSent {
				t.Errorf("sent = %v, want %v", resp.Sent, tt.wantSent)
			}
			if resp.Err != nil {
				for _, s := range []string{"very-secret-token", "s3cr3t-value", srv.URL} {
					if strings.Contains(resp.Err.Error(), s) {
						t.Errorf("error %q contains %q", resp.Err, s)
					}
				}
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	for _, via := range []string{"wire", "http.Client"} {
		t.Run(via, func(t *testing.T) { testTimeout(t, via) })
	}
}

func testTimeout(t *testing.T, via string) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	// The server never answers, so any per-attempt timeout fires; it is
	// long enough that the request is surely sent first on a busy machine.
	c := newClient(t, srv.URL, func(cfg *Config) {
		cfg.Timeout = 2 * time.Second
		cfg.Retry.MaxAttempts = 2
		if via == "http.Client" { // the trace tells whether the request was written
			cfg.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		}
	})
	resp := c.Do(context.Background(), Request{Method: "POST", Path: "/slow", Body: []byte("{}")})
	if resp.Status != 0 || !resp.Timeout || !resp.Sent || resp.Attempts != 1 {
		t.Fatalf("got status %d timeout %v sent %v attempts %d, want a sent, timed-out single attempt", resp.Status, resp.Timeout, resp.Sent, resp.Attempts)
	}
	resp = c.Do(context.Background(), Request{Method: "GET", Path: "/slow"})
	if !resp.Timeout || resp.Attempts != 2 {
		t.Fatalf("GET: timeout %v attempts %d, want timed out after 2 attempts", resp.Timeout, resp.Attempts)
	}
}

func TestCallerCancel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer srv.Close()
	c := newClient(t, srv.URL, func(cfg *Config) {
		cfg.Retry = Retry{MaxAttempts: 10, BaseDelay: time.Hour, MaxDelay: time.Hour}
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Cancel once the first attempt has been counted (polled; the
		// backoff is an hour, so there is no hurry).
		for c.Stats().Total() == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	resp := c.Do(ctx, Request{Method: "GET", Path: "/x"})
	if resp.Attempts != 1 {
		t.Fatalf("attempts = %d, want 1 (cancel ends the backoff wait)", resp.Attempts)
	}
}

func TestLimiterPacesFirstAttempts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	c := newClient(t, srv.URL, func(cfg *Config) { cfg.RequestsPerMinute = 1 })
	if r := c.Do(context.Background(), Request{Method: "GET", Path: "/a"}); r.Status != 200 {
		t.Fatalf("first request: status %d, err %v", r.Status, r.Err)
	}
	// At 1/min the second slot is a minute away: the pacer refuses
	// before sending rather than overrun a deadline half that long.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := c.Do(ctx, Request{Method: "GET", Path: "/b"})
	if r.Status != 0 || !r.Canceled {
		t.Fatalf("second request: status %d canceled %v, want it held back by the limiter", r.Status, r.Canceled)
	}
	if got := c.Stats().Total(); got != 1 {
		t.Fatalf("requests sent = %d, want 1", got)
	}
}

func TestBoundedConcurrency(t *testing.T) {
	var inFlight, peak atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		inFlight.Add(-1)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, func(cfg *Config) { cfg.MaxConcurrency = 3 })
	var wg sync.WaitGroup
	for range 24 {
		wg.Go(func() { c.Do(context.Background(), Request{Method: "GET", Path: "/x"}) })
	}
	wg.Wait()
	if p := peak.Load(); p > 3 {
		t.Fatalf("peak in flight = %d, want <= 3", p)
	}
	if got := c.Stats().ByStatus[200]; got != 24 {
		t.Fatalf("200s counted = %d, want 24", got)
	}
}

func TestHeaders(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Clone() }))
	defer srv.Close()
	c := newClient(t, srv.URL, func(cfg *Config) { cfg.Header = http.Header{"Accept": {"application/json"}} })
	c.Do(context.Background(), Request{Method: "PUT", Path: "/x", Body: []byte("[]"), ContentType: "application/jsonc"})
	want := map[string]string{"Authorization": testAuth, "Accept": "application/json", "Content-Type": "application/jsonc"}
	for k, v := range want {
		if got.Get(k) != v {
			t.Errorf("header %s = %q, want %q", k, got.Get(k), v)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   string
		want time.Duration
	}{
		{"empty", "", 0},
		{"seconds", "7", 7 * time.Second},
		{"negative", "-3", 0},
		{"http date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"date in the past", now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"garbage", "soon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseRetryAfter(tt.in, now); got != tt.want {
				t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestRetryAfterDateIsHonoured(t *testing.T) {
	var first atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !first.Swap(true) {
			// A date in the past: retry now, not after the (long) backoff.
			w.Header().Set("Retry-After", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat))
			w.WriteHeader(429)
			return
		}
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, func(cfg *Config) { cfg.Retry.BaseDelay, cfg.Retry.MaxDelay = time.Millisecond, time.Millisecond })
	r := c.Do(context.Background(), Request{Method: "GET", Path: "/x"})
	if r.Status != 200 || r.Attempts != 2 {
		t.Fatalf("status %d attempts %d, want 200 after 2", r.Status, r.Attempts)
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no platform", Config{BaseURL: "http://x", RequestsPerMinute: 1}},
		{"relative url", Config{Platform: "p", BaseURL: "/api", RequestsPerMinute: 1}},
		{"no rate", Config{Platform: "p", BaseURL: "http://x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestRateLimitPauseHoldsEveryone(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	c := newClient(t, srv.URL, nil)
	c.pause(time.Hour) // as after a 429 with Retry-After: 3600
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if r := c.Do(ctx, Request{Method: "GET", Path: "/x"}); !r.Canceled || r.Status != 0 {
		t.Fatalf("status %d canceled %v: want the request held back", r.Status, r.Canceled)
	}
	if got := c.Stats().Total(); got != 0 {
		t.Fatalf("%d requests sent during the pause", got)
	}
}

func TestRetryLogCarriesNoSecrets(t *testing.T) {
	h, _ := script([]int{503, -1, 200}, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	var buf strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newClient(t, srv.URL+"/base", func(cfg *Config) { cfg.Logger = logger })
	c.Do(context.Background(), Request{Method: "PUT", Path: "/x", Query: url.Values{"q": {"query-value"}}, Body: []byte(`{"password":"s3cr3t-value"}`)})
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if strings.Count(out, "retrying request") != 2 {
		t.Fatalf("want two retry lines, got:\n%s", out)
	}
	for _, s := range []string{"very-secret-token", "s3cr3t-value", "query-value", srv.URL} {
		if strings.Contains(out, s) {
			t.Fatalf("log contains %q:\n%s", s, out)
		}
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// A server that echoes request headers in an error must not carry the
// client's own credentials, in any encoding, into the body syncd reads.
func TestErrorBodyLosesOwnCredentials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := r.Header.Get("Authorization")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"message":"bad auth `+a+` / `+url.QueryEscape(a)+`"}`)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, nil)
	resp := c.Do(context.Background(), Request{Method: "GET", Path: "/x"})
	if resp.Status != 400 {
		t.Fatalf("status %d", resp.Status)
	}
	for _, enc := range append(Encodings(testAuth), Encodings("very-secret-token-123")...) {
		if strings.Contains(string(resp.Body), enc) {
			t.Fatalf("body keeps %q: %s", enc, resp.Body)
		}
	}
}

// Every request carries Config.Header (canonical) and the Authorization,
// which wins over one in Config.Header; a request's own Content-Type wins
// over the configured one and does not stay for the next request.
func TestEveryRequestCarriesTheConfiguredHeaders(t *testing.T) {
	var mu sync.Mutex
	var got []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Clone())
		mu.Unlock()
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, func(cfg *Config) {
		cfg.Header = http.Header{"accept": {"application/json"}, "Content-Type": {"application/json"},
			"Authorization": {"Basic not-this-one"}, "X-Two": {"a", "b"}}
	})
	ctx := context.Background()
	for _, req := range []Request{
		{Method: http.MethodPut, Path: "/a", Body: []byte("x"), ContentType: "application/jsonc"},
		{Method: http.MethodGet, Path: "/b"},
	} {
		if r := c.Do(ctx, req); r.Err != nil || r.Status != http.StatusOK {
			t.Fatalf("%s: status %d, err %v", req.Op(), r.Status, r.Err)
		}
	}
	for i, wantType := range []string{"application/jsonc", "application/json"} {
		h := got[i]
		if h.Get("Accept") != "application/json" || h.Get("Authorization") != testAuth ||
			!cmp.Equal(h.Values("X-Two"), []string{"a", "b"}) || h.Get("Content-Type") != wantType {
			t.Errorf("request %d headers: %v; want Accept, the client's Authorization, X-Two a and b, Content-Type %s", i, h, wantType)
		}
	}

	// Without an Authorization the configured headers are still sent.
	got = nil
	c = newClient(t, srv.URL, func(cfg *Config) {
		cfg.Authorization = ""
		cfg.Header = http.Header{"Accept": {"application/json"}}
	})
	if r := c.Do(ctx, Request{Method: http.MethodGet, Path: "/c"}); r.Err != nil {
		t.Fatal(r.Err)
	}
	if h := got[0]; h.Get("Accept") != "application/json" || h.Get("Authorization") != "" {
		t.Errorf("headers without an Authorization: %v; want Accept alone", h)
	}
}

// TestTimeoutCoversTheBody: the per-attempt timeout also ends a body that
// stops coming (wire holds it as the connection's deadline, http.Client's
// path as a context): the attempt is a sent timeout, and the next request
// does not inherit the stalled connection.
func TestTimeoutCoversTheBody(t *testing.T) {
	for _, via := range []string{"wire", "http.Client"} {
		t.Run(via, func(t *testing.T) {
			release := make(chan struct{})
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					w.Header().Set("Content-Length", "100")
					io.WriteString(w, `{"partial":`)
					w.(http.Flusher).Flush()
					select {
					case <-release:
					case <-r.Context().Done():
					}
					return
				}
				io.WriteString(w, `{}`)
			}))
			defer srv.Close()
			defer close(release)
			c := newClient(t, srv.URL, func(cfg *Config) {
				cfg.Timeout = 300 * time.Millisecond
				cfg.Retry.MaxAttempts = 1
				if via == "http.Client" {
					cfg.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
				}
			})
			resp := c.Do(context.Background(), Request{Method: "GET", Path: "/stall"})
			if resp.Status != 0 || !resp.Timeout || !resp.Sent || resp.Err == nil || !strings.Contains(resp.Err.Error(), "no response within") {
				t.Fatalf("status %d timeout %v sent %v err %v; want a sent timeout", resp.Status, resp.Timeout, resp.Sent, resp.Err)
			}
			if r := c.Do(context.Background(), Request{Method: "GET", Path: "/next"}); r.Status != 200 || string(r.Body) != "{}" {
				t.Fatalf("next request: status %d body %q err %v", r.Status, r.Body, r.Err)
			}
		})
	}
}

// TestDeadlineDoesNotOutliveItsAttempt: a connection goes back to the pool
// with its attempt's deadline on it; the next attempt on it, after that
// deadline has passed, gets its own.
func TestDeadlineDoesNotOutliveItsAttempt(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(150 * time.Millisecond)
		}
		io.WriteString(w, "ok")
	}))
	conns := countConns(srv)
	srv.Start()
	defer srv.Close()
	c := newClient(t, srv.URL, func(cfg *Config) { cfg.Timeout = 200 * time.Millisecond })
	if r := c.Do(context.Background(), Request{Method: "GET", Path: "/a"}); r.Status != 200 {
		t.Fatalf("first: %d %v", r.Status, r.Err)
	}
	time.Sleep(250 * time.Millisecond) // past the first attempt's deadline
	if r := c.Do(context.Background(), Request{Method: "GET", Path: "/slow"}); r.Status != 200 {
		t.Fatalf("second, on the pooled connection: %d %v", r.Status, r.Err)
	}
	if conns.Load() != 1 {
		t.Errorf("%d connections, want the pooled one reused", conns.Load())
	}
}

// TestConnectingIsBoundedByTheAttempt: a server that accepts the
// connection and then says nothing (no TLS handshake) fails the attempt
// within its timeout, as a timeout, with nothing sent.
func TestConnectingIsBoundedByTheAttempt(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, silent, until the test ends
		}
	}()
	c := newClient(t, "https://"+ln.Addr().String(), func(cfg *Config) {
		cfg.Timeout = 300 * time.Millisecond
		cfg.Retry.MaxAttempts = 1
	})
	start := time.Now()
	r := c.Do(context.Background(), Request{Method: "GET", Path: "/x"})
	if r.Status != 0 || r.Sent || !r.Timeout {
		t.Fatalf("status %d sent %v timeout %v err %v; want an unsent timeout", r.Status, r.Sent, r.Timeout, r.Err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("took %v, want it ended near the 300ms timeout", el)
	}
}
