package transport

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/emulator"
)

// emulatorClient is a client of the emulator's Make API paced with window
// (the emulator's own window is set by its knobs).
func emulatorClient(t *testing.T, url string, rpm int, share float64, window time.Duration) *Client {
	t.Helper()
	c, err := New(Config{Platform: "make", BaseURL: url + "/api/v2", Authorization: "Token " + emulator.DefaultMakeToken,
		RequestsPerMinute: rpm, QuotaShare: share, Window: window, MaxConcurrency: 8,
		Timeout: 5 * time.Second, Retry: Retry{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fire sends n GETs at once, each with its own deadline, and counts the
// answers by status (0: held back by the pacer, never sent).
func fire(c *Client, n int, deadline time.Duration) map[int]int {
	var mu sync.Mutex
	got := map[int]int{}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			r := c.Do(ctx, Request{Method: http.MethodGet, Path: "/sdk/apps"})
			mu.Lock()
			got[r.Status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return got
}

// TestPacerNeverExceedsRemaining: against a server advertising a small
// limit per (long) window, part of it used by someone else, the client
// sends no more than what remains and holds every other request back: no
// 429.
// Only the headers tell it the limit (it is configured far higher).
func TestPacerNeverExceedsRemaining(t *testing.T) {
	tests := []struct {
		name       string
		headers    string
		limit      int
		usedBefore int // requests of the organisation's other clients
		share      float64
		want200    int
		want429    int // the first request cannot know that nothing is left
	}{
		{"full headers, nothing used", emulator.RateHeadersFull, 5, 0, 1, 5, 0},
		{"full headers, 3 of 5 used", emulator.RateHeadersFull, 5, 3, 1, 2, 0},
		{"laravel headers, nothing used", emulator.RateHeadersLaravel, 5, 0, 1, 5, 0},
		{"laravel headers, 3 of 5 used", emulator.RateHeadersLaravel, 5, 3, 1, 2, 0},
		{"full headers, share 0.5 of 8", emulator.RateHeadersFull, 8, 0, 0.5, 4, 0},
		{"laravel headers, all used", emulator.RateHeadersLaravel, 4, 4, 1, 0, 1},
		{"full headers, all used", emulator.RateHeadersFull, 4, 4, 1, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu := emulator.New(emulator.Options{Knobs: emulator.Knobs{RateLimit: tt.limit, RateWindow: time.Hour, RateHeaders: tt.headers}})
			srv := httptest.NewServer(emu)
			defer func() { emu.Close(); srv.Close() }()
			other := emulatorClient(t, srv.URL, 1_000_000, 1, time.Hour)
			for range tt.usedBefore {
				if r := other.Do(context.Background(), Request{Method: http.MethodGet, Path: "/sdk/apps"}); r.Status != 200 {
					t.Fatalf("other client: %d", r.Status)
				}
			}
			emu.ResetCounts()
			c := emulatorClient(t, srv.URL, 1_000_000, tt.share, time.Hour)
			got := fire(c, 12, 3*time.Second)
			// The client deducts its unanswered requests from each
			// Remaining it reads (the server may not have counted them
			// yet), so with several in flight it may leave a slot unused;
			// it never sends more than remain.
			if got[429] != tt.want429 || got[200] > tt.want200 || (tt.want200 > 0 && got[200] == 0) || got[0]+got[200] != 12-tt.want429 {
				t.Errorf("answers by status = %v, want at most %d x 200 (and some), %d x 429, the rest held back", got, tt.want200, tt.want429)
			}
			if n := emu.Counts().Make.ByStatus["429"]; n != tt.want429 {
				t.Errorf("the emulator answered %d requests 429", n)
			}
		})
	}
}

// TestPacerWaitsForTheServersWindow: more requests than one window admits
// all succeed, in later windows, without a single 429, whichever headers
// the server sends (without headers the client's own window keeps it
// under the limit).
func TestPacerWaitsForTheServersWindow(t *testing.T) {
	for _, headers := range []string{emulator.RateHeadersFull, emulator.RateHeadersLaravel, emulator.RateHeadersNone} {
		t.Run("headers="+headers, func(t *testing.T) {
			emu := emulator.New(emulator.Options{Knobs: emulator.Knobs{RateLimit: 4, RateWindow: time.Second, RateHeaders: headers}})
			srv := httptest.NewServer(emu)
			defer func() { emu.Close(); srv.Close() }()
			c := emulatorClient(t, srv.URL, 4, 1, time.Second)
			got := fire(c, 10, time.Minute)
			if got[200] != 10 {
				t.Errorf("answers by status = %v, want 10 x 200", got)
			}
			if n := emu.Counts().Make.ByStatus["429"]; n != 0 {
				t.Errorf("the emulator answered %d requests 429", n)
			}
		})
	}
}

// TestPacerBurstsUpToTheShare: without headers the client sends its share
// of the configured limit at once and holds the rest for the next window.
func TestPacerBurstsUpToTheShare(t *testing.T) {
	tests := []struct {
		name  string
		rpm   int
		share float64
		want  int
	}{
		{"whole limit", 10, 1, 10},
		{"half", 10, 0.5, 5},
		{"share rounds down", 9, 0.5, 4},
		{"at least one", 1, 0.5, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			defer srv.Close()
			c := newClient(t, srv.URL, func(cfg *Config) { cfg.RequestsPerMinute, cfg.QuotaShare = tt.rpm, tt.share })
			got := fire(c, 12, 2*time.Second)
			if got[200] != tt.want || got[0] != 12-tt.want {
				t.Errorf("answers by status = %v, want %d x 200 at once, the rest held back", got, tt.want)
			}
		})
	}
}

// TestPacer429ResetHoldsEveryone: a 429 naming its reset stops every
// sender until then, not only the one that was told.
func TestPacer429ResetHoldsEveryone(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Limit", "100")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", "3600") // seconds from now
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, func(cfg *Config) { cfg.Retry.MaxAttempts = 1 })
	if r := c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/x"}); r.Status != 429 {
		t.Fatalf("first: %d", r.Status)
	}
	got := fire(c, 3, 200*time.Millisecond)
	if got[0] != 3 {
		t.Errorf("answers by status = %v, want all 3 held back until the reset", got)
	}
	if n := c.Stats().Total(); n != 1 {
		t.Errorf("%d requests sent, want 1", n)
	}
}

