package planner

import "github.com/syncd/syncd/internal/syncd"

// Action is what a plan does to one resource: a closed set.
type Action string

const (
	ActionCreate  Action = "create"
	ActionUpdate  Action = "update"
	ActionReplace Action = "replace" // delete + create (Make type changed); the new object gets a new id
	ActionDelete  Action = "delete"  // prune an inventory object whose manifest is gone
	ActionAdopt   Action = "adopt"   // bind an existing object without changing it
	ActionNoop    Action = "noop"
)

// Change is the plan for one resource.
type Change struct {
	Key        syncd.Key
	Action     Action
	RemoteID   string // "" for a create
	NaturalKey string
	// Blocked is why the action will not be carried out (a safety rule of
	// SPEC §4); "" when it may be. A blocked change still shows its fields.
	Blocked string
	// ReportOnly marks a resource with policy.mode report: planned, never written.
	ReportOnly bool
	// Error is why the resource could not be planned (e.g. an ambiguous
	// natural key); Action is then noop and nothing is written.
	Error string
	// Fields are the changed fields, sorted by path, already redacted.
	Fields []syncd.FieldChange
	// Notes are display-only remarks (e.g. "secret value cannot be read back").
	Notes []string
	// LiveFingerprint is a hash of the live object as observed ("" when
	// there is none, and for a noop, which a saved plan never holds);
	// apply of a saved plan refuses when it has moved.
	LiveFingerprint string
	// DesiredHash is a keyed hash of the desired spec ("" for a delete);
	// apply of a saved plan refuses when the manifest has moved.
	DesiredHash string
	// Drift is true when a bound object's live state differs from its
	// manifest (someone changed it outside syncd or the manifest changed).
	Drift bool
	// Supersedes is the inventory key whose object this adopt takes over
	// (a renamed manifest); the executor drops that binding. Zero if none.
	Supersedes syncd.Key
}

// Summary counts changes by action; Blocked counts blocked changes (which
// are also counted under their action). An adopt that writes fields is
// counted under Adopt and under Update.
type Summary struct {
	Create  int `json:"create"`
	Update  int `json:"update"`
	Replace int `json:"replace"`
	Delete  int `json:"delete"`
	Adopt   int `json:"adopt"`
	Noop    int `json:"noop"`
	Blocked int `json:"blocked"`
}

// Plan is the whole plan: data only, no I/O.
type Plan struct {
	// Changes has one entry per resource (noop included), sorted by key.
	Changes []Change
	Summary Summary
	// LoadFailed is set when some manifest failed to load: the plan then has
	// no delete and no replace (they are blocked).
	LoadFailed bool
	// NoInventory is set when the plan was made without the inventory
	// (Input.NoInventory); the renderers say once what that means.
	NoInventory bool
	// Targets, when non-empty, are the --target patterns of a partial plan:
	// only the resources they match were read and planned, and nothing is
	// pruned. The renderers say so once.
	Targets []string
	// Coverage counts the listed live objects that no manifest declares;
	// nil for a partial plan, a plan whose manifests did not all load, and
	// one read back from a plan file (see CoverageOf).
	Coverage *Coverage
}

// Partial reports whether the plan covers only --target resources.
func (p *Plan) Partial() bool { return len(p.Targets) > 0 }

// HasChanges reports whether anything would be written.
func (p *Plan) HasChanges() bool {
	for _, c := range p.Changes {
		if c.Action != ActionNoop && c.Blocked == "" && !c.ReportOnly && c.Error == "" {
			return true
		}
	}
	return false
}

// Pending reports whether anything is out of sync and left for someone to
// act on: a change that would be written, and also one that is blocked by a
// safety rule or only reported by policy. A pull-request plan whose every
// change is a blocked delete is not "no changes".
func (p *Plan) Pending() bool {
	for _, c := range p.Changes {
		if c.Action != ActionNoop && c.Error == "" {
			return true
		}
	}
	return false
}
