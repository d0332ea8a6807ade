package transport

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestQuotaShareIsAShareOfTheLimit: the client's allowance per window is
// floor(limit x share), at least one; a share of 0 means the whole limit
// (the CLI supplies its own default), and a share outside [0, 1] is an
// error, not silently clamped.
func TestQuotaShareIsAShareOfTheLimit(t *testing.T) {
	tests := []struct {
		name      string
		rpm       int
		share     float64
		want      int
		wantError bool
	}{
		{"zero means the whole limit", 10, 0, 10, false},
		{"whole limit", 10, 1, 10, false},
		{"half", 10, 0.5, 5, false},
		{"rounds down", 9, 0.25, 2, false},
		{"never below one", 3, 0.1, 1, false},
		{"negative", 10, -0.5, 0, true},
		{"above one", 10, 1.5, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Config{Platform: "p", BaseURL: "http://127.0.0.1:1", RequestsPerMinute: tt.rpm, QuotaShare: tt.share})
			if tt.wantError {
				if err == nil {
					t.Fatalf("New accepted quota share %v", tt.share)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, limit := c.Allowance(); got != tt.want || limit != tt.rpm {
				t.Errorf("Allowance() = %d of %d, want %d of %d", got, limit, tt.want, tt.rpm)
			}
		})
	}
}

// TestWindowIsTheServersMinute: a zero Window is the platforms' minute;
// the request one past the allowance waits one window, so the ETA of
// allowance+1 requests on an idle client is exactly one window.
func TestWindowIsTheServersMinute(t *testing.T) {
	for _, tt := range []struct {
		window, want time.Duration
	}{{0, time.Minute}, {-time.Second, time.Minute}, {10 * time.Second, 10 * time.Second}} {
		c, err := New(Config{Platform: "p", BaseURL: "http://127.0.0.1:1", RequestsPerMinute: 4, Window: tt.window})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.ETA(4); got != 0 {
			t.Errorf("window %v: ETA(4) = %v, want 0 (the allowance goes at once)", tt.window, got)
		}
		if got := c.ETA(5); got != tt.want {
			t.Errorf("window %v: ETA(5) = %v, want %v", tt.window, got, tt.want)
		}
	}
}

// TestAdvertisedLimitIsAdopted: a server's X-RateLimit-Limit replaces the
// configured limit (the client takes its share of it), but a zero, negative
// or unreadable one is ignored: it cannot stop the client.
func TestAdvertisedLimitIsAdopted(t *testing.T) {
	tests := []struct {
		header    string
		wantShare int
		wantLimit int
	}{
		{"30", 15, 30},
		{"0", 50, 100},
		{"-5", 50, 100},
		{"lots", 50, 100},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-RateLimit-Limit", tt.header)
			}))
			defer srv.Close()
			c := newClient(t, srv.URL, func(cfg *Config) { cfg.RequestsPerMinute, cfg.QuotaShare = 100, 0.5 })
			if r := c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/x"}); r.Status != 200 {
				t.Fatalf("status %d %v", r.Status, r.Err)
			}
			if share, limit := c.Allowance(); share != tt.wantShare || limit != tt.wantLimit {
				t.Errorf("Allowance() = %d of %d, want %d of %d", share, limit, tt.wantShare, tt.wantLimit)
			}
		})
	}
}

// TestUnansweredRequestsCountAgainstRemaining: the server may not have
// counted requests still in flight when it says how many remain, so the
// pacer deducts them: with 5 remaining and 2 of its own unanswered, only 3
// more go before the server's reset.
func TestUnansweredRequestsCountAgainstRemaining(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	p := newPacer(100, 1, time.Minute, func() time.Time { return now })
	answer := func(remaining string) http.Header {
		return http.Header{"X-Ratelimit-Limit": {"100"}, "X-Ratelimit-Remaining": {remaining}, "X-Ratelimit-Reset": {"30"}}
	}
	mustReserve := func(what string) {
		t.Helper()
		if d, ch := p.reserve(); d != 0 || ch != nil {
			t.Fatalf("%s: held back (%v)", what, d)
		}
	}
	mustReserve("first request")
	p.done(http.StatusOK, answer("10"))
	for i := range 3 {
		mustReserve(fmt.Sprintf("request %d of the burst", i+1))
	}
	p.done(http.StatusOK, answer("5")) // two of the burst still unanswered
	sent := 0
	for {
		d, ch := p.reserve()
		if d != 0 || ch != nil {
			if d != 30*time.Second {
				t.Errorf("held back for %v, want until the server's reset (30s)", d)
			}
			break
		}
		if sent++; sent > 10 {
			break
		}
	}
	if sent != 3 {
		t.Errorf("%d more requests went before the reset, want 3 (5 remaining less 2 unanswered)", sent)
	}
}

