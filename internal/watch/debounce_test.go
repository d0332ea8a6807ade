package watch

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// settled is one call of the fake settle: when (on the bubble's fake clock,
// from the start of the test) and what the burst held.
type settled struct {
	At     time.Duration
	Paths  int
	Full   bool
	Resync bool
}

// fakeSettle records every burst and reports its hints as they are, so the
// tests see the debounce logic alone. report decides whether a burst yields
// a Change (the real settle drops bursts whose content did not change).
type fakeSettle struct {
	start  time.Time
	report func(burst) bool

	mu    sync.Mutex
	calls []settled
}

func (f *fakeSettle) settle(b burst) (Change, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, settled{At: time.Since(f.start), Paths: len(b.paths), Full: b.full, Resync: b.resync})
	if f.report != nil && !f.report(b) {
		return Change{}, false
	}
	var paths []string
	for p := range b.paths {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	return Change{Paths: paths, Full: b.full || b.resync}, true
}

func (f *fakeSettle) recorded() []settled {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

var testTiming = timing{quiet: 250 * time.Millisecond, maxDelay: 2 * time.Second}

// every lists n event times spaced by d, starting at zero.
func every(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i) * d
	}
	return out
}

func TestDebounceTiming(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name   string
		events []time.Duration // when each hint (a distinct path) arrives
		want   []settled
	}{
		{
			name:   "one event settles after the quiet period",
			events: []time.Duration{0},
			want:   []settled{{At: 250 * ms, Paths: 1}},
		},
		{
			name:   "events inside the quiet period extend it",
			events: []time.Duration{0, 200 * ms, 400 * ms},
			want:   []settled{{At: 650 * ms, Paths: 3}},
		},
		{
			name:   "a gap longer than the quiet period makes two bursts",
			events: []time.Duration{0, 100 * ms, 600 * ms},
			want:   []settled{{At: 350 * ms, Paths: 2}, {At: 850 * ms, Paths: 1}},
		},
		{
			name:   "1000 events in one second are one burst",
			events: every(ms, 1000),
			want:   []settled{{At: 999*ms + 250*ms, Paths: 1000}},
		},
		{
			// Events every 90 ms never leave a quiet gap: the cap settles a
			// burst 2 s after its first event (0 → 2000 ms, 2070 → 4070 ms),
			// and the tail settles after its own quiet period.
			name:   "max delay caps a steady trickle",
			events: every(90*ms, 50),
			want: []settled{
				{At: 2000 * ms, Paths: 23},
				{At: 4070 * ms, Paths: 23},
				{At: 4410*ms + 250*ms, Paths: 4},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				f := &fakeSettle{start: time.Now()}
				in := make(chan hint)
				out := make(chan Change)
				done := make(chan struct{})
				go func() {
					debounce(ctx, testTiming, in, f.settle, out)
					close(done)
				}()
				go func() {
					for range out {
					}
				}()
				for i, at := range tt.events {
					time.Sleep(at - time.Since(f.start))
					in <- hint{path: fmt.Sprintf("f%04d.yaml", i)}
				}
				time.Sleep(time.Hour)
				cancel()
				<-done
				close(out)
				if diff := cmp.Diff(tt.want, f.recorded()); diff != "" {
					t.Errorf("settled bursts (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// TestDebounceThousandEvents is the git-checkout case: many events, many of
// them for the same file, become exactly one Change.
func TestDebounceThousandEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSettle{start: time.Now()}
		in := make(chan hint)
		out := make(chan Change)
		go debounce(t.Context(), testTiming, in, f.settle, out)

		var want Change
		for i := range 100 {
			want.Paths = append(want.Paths, fmt.Sprintf("m%03d.yaml", i))
		}
		for i := range 1000 {
			in <- hint{path: want.Paths[i%100]}
			if i%10 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		got := <-out
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("change (-want +got):\n%s", diff)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		select {
		case c := <-out:
			t.Errorf("second change %+v; want exactly one", c)
		default:
		}
		if n := len(f.recorded()); n != 1 {
			t.Errorf("settled %d times, want 1", n)
		}
	})
}

// TestDebounceCoalescesWhileReceiverBusy: three bursts settle while nobody
// reads; the late reader gets one merged Change and nothing after it.
func TestDebounceCoalescesWhileReceiverBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSettle{start: time.Now()}
		in := make(chan hint)
		out := make(chan Change)
		go debounce(t.Context(), testTiming, in, f.settle, out)

		for _, h := range []hint{{path: "b.yaml"}, {path: "a.yaml", full: true}, {path: "b.yaml"}, {path: "c.yaml"}} {
			in <- h
			time.Sleep(time.Second)
		}
		if n := len(f.recorded()); n != 4 {
			t.Fatalf("settled %d bursts before the receiver read, want 4", n)
		}
		got := <-out
		want := Change{Paths: []string{"a.yaml", "b.yaml", "c.yaml"}, Full: true}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("merged change (-want +got):\n%s", diff)
		}
		synctest.Wait()
		select {
		case c := <-out:
			t.Errorf("another change %+v after the merged one", c)
		default:
		}
	})
}

func TestDebounceDropsBurstsWithoutChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSettle{start: time.Now(), report: func(b burst) bool { return b.full }}
		in := make(chan hint)
		out := make(chan Change)
		go debounce(t.Context(), testTiming, in, f.settle, out)

		in <- hint{path: "touched.yaml"}
		time.Sleep(time.Hour)
		synctest.Wait()
		select {
		case c := <-out:
			t.Fatalf("change %+v for a burst settle dropped", c)
		default:
		}
		in <- hint{full: true}
		if diff := cmp.Diff(Change{Full: true}, <-out); diff != "" {
			t.Errorf("change (-want +got):\n%s", diff)
		}
	})
}

func TestDebounceResync(t *testing.T) {
	tests := []struct {
		name   string
		resync time.Duration
		want   []settled
	}{
		{name: "off", resync: 0},
		{name: "every 5m", resync: 5 * time.Minute, want: []settled{
			{At: 5 * time.Minute, Resync: true},
			{At: 10 * time.Minute, Resync: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				f := &fakeSettle{start: time.Now(), report: func(burst) bool { return false }}
				done := make(chan struct{})
				go func() {
					debounce(ctx, timing{quiet: time.Second, maxDelay: time.Second, resync: tt.resync}, nil, f.settle, nil)
					close(done)
				}()
				time.Sleep(11 * time.Minute)
				cancel()
				<-done
				if diff := cmp.Diff(tt.want, f.recorded()); diff != "" {
					t.Errorf("settled (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestMergeChanges(t *testing.T) {
	tests := []struct {
		name string
		a, b Change
		want Change
	}{
		{name: "empty", want: Change{}},
		{name: "full only", a: Change{Full: true}, want: Change{Full: true}},
		{
			name: "union sorted unique",
			a:    Change{Paths: []string{"b", "d"}},
			b:    Change{Paths: []string{"a", "b"}, Full: true},
			want: Change{Paths: []string{"a", "b", "d"}, Full: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, mergeChanges(tt.a, tt.b)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// BenchmarkDebounce measures how many events per second the core absorbs.
func BenchmarkDebounce(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := make(chan hint, 256)
	out := make(chan Change, 1)
	settle := func(bu burst) (Change, bool) { return Change{}, false }
	done := make(chan struct{})
	go func() {
		debounce(ctx, timing{quiet: time.Hour, maxDelay: time.Hour}, in, settle, out)
		close(done)
	}()
	paths := make([]string, 100)
	for i := range paths {
		paths[i] = fmt.Sprintf("m%03d.yaml", i)
	}
	n := 0
	for b.Loop() {
		in <- hint{path: paths[n%len(paths)]}
		n++
	}
	cancel()
	<-done
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
