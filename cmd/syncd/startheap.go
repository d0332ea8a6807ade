package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// startingHeap is the heap a one-shot command (validate, plan, apply,
// import) grows to before collecting garbage at the default pace.
const startingHeap = 64 << 20

// adjustStartingHeap lets a one-shot command's heap reach startingHeap
// before the collector works at its default pace (GOGC=100), as the Go
// compiler does for the same reason (cmd/compile's AdjustStartingHeap).
// By default Go collects first at 4 MB and then each time the heap
// doubles, so loading thousands of manifests pays for a score of
// collections of a small, growing heap. Here, after each collection, GOGC
// is set so that the next one comes at startingHeap, until the live heap
// is large enough that the default already waits that long; from then on
// the default holds. So a small estate collects rarely, and a large one
// peaks where it did (the default's goal, twice its live heap, is above
// startingHeap). GOGC or GOMEMLIMIT in the environment leaves the
// runtime's policy alone. Not for the daemon, whose heap would sit near
// startingHeap for nothing.
func adjustStartingHeap() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	// The runtime's first goal is 4 MB at GOGC=100.
	debug.SetGCPercent(100 * startingHeap / (4 << 20))
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var rearm func(*firstGC)
	rearm = func(*firstGC) {
		metrics.Read(sample)
		live := int64(sample[0].Value.Uint64())
		if sample[0].Value.Kind() != metrics.KindUint64 || live <= 0 || 2*live >= startingHeap {
			debug.SetGCPercent(100)
			return
		}
		debug.SetGCPercent(int(100 * (startingHeap - live) / live))
		runtime.SetFinalizer(new(firstGC), rearm)
	}
	runtime.SetFinalizer(new(firstGC), rearm)
}

// firstGC is the sentinel whose finalizer runs after a collection: large
// enough not to share a block with other small objects, whose finalizers
// might then never run.
type firstGC [64]byte