// TestRetryAfterOn429HoldsEveryone: a 429 that names no reset but a
// Retry-After stops every sender until then, even when the request that
// was told gives up instead of waiting (no attempts left).
func TestRetryAfterOn429HoldsEveryone(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Limit", "100")
		w.Header().Set("X-RateLimit-Remaining", "5")
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, func(cfg *Config) { cfg.Retry.MaxAttempts = 1 })
	if r := c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/x"}); r.Status != 429 {
		t.Fatalf("first: %d", r.Status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if r := c.Do(ctx, Request{Method: http.MethodGet, Path: "/y"}); r.Status != 0 || !r.Canceled {
		t.Errorf("second: status %d canceled %v, want it held back until the Retry-After", r.Status, r.Canceled)
	}
	if n := c.Stats().Total(); n != 1 {
		t.Errorf("%d requests sent, want 1", n)
	}
}

// TestETACountsRequestsInFlight: requests sent but not yet answered use
// their slots: with the whole allowance in flight, the next request waits
// a window, and one allowance goes per window after that.
func TestETACountsRequestsInFlight(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	p := newPacer(3, 1, time.Minute, func() time.Time { return now })
	p.reserve()
	p.done(http.StatusOK, http.Header{}) // contact: the rest may go together
	now = now.Add(2 * time.Minute)
	for i := range 3 {
		if d, ch := p.reserve(); d != 0 || ch != nil {
			t.Fatalf("request %d held back", i+1)
		}
	}
	if got := p.eta(1); got != time.Minute {
		t.Errorf("eta(1) with the allowance in flight = %v, want a window (1m)", got)
	}
	if got := p.eta(3); got != time.Minute {
		t.Errorf("eta(3) with the allowance in flight = %v, want a window (1m)", got)
	}
	if got := p.eta(4); got != 2*time.Minute {
		t.Errorf("eta(4) with the allowance in flight = %v, want two windows (2m)", got)
	}
}

// TestETAWithinWhatTheServerSaysRemains: while the server's window lasts,
// sends up to what it says remain go now and the rest wait for its reset.
func TestETAWithinWhatTheServerSaysRemains(t *testing.T) {
	tests := []struct {
		name    string
		srvLeft int
		n       int
		want    time.Duration
	}{
		{"covered by what remains", 2, 2, 0},
		{"one more than remains", 2, 3, 40 * time.Second},
		{"nothing remains", 0, 1, 40 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
			p := newPacer(20, 1, time.Minute, func() time.Time { return now })
			p.srvKnown, p.srvRemaining, p.srvReset = true, tt.srvLeft, now.Add(40*time.Second)
			if got := p.eta(tt.n); got != tt.want {
				t.Errorf("eta(%d) with %d remaining = %v, want %v", tt.n, tt.srvLeft, got, tt.want)
			}
		})
	}
}

// TestServersRemainingHoldsEveryone: X-RateLimit-Remaining 0 on a
// success stops every sender until the server's reset; the same answer
// for a window that has already ended (its reset is now or past) says
// nothing about the next one, so the next request goes.
func TestServersRemainingHoldsEveryone(t *testing.T) {
	tests := []struct {
		name     string
		reset    string
		wantHeld bool
	}{
		{"reset in an hour", "3600", true},
		{"reset now", "0", false},
		{"reset in the past", "1500000000", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-RateLimit-Limit", "100")
				w.Header().Set("X-RateLimit-Remaining", "0")
				w.Header().Set("X-RateLimit-Reset", tt.reset)
			}))
			defer srv.Close()
			c := newClient(t, srv.URL, nil)
			if r := c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/x"}); r.Status != 200 {
				t.Fatalf("first: %d %v", r.Status, r.Err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			r := c.Do(ctx, Request{Method: http.MethodGet, Path: "/y"})
			if held := r.Status == 0; held != tt.wantHeld {
				t.Errorf("second: status %d (err %v), want held back %v", r.Status, r.Err, tt.wantHeld)
			}
		})
	}
}

// TestParseResetReadsBothForms: X-RateLimit-Reset is a Unix time when above
// 10^9 and seconds from now otherwise (as documented on parseReset);
// anything unreadable is no reset at all.
func TestParseResetReadsBothForms(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"", time.Time{}, false},
		{"soon", time.Time{}, false},
		{"-5", time.Time{}, false},
		{"0", now, true},
		{" 30 ", now.Add(30 * time.Second), true},
		{"1000000000", now.Add(1_000_000_000 * time.Second), true},
		{"1000000001", time.Unix(1_000_000_001, 0), true},
		{"1767272400", time.Unix(1_767_272_400, 0), true},
	}
	for _, tt := range tests {
		got, ok := parseReset(tt.in, now)
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("parseReset(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
