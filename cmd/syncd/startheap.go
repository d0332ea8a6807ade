package main

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// startingHeap is the heap a one-shot command (validate, plan, apply,
// import) grows to before collecting garbage at the default pace.
const startingHeap = 64 << 20

// memoryBudget is what a one-shot command's Go memory (heap, stacks and
// the runtime's own) is kept within while its live heap is under
// budgetLive.
const memoryBudget = 80 << 20

// budgetLive is the live heap up to which memoryBudget holds: three fifths
// of it, so that the collector still has a fifth of the budget or more to
// collect between cycles (it never chases a heap that cannot fit).
const budgetLive = memoryBudget * 3 / 5

// adjustStartingHeap tunes the collector for a one-shot command, whose
// heap only grows until it exits.
//
// First, the heap may reach startingHeap before the collector works at
// its default pace (GOGC=100), as the Go compiler does for the same reason
// (cmd/compile's AdjustStartingHeap). By default Go collects first at 4 MB
// and then each time the heap doubles, so loading thousands of manifests
// pays for a score of collections of a small, growing heap. Here, after
// each collection, GOGC is set so that the next one comes at startingHeap,
// until the live heap is large enough that the default already waits that
// long; from then on the default holds.
//
// Second, while the live heap is under budgetLive, memoryBudget is a soft
// memory limit, set after each collection: for an estate of about 10,000
// resources (a live heap near 40 MB, whose default goal, twice that, would
// be about the budget itself) the collector starts earlier and the runtime
// hands idle memory back to the system, which keeps the peak RSS under
// 100 MB. The limit used to end where twice the live heap reached the
// budget; a live heap crossing 40 MB at one collection then let the next
// goal jump to 80 MB of heap, and the RSS past 100 MB. Once the live heap
// is larger than budgetLive, there is no limit: a larger estate is not
// slowed down, and the collector never chases a heap that cannot fit.
//
// GOGC or GOMEMLIMIT in the environment leaves the runtime's policy
// alone. Not for the daemon, whose heap would sit near startingHeap for
// nothing.
func adjustStartingHeap() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	heapTuning.Lock()
	defer heapTuning.Unlock()
	// The runtime's first goal is 4 MB at GOGC=100.
	debug.SetGCPercent(100 * startingHeap / (4 << 20))
	debug.SetMemoryLimit(memoryBudget)
	heapTuning.starting, heapTuning.stop = true, false
	if !heapTuning.running {
		heapTuning.running = true
		runtime.SetFinalizer(new(firstGC), retune)
	}
}

// heapTuning is the state of the finalizer chain adjustStartingHeap
// starts; tests call it more than once in one process.
var heapTuning struct {
	sync.Mutex
	running, starting, stop bool
}

// retune runs after each collection and sets GOGC and the memory limit
// from the live heap, as adjustStartingHeap describes.
func retune(*firstGC) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	heapTuning.Lock()
	defer heapTuning.Unlock()
	if heapTuning.stop || sample[0].Value.Kind() != metrics.KindUint64 || sample[0].Value.Uint64() == 0 {
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
		heapTuning.running = false
		return
	}
	live := sample[0].Value.Uint64()
	if live < budgetLive {
		debug.SetMemoryLimit(memoryBudget)
	} else {
		debug.SetMemoryLimit(math.MaxInt64)
	}
	if heapTuning.starting {
		if 2*live >= startingHeap {
			heapTuning.starting = false
			debug.SetGCPercent(100)
		} else {
			debug.SetGCPercent(int(100 * (startingHeap - live) / live))
		}
	}
	runtime.SetFinalizer(new(firstGC), retune)
}

// firstGC is the sentinel whose finalizer runs after a collection: large
// enough not to share a block with other small objects, whose finalizers
// might then never run.
type firstGC [64]byte
