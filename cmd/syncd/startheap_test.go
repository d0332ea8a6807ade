package main

import (
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

// A one-shot command starts with a goal of startingHeap and is back at the
// default once its live heap alone would wait that long.
func TestStartingHeapHandsOverToTheDefault(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	defer debug.SetGCPercent(gcPercent())

	adjustStartingHeap()
	if got, want := gcPercent(), 100*startingHeap/(4<<20); got != want {
		t.Fatalf("GOGC after adjustStartingHeap = %d, want %d", got, want)
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

// GOGC or GOMEMLIMIT set by the user leave the runtime alone.
func TestStartingHeapLeavesTheUsersSetting(t *testing.T) {
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv("GOGC", "")
			t.Setenv("GOMEMLIMIT", "")
			t.Setenv(env, "123")
			before := gcPercent()
			adjustStartingHeap()
			if got := gcPercent(); got != before {
				t.Errorf("GOGC changed from %d to %d with %s set", before, got, env)
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
