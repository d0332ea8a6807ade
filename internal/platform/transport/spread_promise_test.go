package transport

import (
	"testing"
	"time"
)

// TestSpreadOnlySpreadsWhatHasAGap: a platform is spread only when more
// than one request is expected over a positive period; Gap is then the
// period divided among them, and 0 (not spread) otherwise.
func TestSpreadOnlySpreadsWhatHasAGap(t *testing.T) {
	tests := []struct {
		name   string
		period time.Duration
		n      int64
		want   time.Duration
	}{
		{"several requests", time.Hour, 4, 15 * time.Minute},
		{"two requests", time.Minute, 2, 30 * time.Second},
		{"one request has nothing to spread", time.Hour, 1, 0},
		{"none expected", time.Hour, 0, 0},
		{"no period", 0, 4, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSpread(tt.period, map[string]int64{"p": tt.n})
			if got := s.Gap("p"); got != tt.want {
				t.Errorf("Gap = %v, want %v", got, tt.want)
			}
			if got := s.Gap("other"); got != 0 {
				t.Errorf("Gap of a platform without a count = %v, want 0", got)
			}
		})
	}
	var none *Spread
	if got := none.Gap("p"); got != 0 {
		t.Errorf("nil Spread: Gap = %v, want 0", got)
	}
}
