package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// gcPercent reads the current GOGC setting.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// memoryLimit reads the current soft memory limit.
func memoryLimit() int64 { return debug.SetMemoryLimit(-1) }

// stopHeapTuning ends adjustStartingHeap's chain and puts the runtime's
// defaults back, so that a test leaves the process as it found it.
func stopHeapTuning(t *testing.T) {
	heapTuning.Lock()
	heapTuning.stop = true
	heapTuning.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for {
		heapTuning.Lock()
		running := heapTuning.running
		heapTuning.Unlock()
		if !running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the heap tuning chain did not stop")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if gcPercent() != 100 || memoryLimit() != math.MaxInt64 {
		t.Fatalf("after stopping: GOGC %d, limit %d; want the defaults", gcPercent(), memoryLimit())
	}
}

// A one-shot command starts with a goal of startingHeap and is back at the
// default once its live heap alone would wait that long.
func TestStartingHeapHandsOverToTheDefault(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	defer stopHeapTuning(t)

	adjustStartingHeap()
	if got, want := gcPercent(), 100*startingHeap/(4<<20); got != want {
		t.Fatalf("GOGC after adjustStartingHeap = %d, want %d", got, want)
	}
	if got := memoryLimit(); got != memoryBudget {
		t.Fatalf("memory limit after adjustStartingHeap = %d, want %d", got, memoryBudget)
	}
	// A small live heap: the next goal stays near startingHeap.
	runtime.GC()
	waitGCPercent(t, func(p int) bool { return p > 100 }, "above 100 while the live heap is small")

	// A live heap over half of startingHeap: the default takes over.
	keep := make([][]byte, 0, 40)
	for range 40 {
		keep = append(keep, make([]byte, 1<<20))
	}
	waitGCPercent(t, func(p int) bool { runtime.GC(); return p == 100 }, "100 once the live heap is large")
	runtime.KeepAlive(keep)
}

// The memory limit is the budget while the live heap is under
// budgetLive, which leaves the collector room, and off once it is not, so
// that it never makes the collector chase a heap that cannot fit. A live
// heap whose default goal (twice it) is over the budget, but which is
// under budgetLive, keeps the limit: that is a 10,000-resource plan, and
// lifting the limit there let its peak RSS pass 100 MB.
func TestMemoryBudgetOnlyWhileTheDefaultGoalFits(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	defer stopHeapTuning(t)

	adjustStartingHeap()
	runtime.GC()
	waitFor(t, func() bool { runtime.GC(); return memoryLimit() == memoryBudget }, "the budget while the heap is small")

	mid := make([][]byte, 0, 40)
	for range 40 { // 40 MiB live: twice that is the budget, yet under budgetLive
		mid = append(mid, make([]byte, 1<<20))
	}
	// GOGC back at 100 shows that a collection has retuned with it.
	waitGCPercent(t, func(p int) bool { runtime.GC(); return p == 100 }, "100 once 40 MiB are live")
	if got := memoryLimit(); got != memoryBudget {
		t.Fatalf("memory limit with 40 MiB live = %d, want the budget %d", got, memoryBudget)
	}
	runtime.KeepAlive(mid)
	mid = nil

	keep := make([][]byte, 0, 64)
	for range 64 { // 64 MiB live: over budgetLive
		keep = append(keep, make([]byte, 1<<20))
	}
	waitFor(t, func() bool { runtime.GC(); return memoryLimit() == math.MaxInt64 }, "no limit once the default goal is over the budget")
	runtime.KeepAlive(keep)
	keep = nil
	waitFor(t, func() bool { runtime.GC(); return memoryLimit() == memoryBudget }, "the budget again once the heap is freed")
}

// A second command in the same process (as in tests) starts the tuning
// over.
func TestStartingHeapTwice(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	defer stopHeapTuning(t)

	adjustStartingHeap()
	debug.SetGCPercent(100)
	adjustStartingHeap()
	if got, want := gcPercent(), 100*startingHeap/(4<<20); got != want {
		t.Fatalf("GOGC after the second call = %d, want %d", got, want)
	}
}

// waitFor waits, collecting, until ok holds.
func waitFor(t *testing.T, ok func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("memory limit is %d, want %s", memoryLimit(), what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// GOGC or GOMEMLIMIT set by the user leave the runtime alone.
func TestStartingHeapLeavesTheUsersSetting(t *testing.T) {
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv("GOGC", "")
			t.Setenv("GOMEMLIMIT", "")
			t.Setenv(env, "123")
			before, limit := gcPercent(), memoryLimit()
			adjustStartingHeap()
			if got := gcPercent(); got != before {
				t.Errorf("GOGC changed from %d to %d with %s set", before, got, env)
			}
			if got := memoryLimit(); got != limit {
				t.Errorf("memory limit changed from %d to %d with %s set", limit, got, env)
			}
		})
	}
}

// waitGCPercent waits for the finalizer, which runs after a collection on
// its own goroutine, to have set GOGC as ok wants.
func waitGCPercent(t *testing.T, ok func(int) bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok(gcPercent()) {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC is %d, want %s", gcPercent(), what)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}
