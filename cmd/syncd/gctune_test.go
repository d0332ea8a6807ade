package main

import "testing"

func TestOneShotPercent(t *testing.T) {
	const mb = 1 << 20
	tests := []struct {
		name        string
		live, roots uint64
		want        int
	}{
		{"nothing measured yet", 0, 0, 100},
		{"start: capped by the runtime's 4 MB minimum heap", 0, 300 << 10, 1600},
		{"small heap: goal is the floor", 10 * mb, 2 * mb, 450},
		{"just under half the floor: never below the default", 31 * mb, 5 * mb, 100},
		{"just under half the floor, small roots", 31 * mb, 1 * mb, 103},
		{"half the floor and more: the default", 32 * mb, 1 * mb, 100},
		{"large heap: the default", 500 * mb, 1 * mb, 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := oneShotPercent(tc.live, tc.roots); got != tc.want {
				t.Errorf("oneShotPercent(%d, %d) = %d, want %d", tc.live, tc.roots, got, tc.want)
			}
		})
	}
}

// The heap goal the runtime derives from oneShotPercent is the floor while
// the live heap is small, and twice the live heap once it is not.
func TestOneShotPercentGoal(t *testing.T) {
	const mb = 1 << 20
	for _, live := range []uint64{1 * mb, 5 * mb, 20 * mb, 31 * mb, 40 * mb, 200 * mb} {
		roots := uint64(mb)
		p := uint64(oneShotPercent(live, roots))
		goal := max(live+(live+roots)*p/100, 4*mb*p/100)
		lo, hi := max(uint64(oneShotFloor), 2*live)-mb, max(uint64(oneShotFloor), 2*live+roots)+mb
		if goal < lo || goal > hi {
			t.Errorf("live %d MB: heap goal %d MB, want %d..%d MB", live/mb, goal/mb, lo/mb, hi/mb)
		}
	}
}
