package daemon

import (
	"context"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/transport"
)

// FullScan is what /v1/status says about a full drift scan's cost.
type FullScan struct {
	// Requests are the reads of the last full scan, per platform.
	Requests map[string]int64 `json:"requests"`
	// PerMinute is each platform's allowance: its quota share of the
	// limit (the server's, once it advertised one).
	PerMinute map[string]int `json:"requests_per_minute"`
	// Seconds is how long those reads take at the current share, started
	// now, latency not counted (the slowest platform).
	Seconds float64 `json:"seconds_at_share"`
	// SpreadSeconds is the period a scheduled scan spreads its reads over
	// (0: no schedule, or no full scan yet to size it).
	SpreadSeconds float64 `json:"spread_over_seconds"`
}

// spreadShare is the part of the schedule interval a scheduled scan's reads
// are spread over; the rest is headroom so that it ends before the next.
const spreadShare = 0.8

// noteFullScan keeps a full scan's reads per platform, to size the next
// scheduled scan's spread and the status estimate.
func (d *Daemon) noteFullScan(reqs []platform.Stats) {
	m := map[string]int64{}
	for _, s := range reqs {
		m[s.Platform] = s.Total()
	}
	d.mu.Lock()
	d.lastScan = m
	d.mu.Unlock()
}

// spreadPeriod is the time a scheduled scan starting at now spreads its
// reads over: most of the time to the next scheduled scan, within the step
// timeout.
func (d *Daemon) spreadPeriod(now time.Time) time.Duration {
	if d.schedule == nil {
		return 0
	}
	interval := d.schedule.Next(now).Sub(now)
	if c, ok := d.schedule.(cron.ConstantDelaySchedule); ok {
		interval = c.Delay // Next rounds to the second
	}
	p := time.Duration(float64(min(interval, d.opts.StepTimeout)) * spreadShare)
	return max(p, 0)
}

// withSpread returns ctx for a run of trigger t: a scheduled full scan
// (nothing else merged in) is spread over spreadPeriod, sized by the last
// full scan's reads.
func (d *Daemon) withSpread(ctx context.Context, t trigger) context.Context {
	if t.reason != "schedule" || len(t.paths) > 0 {
		return ctx
	}
	d.mu.Lock()
	last := d.lastScan
	d.mu.Unlock()
	period := d.spreadPeriod(time.Now())
	if len(last) == 0 || period <= 0 {
		return ctx
	}
	return transport.WithSpread(ctx, transport.NewSpread(period, last))
}

// fullScan estimates a full scan's cost now; nil before the first one.
func (d *Daemon) fullScan() *FullScan {
	d.mu.Lock()
	last := d.lastScan
	d.mu.Unlock()
	if last == nil || d.opts.Runner == nil || d.opts.Runner.Engine == nil {
		return nil
	}
	fs := &FullScan{Requests: last, PerMinute: map[string]int{}, SpreadSeconds: d.spreadPeriod(time.Now()).Seconds()}
	for platform, t := range d.opts.Runner.Engine.Transports() {
		fs.PerMinute[platform], _ = t.Allowance()
		fs.Seconds = max(fs.Seconds, t.ETA(int(last[platform])).Seconds())
	}
	return fs
}
