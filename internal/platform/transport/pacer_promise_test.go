package transport

import (
	"context"
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
