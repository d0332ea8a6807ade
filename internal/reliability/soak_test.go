package reliability

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/bench"
	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
)

type sample struct {
	at         time.Duration
	goroutines int
	heapInuse  uint64
}

func sampleNow(start time.Time) sample {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return sample{at: time.Since(start), goroutines: runtime.NumGoroutine(), heapInuse: ms.HeapInuse}
}

// TestSoak runs the daemon in apply mode with a scan every second while
// someone keeps changing objects in the console, and checks that
// goroutines and heap stay flat. Not parallel: other tests' goroutines
// would be counted.
func TestSoak(t *testing.T) {
	duration := pick(10*time.Second, 10*time.Minute)
	every := pick(time.Second, 3*time.Second)
	e := testenv.New(t, testenv.Options{Knobs: emulator.Knobs{Latency: 2 * time.Millisecond, DeleteLag: -1}})
	f := bench.Fleet{Make: 10, Apps: 2, Patchworks: 10}
	e.Emu.AddMakeApps(f.AppNames()...)
	if err := f.Write(e.Dir); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrCh := make(chan string, 1)
	d, err := daemon.New(daemon.Options{
		ManifestsDir: e.Dir, Mode: syncd.ModeApply, Schedule: "@every 1s", Listen: "127.0.0.1:0",
		Runner: e.Runner, Store: e.Store, Getenv: e.Getenv, Ready: func(a string) { addrCh <- a },
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if err := testenv.WaitReady(<-addrCh, time.Minute); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	var samples []sample
	drifts := 0
	for i := 0; time.Since(start) < duration; i++ {
		// Drift on one Make connection and one connector, in turn.
		conns := e.Emu.MakeConnections(f.App(i))
		if len(conns) > 0 {
			c := conns[i%len(conns)]
			if err := e.Emu.EditMakeConnection(c.Name, emulator.MakeEdit{Sections: map[string]string{"api": `{"url": "https://drifted.example.com"}`}}); err == nil {
				drifts++
			}
		}
		if pws := e.Emu.Connectors(); len(pws) > 0 {
			if err := e.Emu.EditConnector(pws[i%len(pws)].ID, map[string]any{"timezone": "UTC"}); err == nil {
				drifts++
			}
		}
		time.Sleep(every)
		samples = append(samples, sampleNow(start))
	}
	if len(samples) < 4 {
		t.Fatalf("only %d samples", len(samples))
	}
	// The first samples are the warm-up (connection pools, caches).
	base := samples[min(2, len(samples)-1)]
	peakG, peakH := base.goroutines, base.heapInuse
	for _, s := range samples[2:] {
		peakG = max(peakG, s.goroutines)
		peakH = max(peakH, s.heapInuse)
	}
	last := samples[len(samples)-1]
	drift := queryInt(t, e.DB, "SELECT count(*) FROM audit_events WHERE event_type = 'drift_detected'")
	applied := queryInt(t, e.DB, "SELECT count(*) FROM audit_events WHERE event_type = 'change_applied'")
	t.Logf("%s soak, %d drifts injected, %d drift_detected and %d change_applied rows", duration, drifts, drift, applied)
	t.Logf("goroutines: after warm-up %d, peak %d, last %d", base.goroutines, peakG, last.goroutines)
	t.Logf("heap in use after GC: after warm-up %.1f MB, peak %.1f MB, last %.1f MB",
		float64(base.heapInuse)/1e6, float64(peakH)/1e6, float64(last.heapInuse)/1e6)
	// Generous slack: requests in flight and idle connections come and go.
	if last.goroutines > base.goroutines+30 {
		t.Errorf("goroutines grew from %d to %d", base.goroutines, last.goroutines)
	}
	if last.heapInuse > 2*base.heapInuse+8<<20 {
		t.Errorf("heap grew from %d to %d bytes", base.heapInuse, last.heapInuse)
	}
	if drift == 0 || applied <= f.Resources() {
		t.Errorf("the soak did not exercise drift and repair (drift_detected %d, change_applied %d)", drift, applied)
	}
}
