package planner_test

import (
	"testing"

	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/syncd"
)

// TestWhatCountsAsWorkToDo: a plan has changes (an apply writes) only for
// an actionable change; it is pending (out of sync, for someone to act
// on) also for a blocked or report-only change, but never for a noop or a
// change in error alone.
func TestWhatCountsAsWorkToDo(t *testing.T) {
	k := syncd.Key{Kind: syncd.PatchworksConnector, Name: "shop"}
	for _, tc := range []struct {
		name        string
		change      planner.Change
		wantChanges bool
		wantPending bool
	}{
		{"update", planner.Change{Key: k, Action: planner.ActionUpdate}, true, true},
		{"noop", planner.Change{Key: k, Action: planner.ActionNoop}, false, false},
		{"blocked delete", planner.Change{Key: k, Action: planner.ActionDelete, Blocked: "a manifest failed to load"}, false, true},
		{"report-only update", planner.Change{Key: k, Action: planner.ActionUpdate, ReportOnly: true}, false, true},
		{"update in error", planner.Change{Key: k, Action: planner.ActionUpdate, Error: "live state unreadable"}, false, false},
		{"noop in error", planner.Change{Key: k, Action: planner.ActionNoop, Error: "live state unreadable"}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noop := planner.Change{Key: syncd.Key{Kind: syncd.PatchworksConnector, Name: "a"}, Action: planner.ActionNoop}
			p := &planner.Plan{Changes: []planner.Change{noop, tc.change}}
			if got := p.HasChanges(); got != tc.wantChanges {
				t.Errorf("HasChanges = %v, want %v", got, tc.wantChanges)
			}
			if got := p.Pending(); got != tc.wantPending {
				t.Errorf("Pending = %v, want %v", got, tc.wantPending)
			}
		})
	}
}
