package reconcile

import (
	"fmt"
	"sort"

	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/syncd"
)

// SavedPlan is a plan written by `syncd plan --out`. Applying it carries out
// only its changes, and only for objects whose live state and manifest are
// still what the plan was computed from.
type SavedPlan struct {
	Plan *planner.Plan
	// RequireFresh refuses the whole plan when any change is stale.
	RequireFresh bool
}

// restrict blocks every change of current that the saved plan does not
// cover or that went stale, and returns the refused resources with why.
func (s *SavedPlan) restrict(current *planner.Plan) []string {
	saved := map[syncd.Key]planner.Change{}
	for _, c := range s.Plan.Changes {
		saved[c.Key] = c
	}
	var refused []string
	seen := map[syncd.Key]bool{}
	for i := range current.Changes {
		c := &current.Changes[i]
		seen[c.Key] = true
		sc, ok := saved[c.Key]
		if !ok || sc.Action == planner.ActionNoop {
			if c.Action != planner.ActionNoop && c.Blocked == "" {
				c.Blocked = "not in the saved plan"
			}
			continue
		}
		if why := staleness(sc, *c); why != "" {
			refused = append(refused, fmt.Sprintf("%s: %s", c.Key, why))
			if c.Action != planner.ActionNoop {
				c.Blocked = "stale plan: " + why
			}
		}
	}
	for k, sc := range saved {
		if !seen[k] && sc.Action != planner.ActionNoop {
			refused = append(refused, fmt.Sprintf("%s: no longer planned (manifest or object gone)", k))
		}
	}
	sort.Strings(refused)
	if s.RequireFresh && len(refused) > 0 {
		for i := range current.Changes {
			if c := &current.Changes[i]; c.Blocked == "" && c.Action != planner.ActionNoop {
				c.Blocked = "stale plan refused whole (--require-fresh)"
			}
		}
	}
	return refused
}

// staleness says why a saved change no longer holds, "" when it does.
func staleness(saved, now planner.Change) string {
	switch {
	case saved.DesiredHash != now.DesiredHash:
		return "the manifest changed since the plan was made"
	case saved.LiveFingerprint != now.LiveFingerprint:
		return "the live object changed since the plan was made"
	case saved.Action != now.Action:
		return fmt.Sprintf("the plan said %s, now it would %s", saved.Action, now.Action)
	case saved.RemoteID != now.RemoteID:
		return "the object it targets is not the same"
	}
	return ""
}
