package syncd

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"time"
)

// Run is one reconcile's identity. It stamps every audit event the run
// records, whichever package records it: this package is the one
// bookkeeper of run ids and events.
type Run struct {
	ID               string
	Mode             Mode
	Actor            string
	ManifestRevision string
}

// NewRun starts a run with a fresh id.
func NewRun(mode Mode, actor, revision string) Run {
	return Run{ID: NewID(), Mode: mode, Actor: actor, ManifestRevision: revision}
}

// NewID returns a fresh random id for a run or an event (32 hex digits).
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Event is an event of the run about resource k (the zero Key for the
// run's own events), with a fresh id, occurring at at. changes must
// already be redacted.
func (r Run) Event(at time.Time, t EventType, k Key, remoteID, action string, changes []FieldChange, outcome, errText string) Event {
	return Event{
		ID: NewID(), OccurredAt: at, RunID: r.ID, Type: t,
		Kind: k.Kind, Name: k.Name, RemoteID: remoteID, Action: action,
		Changes: changes, Outcome: outcome, Error: errText,
		ManifestRevision: r.ManifestRevision, Mode: r.Mode, Actor: r.Actor,
	}
}

// DriftEvent is the event that opens (drift_detected) or closes
// (drift_resolved) drift episode episode of resource k. Its id is
// deterministic, so that a retried scan cannot record an episode's event
// twice.
func (r Run) DriftEvent(at time.Time, episode int64, t EventType, k Key, remoteID string, changes []FieldChange, outcome string) Event {
	e := r.Event(at, t, k, remoteID, "", changes, outcome, "")
	e.ID = DriftEventID(episode, t)
	return e
}

// DriftEventID is the id of drift episode episode's event of type t.
func DriftEventID(episode int64, t EventType) string {
	verb := "detected"
	if t == EventDriftResolved {
		verb = "resolved"
	}
	return "drift-" + strconv.FormatInt(episode, 10) + "-" + verb
}

// RunRecord is what is kept of a run (a row of the runs table): its
// identity, what started it, when, the plan's summary, the requests it
// made per platform and how it ended.
type RunRecord struct {
	Run
	Trigger    string // e.g. schedule, watch, signal, cli
	StartedAt  time.Time
	FinishedAt time.Time // zero while running
	// Summary and Requests are stored as JSON (the plan summary and the
	// request counts per platform); nil stores NULL.
	Summary  any
	Requests any
	Outcome  string
	Error    string
}