func TestPacerETA(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	tests := []struct {
		name    string
		sent    int // sends at the start, then 10 s pass
		srvLeft int // -1: the server said nothing
		n       int
		want    time.Duration
	}{
		{"nothing to send", 0, -1, 0, 0},
		{"fits the allowance", 0, -1, 10, 0},
		{"one over", 0, -1, 11, time.Minute},
		{"two windows", 0, -1, 21, 2 * time.Minute},
		{"part used", 4, -1, 6, 0},
		{"part used, one over", 4, -1, 7, 50 * time.Second},
		{"part used, the rest of the window", 4, -1, 16, 60 * time.Second},
		{"part used, two more", 4, -1, 18, 110 * time.Second},
		{"server has less left", 4, 2, 3, 50 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
			p := newPacer(20, 0.5, time.Minute, clock)
			for range tt.sent {
				if d, ch := p.reserve(); d != 0 || ch != nil {
					t.Fatalf("reserve held back: %v", d)
				}
				p.done(0, nil)
				p.contact = true
			}
			if tt.srvLeft >= 0 {
				p.srvKnown, p.srvRemaining, p.srvReset = true, tt.srvLeft, now.Add(time.Minute)
			}
			now = now.Add(10 * time.Second)
			if got := p.eta(tt.n); got != tt.want {
				t.Errorf("eta(%d) = %v, want %v", tt.n, got, tt.want)
			}
		})
	}
}

// TestSpreadHoldsASchedulesRequests: a scan spread over a long period
// sends its first request at once and holds the next for its slot.
func TestSpreadHoldsASchedulesRequests(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	c := newClient(t, srv.URL, nil)
	s := NewSpread(time.Hour, map[string]int64{"test": 2, "other": 100})
	if g := s.Gap("test"); g != 30*time.Minute {
		t.Fatalf("gap = %v, want 30m", g)
	}
	ctx := WithSpread(context.Background(), s)
	if r := c.Do(ctx, Request{Method: http.MethodGet, Path: "/a"}); r.Status != 200 {
		t.Fatalf("first: %d %v", r.Status, r.Err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if r := c.Do(short, Request{Method: http.MethodGet, Path: "/b"}); !r.Canceled || r.Status != 0 {
		t.Fatalf("second: status %d canceled %v, want it held for its slot", r.Status, r.Canceled)
	}
	if r := c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/c"}); r.Status != 200 {
		t.Fatalf("a request outside the scan is not spread: %d", r.Status)
	}
	if n := c.Stats().Total(); n != 2 {
		t.Errorf("%d requests sent, want 2", n)
	}
	// The scan was sized for 2: the held one was its second, and a third
	// (the scan grew) is not held.
	if r := c.Do(ctx, Request{Method: http.MethodGet, Path: "/d"}); r.Status != 200 {
		t.Fatalf("a request beyond the expected count is held: %d %v", r.Status, r.Err)
	}
}
