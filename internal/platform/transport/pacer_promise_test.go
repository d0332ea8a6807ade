package transport

import (
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
