package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// The garbage collector of a one-shot command (plan, validate).
//
// With the default GOGC=100 a plan of 10,000 resources collects about 30
// times, some twenty of them while the manifests load and the live heap is
// still a few MB (the heap goal is twice the live heap, 4 MB at least): each
// is a full mark, and together they are about half of the collector's work.
//
// A one-shot command exits when done, so it can let the heap grow to a
// floor before collecting at all: the heap goal becomes the larger of
// oneShotFloor and the default's twice the live heap. A finalizer
// re-computes GOGC after every cycle from the live heap that cycle
// measured. Peak memory is unchanged wherever the live heap is over half
// the floor (then GOGC is the default 100), so a fleet five times larger
// behaves as it did; below that it is at most the floor.
//
// GOGC or GOMEMLIMIT in the environment wins: then nothing is tuned. The
// daemon (syncd run) keeps the runtime defaults.
const oneShotFloor = 64 << 20

// oneShotGC switches the runtime to the one-shot policy above. Only the
// first call counts (tests run several commands in one process).
func oneShotGC() { oneShotOnce.Do(startOneShotGC) }

var oneShotOnce sync.Once

func startOneShotGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	t := &gcTuner{sample: []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/gc/scan/globals:bytes"},
		{Name: "/gc/scan/stack:bytes"},
	}}
	t.afterCycle()
}

// gcTuner re-computes GOGC after each collection.
type gcTuner struct {
	sample []metrics.Sample
}

// gcCycle is garbage as soon as it is made; its finalizer runs once the
// collector has found so, that is after the next cycle.
type gcCycle struct{ t *gcTuner }

func (t *gcTuner) afterCycle() {
	metrics.Read(t.sample)
	var v [3]uint64
	for i, s := range t.sample {
		if s.Value.Kind() != metrics.KindUint64 {
			return // unknown metric: the runtime's defaults stay
		}
		v[i] = s.Value.Uint64()
	}
	debug.SetGCPercent(oneShotPercent(v[0], v[1]+v[2]))
	runtime.SetFinalizer(&gcCycle{t: t}, func(c *gcCycle) { c.t.afterCycle() })
}

// oneShotPercent is the GOGC that makes the heap goal for a live heap of
// live bytes and roots bytes of globals and stacks the larger of
// oneShotFloor and the default's. The runtime's goal is
// live + (live + roots) × GOGC / 100, and never under its minimum heap,
// 4 MB × GOGC / 100 (which caps GOGC at the floor over 4 MB).
func oneShotPercent(live, roots uint64) int {
	const heapMinimum = 4 << 20
	scan := live + roots
	if live >= oneShotFloor/2 || scan == 0 {
		return 100
	}
	return min(oneShotFloor*100/heapMinimum, max(100, int((oneShotFloor-live)*100/scan)))
}
