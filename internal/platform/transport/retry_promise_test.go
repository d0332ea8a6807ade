package transport

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestZeroRetryPolicyMeansTheDefaults: a zero Retry is the default policy
// (five attempts, a Retry-After obeyed up to two minutes), not "no
// retries" or "never obey a Retry-After".
func TestZeroRetryPolicyMeansTheDefaults(t *testing.T) {
	r := withDefaults(Retry{})
	want := Retry{MaxAttempts: DefaultMaxAttempts, BaseDelay: DefaultBaseDelay, MaxDelay: DefaultMaxDelay, MaxRetryAfter: DefaultMaxRetryAfter}
	if r != want {
		t.Errorf("withDefaults(Retry{}) = %+v, want %+v", r, want)
	}
	if got := withDefaults(Retry{BaseDelay: time.Second, MaxDelay: time.Millisecond}); got.MaxDelay != time.Second {
		t.Errorf("a max delay under the base delay = %v, want raised to the base delay (1s)", got.MaxDelay)
	}
	set := Retry{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Second, MaxRetryAfter: time.Minute}
	if got := withDefaults(set); got != set {
		t.Errorf("withDefaults(%+v) = %+v, want it unchanged", set, got)
	}

	// End to end: the default number of attempts for a failing GET.
	h, calls := script([]int{503}, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := newClient(t, srv.URL, func(cfg *Config) { cfg.Retry = Retry{BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond} })
	if resp := c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/x"}); resp.Attempts != DefaultMaxAttempts || calls.Load() != DefaultMaxAttempts {
		t.Errorf("attempts = %d (server saw %d), want %d", resp.Attempts, calls.Load(), DefaultMaxAttempts)
	}
}

// TestBackoffIsJitteredAndCapped: the wait before retry n is drawn from
// [d/2, d] with d = base x 2^(n-1), capped at the maximum delay (also when
// the doubling overflows).
func TestBackoffIsJitteredAndCapped(t *testing.T) {
	c := newClient(t, "http://127.0.0.1:1", func(cfg *Config) {
		cfg.Retry = Retry{MaxAttempts: 100, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}
	})
	tests := []struct {
		attempt int
		d       time.Duration
	}{
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{4, 800 * time.Millisecond},
		{5, time.Second},
		{70, time.Second}, // 100ms << 69 overflows
	}
	for _, tt := range tests {
		for range 200 {
			if got := c.backoff(tt.attempt); got < tt.d/2 || got > tt.d {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", tt.attempt, got, tt.d/2, tt.d)
			}
		}
	}
}

// TestRetryAfterAtTheCapIsObeyed: a Retry-After up to MaxRetryAfter is
// waited for and the request retried; only a longer one ends the retries.
func TestRetryAfterAtTheCapIsObeyed(t *testing.T) {
	h, calls := script([]int{503, 200}, http.Header{"Retry-After": {"1"}})
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := newClient(t, srv.URL, func(cfg *Config) { cfg.Retry.MaxRetryAfter = time.Second })
	if r := c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/x"}); r.Status != 200 || calls.Load() != 2 {
		t.Errorf("status %d after %d requests, want 200 after 2", r.Status, calls.Load())
	}
}

// TestRequestURIIsThePathAndQuery: the request line carries the base
// path, the request's path and its query, and no stray "?" without one.
func TestRequestURIIsThePathAndQuery(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r.RequestURI)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL+"/api/v2/", nil)
	c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/sdk/apps"})
	c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/sdk/apps", Query: url.Values{"page": {"2"}}})
	want := []string{"/api/v2/sdk/apps", "/api/v2/sdk/apps?page=2"}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("request URIs = %q, want %q", got, want)
	}
}

// TestEveryAttemptSendsTheWholeBody: a request's body reaches the server
// whole, on the first attempt and on every retry; a request without a body
// sends none.
func TestEveryAttemptSendsTheWholeBody(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	var lengths []int64
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		bodies, lengths = append(bodies, string(b)), append(lengths, r.ContentLength)
		if n++; n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, nil)
	if r := c.Do(context.Background(), Request{Method: http.MethodPut, Path: "/x", Body: []byte(`{"a":1}`), ContentType: "application/json"}); r.Status != 200 {
		t.Fatalf("put: status %d %v", r.Status, r.Err)
	}
	if r := c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/x"}); r.Status != 200 {
		t.Fatalf("get: status %d %v", r.Status, r.Err)
	}
	mu.Lock()
	defer mu.Unlock()
	wantBodies, wantLengths := []string{`{"a":1}`, `{"a":1}`, ""}, []int64{7, 7, 0}
	if !slices.Equal(bodies, wantBodies) || !slices.Equal(lengths, wantLengths) {
		t.Errorf("bodies %q (lengths %v), want %q (%v)", bodies, lengths, wantBodies, wantLengths)
	}
}
