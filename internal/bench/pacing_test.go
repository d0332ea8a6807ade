package bench

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/engine"
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
)

// withPacing gives e's engine clients built from e.Config changed by mod.
func withPacing(e *testenv.Env, mod func(*engine.Config)) error {
	cfg := e.Config
	mod(&cfg)
	providers, err := engine.Providers(cfg)
	if err != nil {
		return err
	}
	e.Engine.Providers = providers
	return nil
}

// pace sets each platform's requests per minute and quota share.
func pace(c *engine.Config, makeRPM, patchworksRPM int, makeShare, patchworksShare float64) {
	c.Set("make", platform.Values{"make-rpm": makeRPM, "make-quota-share": makeShare})
	c.Set("patchworks", platform.Values{"patchworks-rpm": patchworksRPM, "patchworks-quota-share": patchworksShare})
}

// pacingCost: 1,000 Patchworks connectors at 20 ms latency, planned with
// the CLI's default pacing (600/min, share 0.5) and with pacing off; the
// ratio of the median walls.
func pacingCost(b *testing.B, rep *Report) error {
	const sc = "pacing cost, 1,000 connectors (20 ms)"
	f := Fleet{Patchworks: 1000}
	e := testenv.New(b, testenv.Options{Knobs: emulator.Knobs{Latency: 20 * time.Millisecond}, Concurrency: 8})
	var paced, off []time.Duration
	for range 3 {
		for _, on := range []bool{true, false} {
			if err := withPacing(e, func(c *engine.Config) {
				pace(c, 60, 600, 0.5, 0.5)
				if !on {
					pace(c, 600_000_000, 600_000_000, 1, 1)
				}
			}); err != nil {
				return err
			}
			e.Emu.Reset()
			wall, _, _, err := timePlan(b, e, f)
			if err != nil {
				return err
			}
			if on {
				paced = append(paced, wall)
			} else {
				off = append(off, wall)
			}
		}
	}
	mp, mo := median(paced), median(off)
	rep.Info(sc, "wall, default pacing", mp.Seconds(), "s", "median of 3 ("+secs(paced)+" s); --patchworks-rpm 600, --patchworks-quota-share 0.5, concurrency 8")
	rep.Info(sc, "wall, pacing off", mo.Seconds(), "s", "median of 3 ("+secs(off)+" s); 600,000,000/min, share 1")
	rep.AtMost(sc, "default / off", mp.Seconds()/mo.Seconds(), "", 1.5, "")
	return nil
}

// serverLimit: a Make plan of 30 connections (92 requests) against a
// server that admits 60 per fixed minute and says so in X-RateLimit-*
// headers; syncd is configured far higher (the headers set the limit) at
// share 1, so its floor is the server's: one full window.
func serverLimit(b *testing.B, rep *Report) error {
	const sc = "server limit 60/min, headers"
	f := Fleet{Make: 30, Apps: 2}
	e := testenv.New(b, testenv.Options{Knobs: emulator.Knobs{RateLimit: 60, RateWindow: time.Minute, RateHeaders: emulator.RateHeadersFull}, Concurrency: 8})
	if err := withPacing(e, func(c *engine.Config) {
		pace(c, 6000, 6000, 1, 1)
	}); err != nil {
		return err
	}
	wall, counts, p, err := timePlan(b, e, f)
	if err != nil {
		return err
	}
	n := counts.Make.Total
	floor := time.Duration((n+59)/60-1) * time.Minute
	rep.Info(sc, "requests", float64(n), "", fmt.Sprintf("Make; %s; configured 6,000/min, the server's headers say 60", summary(p)))
	rep.Info(sc, "floor", floor.Seconds(), "s", "(ceil(requests / 60) - 1) full windows: the last window's requests go at once")
	rep.Info(sc, "wall", wall.Seconds(), "s", "")
	rep.AtMost(sc, "wall / floor", wall.Seconds()/floor.Seconds(), "", 1.10, "")
	rep.Equal(sc, "429s", float64(counts.Make.ByStatus["429"]), "", 0, "counted by the emulator (fixed 1-minute window, X-RateLimit-Limit/-Remaining/-Reset)")
	return nil
}

// makeScanShare: a Make scan of 200 connections against a 60/min server
// with syncd's share at 0.5, observed for 75 s (the whole scan takes about
// 20 minutes at 30/min): the most requests the emulator saw in any 60 s.
func makeScanShare(b *testing.B, rep *Report) error {
	const sc = "Make scan, 200 connections, 60/min, share 0.5"
	const observe = 75 * time.Second
	f := Fleet{Make: 200, Apps: 4}
	e := testenv.New(b, testenv.Options{Knobs: emulator.Knobs{RateLimit: 60, RateWindow: time.Minute, RateHeaders: emulator.RateHeadersFull}, Concurrency: 8})
	if err := withPacing(e, func(c *engine.Config) { c.Set("make", platform.Values{"make-rpm": 60, "make-quota-share": 0.5}) }); err != nil {
		return err
	}
	if err := f.Write(e.Dir); err != nil {
		return err
	}
	if _, err := e.Emu.Seed(f.Seed()); err != nil {
		return err
	}
	set := e.Load(b)
	e.Emu.ResetCounts()
	ctx, cancel := context.WithTimeout(context.Background(), observe)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		_, _ = e.Engine.Plan(ctx, engine.PlanRequest{Set: set, Bindings: map[syncd.Key]syncd.Binding{}})
	})
	type sample struct {
		at time.Time
		n  int
	}
	var samples []sample
	tick := time.NewTicker(50 * time.Millisecond)
	for ctx.Err() == nil {
		samples = append(samples, sample{time.Now(), e.Emu.Counts().Make.Total})
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	tick.Stop()
	wg.Wait()
	peak := 0
	for i := range samples {
		for j := i; j < len(samples) && samples[j].at.Sub(samples[i].at) <= time.Minute; j++ {
			peak = max(peak, samples[j].n-samples[i].n)
		}
		// Requests already counted at the first sample were made in the
		// first 50 ms: count them into every window that starts there.
		if i == 0 {
			for j := 0; j < len(samples) && samples[j].at.Sub(samples[0].at) <= time.Minute; j++ {
				peak = max(peak, samples[j].n)
			}
		}
	}
	c := e.Emu.Counts()
	eta := time.Duration(0)
	for _, t := range e.Engine.Transports() {
		if t.Platform() == "make" {
			minMake, _ := f.MinRequests()
			eta = t.ETA(minMake - c.Make.Total)
		}
	}
	rep.Info(sc, "requests in 75 s", float64(c.Make.Total), "", fmt.Sprintf("429s %d; the rest of the scan (ETA at the share) %.0f s", c.Make.ByStatus["429"], eta.Seconds()))
	rep.AtMost(sc, "requests in any 60 s", float64(peak), "", 30, "emulator's count sampled every 50 ms over the first 75 s; --make-rpm 60, --make-quota-share 0.5")
	return nil
}

// median is the middle of xs (the upper middle for an even count).
func median[T cmp.Ordered](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func secs(ds []time.Duration) string {
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%.2f", d.Seconds()))
	}
	return strings.Join(out, ", ")
}
