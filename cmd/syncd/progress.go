package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/syncd/syncd/internal/desired"
	"github.com/syncd/syncd/internal/executor"
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/registry"
	"github.com/syncd/syncd/internal/platform/transport"
	"github.com/syncd/syncd/internal/syncd"
)

// progressFlag turns the progress report of long commands off.
type progressFlag struct {
	Quiet bool `name:"quiet" help:"No progress report on stderr (by default: a progress line on a terminal, a log line every 10 s otherwise)."`
	// ProgressInterval is how often the progress is reported without a
	// terminal (tests shorten it).
	ProgressInterval time.Duration `name:"progress-interval" default:"10s" hidden:"" env:"SYNCD_PROGRESS_INTERVAL"`
}

// progress reports, on stderr only (stdout stays the command's output),
// how many requests each platform has made and about how many are left:
// redrawn in place on a terminal, a line per interval otherwise.
type progress struct {
	w        io.Writer
	tty      bool
	stats    func() []platform.Stats
	base     map[string]int64
	expected map[string]int // estimated requests per platform; 0: unknown
	// eta says, per platform, how long n more requests take at the
	// pacer's current pace (nil, or a platform missing: not shown).
	eta map[string]func(n int) time.Duration

	mu    sync.Mutex
	phase string // "" while paused
	// changes counts the objects an apply has finished, of total (0: not
	// applying).
	changesDone, changesTotal int
	drawn                     bool // a terminal line is showing
	stop                      chan struct{}
	done                      chan struct{}
	closed                    bool
}

// withETA shows, beside the requests left, how long they take at each
// platform's pace; transports are the engine's (engine.Transports).
func (p *progress) withETA(transports map[string]*transport.Client) *progress {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.eta = map[string]func(int) time.Duration{}
	for name, t := range transports {
		p.eta[name] = t.ETA
	}
	return p
}

// startProgress starts reporting; nil when quiet. stats gives the
// platforms' cumulative request counts.
func startProgress(pf progressFlag, stats func() []platform.Stats, expected map[string]int, phase string) *progress {
	if pf.Quiet {
		return nil
	}
	tty := isTerminal(os.Stderr)
	interval := pf.ProgressInterval
	if tty {
		interval = 250 * time.Millisecond
	}
	if interval <= 0 {
		interval = 10 * time.Second
	}
	p := newProgress(os.Stderr, tty, stats, expected, phase)
	go p.loop(interval)
	return p
}

func newProgress(w io.Writer, tty bool, stats func() []platform.Stats, expected map[string]int, phase string) *progress {
	p := &progress{w: w, tty: tty, stats: stats, expected: expected, phase: phase, base: map[string]int64{},
		stop: make(chan struct{}), done: make(chan struct{})}
	for _, s := range stats() {
		p.base[s.Platform] = s.Total()
	}
	return p
}

func (p *progress) loop(interval time.Duration) {
	defer close(p.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.tick()
		}
	}
}

// setPhase names what is going on; "" pauses the report (and clears a
// terminal line), for instance while apply asks for confirmation.
func (p *progress) setPhase(phase string, expected map[string]int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phase = phase
	if expected != nil {
		p.expected = expected
		p.base = map[string]int64{}
		for _, s := range p.stats() {
			p.base[s.Platform] = s.Total()
		}
	}
	if phase == "" {
		p.clearLocked()
	}
}

// applying switches the report to an apply of total changes; the
// executor's Done calls changeDone as each finishes.
func (p *progress) applying(total int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.changesDone, p.changesTotal = 0, total
	p.mu.Unlock()
	p.setPhase(fmt.Sprintf("applying %d change(s)", total), map[string]int{})
}

// changeDone counts one finished change; safe from several goroutines.
func (p *progress) changeDone(executor.Result) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.changesDone++
	p.mu.Unlock()
}

// Stop ends the report and clears a terminal line.
func (p *progress) Stop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()
	close(p.stop)
	<-p.done
	p.mu.Lock()
	p.clearLocked()
	p.mu.Unlock()
}

func (p *progress) clearLocked() {
	if p.tty && p.drawn {
		io.WriteString(p.w, "\r\033[K")
		p.drawn = false
	}
}

// tick writes one report.
func (p *progress) tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.phase == "" || p.closed {
		return
	}
	line := p.line()
	if p.tty {
		io.WriteString(p.w, "\r\033[K"+line)
		p.drawn = true
		return
	}
	io.WriteString(p.w, "syncd: progress: "+line+"\n")
}

// line is the report: the phase, then per platform the requests done and,
// when known, about how many are left.
func (p *progress) line() string {
	phase := p.phase
	if p.changesTotal > 0 {
		phase += fmt.Sprintf(", %d done", p.changesDone)
	}
	parts := []string{phase}
	for _, s := range p.stats() {
		done := s.Total() - p.base[s.Platform]
		part := fmt.Sprintf("%s %d requests", s.Platform, done)
		if exp := p.expected[s.Platform]; exp > 0 {
			left := max(0, int64(exp)-done)
			part += fmt.Sprintf(", about %d left", left)
			if eta := p.eta[s.Platform]; eta != nil && left > 0 {
				if d := eta(int(left)); d >= time.Second {
					part += fmt.Sprintf(" (~%s at the current pace)", d.Round(time.Second))
				}
			}
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, " · ")
}

// planEstimate is about how many requests a plan of scope (nil: all) makes
// per platform (each platform's EstimateRequests), by platform name.
func planEstimate(set *desired.Set, scope []syncd.Key) map[string]int {
	in := func(k syncd.Key) bool {
		if scope == nil {
			return true
		}
		for _, s := range scope {
			if s == k {
				return true
			}
		}
		return false
	}
	specs := map[syncd.Kind][]map[string]any{}
	for _, d := range set.Resources {
		if in(d.Key) {
			specs[d.Key.Kind] = append(specs[d.Key.Kind], d.Spec)
		}
	}
	out := map[string]int{}
	for _, p := range registry.All() {
		if n := p.EstimateRequests(specs[p.Kind()]); n > 0 {
			out[p.Name()] = n
		}
	}
	return out
}
