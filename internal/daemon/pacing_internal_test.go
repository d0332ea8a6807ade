package daemon

import (
	"context"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/transport"
	"github.com/syncd/syncd/internal/syncd"
)

// A scheduled full scan spreads its reads over most of the interval, sized
// by the last full scan; nothing else is spread.
func TestScheduledScanIsSpread(t *testing.T) {
	tests := []struct {
		name     string
		schedule string
		step     time.Duration
		lastScan bool
		trig     trigger
		wantGap  time.Duration // for make; 0: not spread
	}{
		{"scheduled scan", "@every 10m", 0, true, trigger{reason: "schedule", full: true}, 8 * time.Minute / 600},
		{"interval beyond the step timeout", "@every 1h", 10 * time.Minute, true, trigger{reason: "schedule", full: true}, 8 * time.Minute / 600},
		{"before any full scan", "@every 10m", 0, false, trigger{reason: "schedule", full: true}, 0},
		{"an edit merged in", "@every 10m", 0, true, trigger{reason: "schedule", full: true, paths: map[string]bool{"a.yaml": true}}, 0},
		{"startup", "@every 10m", 0, true, trigger{reason: "startup", full: true}, 0},
		{"watch", "@every 10m", 0, true, trigger{reason: "watch"}, 0},
		{"no schedule", "", 0, true, trigger{reason: "schedule", full: true}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := New(Options{Mode: syncd.ModeReport, Schedule: tt.schedule, StepTimeout: tt.step})
			if err != nil {
				t.Fatal(err)
			}
			if tt.lastScan {
				d.noteFullScan([]platform.Stats{{Platform: "make", ByStatus: map[int]int64{200: 590, 404: 10}}})
			}
			s := transport.SpreadFrom(d.withSpread(context.Background(), tt.trig))
			if got := s.Gap("make"); got != tt.wantGap {
				t.Errorf("gap between make reads = %v, want %v", got, tt.wantGap)
			}
			if got := s.Gap("patchworks"); got != 0 {
				t.Errorf("patchworks (no reads last time) is spread by %v", got)
			}
		})
	}
}
