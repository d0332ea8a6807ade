package transport

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestNewValidatesTheBaseURL: only an absolute http or https URL with a
// host is a base URL.
func TestNewValidatesTheBaseURL(t *testing.T) {
	tests := []struct {
		url    string
		wantOK bool
	}{
		{"http://127.0.0.1:8080/api", true},
		{"https://eu1.make.com/api/v2", true},
		{"ftp://example.com/api", false},
		{"example.com/api", false},
		{"http://", false},
		{"https:///api", false},
		{"://bad", false},
	}
	for _, tt := range tests {
		_, err := New(Config{Platform: "p", BaseURL: tt.url, RequestsPerMinute: 10})
		if (err == nil) != tt.wantOK {
			t.Errorf("New(%q): err = %v, want ok %v", tt.url, err, tt.wantOK)
		}
	}
}

// TestRetryAfterPausesEveryoneOnlyOn429: a 429's Retry-After is the
// organisation's limit, so it holds every later request; a 5xx's
// Retry-After concerns only the request that was told.
func TestRetryAfterPausesEveryoneOnlyOn429(t *testing.T) {
	for _, tt := range []struct {
		status   int
		wantHeld bool
	}{{http.StatusTooManyRequests, true}, {http.StatusServiceUnavailable, false}} {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/told" {
					w.Header().Set("Retry-After", "60")
					w.WriteHeader(tt.status)
				}
			}))
			defer srv.Close()
			c := newClient(t, srv.URL, func(cfg *Config) { cfg.Retry.MaxRetryAfter = time.Hour })
			// The deadline is too near to wait out the Retry-After: the
			// told request gives up at once.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if r := c.Do(ctx, Request{Method: http.MethodGet, Path: "/told"}); r.Status != tt.status || r.Attempts != 1 {
				t.Fatalf("told: status %d after %d attempts, want %d after 1", r.Status, r.Attempts, tt.status)
			}
			r := c.Do(ctx, Request{Method: http.MethodGet, Path: "/other"})
			if held := r.Status == 0; held != tt.wantHeld {
				t.Errorf("other request: status %d (err %v), want held back %v", r.Status, r.Err, tt.wantHeld)
			}
		})
	}
}

// TestUnansweredRequestFreesItsPlace: a request that got no answer (the
// connection dropped) still ends: the next request is not held waiting
// for an answer that never comes.
func TestUnansweredRequestFreesItsPlace(t *testing.T) {
	h, calls := script([]int{-1, 200}, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := newClient(t, srv.URL, func(cfg *Config) { cfg.RequestsPerMinute, cfg.Retry.MaxAttempts = 10, 1 })
	if r := c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/x"}); r.Status != 0 || r.Err == nil {
		t.Fatalf("first: status %d err %v, want no answer", r.Status, r.Err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if r := c.Do(ctx, Request{Method: http.MethodGet, Path: "/x"}); r.Status != 200 {
		t.Errorf("second: status %d err %v, want 200", r.Status, r.Err)
	}
	if calls.Load() != 2 {
		t.Errorf("server saw %d requests, want 2", calls.Load())
	}
}

// TestSlotBeyondTheDeadlineIsADeadlineError: a request whose next send
// slot comes after the caller's deadline fails at once as a deadline
// (errors.Is context.DeadlineExceeded), not as a network failure.
func TestSlotBeyondTheDeadlineIsADeadlineError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	c := newClient(t, srv.URL, func(cfg *Config) { cfg.RequestsPerMinute = 1 })
	if r := c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/a"}); r.Status != 200 {
		t.Fatalf("first: %d %v", r.Status, r.Err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := c.Do(ctx, Request{Method: http.MethodGet, Path: "/b"})
	if !r.Canceled || !errors.Is(r.Err, context.DeadlineExceeded) || ctx.Err() != nil {
		t.Errorf("second: canceled %v err %v (ctx %v), want a deadline error before the deadline", r.Canceled, r.Err, ctx.Err())
	}
}

// TestZeroConfigMeansTheDefaults: a Config that sets only what is required
// sends requests: a zero timeout, concurrency or retry policy is the
// default, not "none".
func TestZeroConfigMeansTheDefaults(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	c, err := New(Config{Platform: "p", BaseURL: srv.URL, RequestsPerMinute: 100})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if r := c.Do(ctx, Request{Method: http.MethodGet, Path: "/x"}); r.Status != 200 {
		t.Errorf("status %d err %v timeout %v, want 200", r.Status, r.Err, r.Timeout)
	}
	if c.cfg.Timeout != DefaultTimeout || c.cfg.MaxConcurrency != DefaultMaxConcurrency {
		t.Errorf("timeout %v, concurrency %d; want %v, %d", c.cfg.Timeout, c.cfg.MaxConcurrency, DefaultTimeout, DefaultMaxConcurrency)
	}
}

// TestErrorBodyLosesTheBareToken: a server that echoes only the token of
// the Authorization header (without its scheme) must not carry it, in any
// encoding, into the error body syncd reads.
func TestErrorBodyLosesTheBareToken(t *testing.T) {
	const token = "very-secret-token-123"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"message":"token `+tok+` is invalid ("`+base64.StdEncoding.EncodeToString([]byte(tok))+`")"}`)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, nil)
	resp := c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/x"})
	if resp.Status != http.StatusUnauthorized {
		t.Fatalf("status %d", resp.Status)
	}
	for _, enc := range Encodings(token) {
		if strings.Contains(string(resp.Body), enc) {
			t.Fatalf("body keeps %q: %s", enc, resp.Body)
		}
	}
}
