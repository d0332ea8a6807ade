package syncd

import "time"

// EventType is an audit event's type (SPEC §7).
type EventType string

const (
	EventRunStarted      EventType = "run_started"
	EventRunFinished     EventType = "run_finished"
	EventChangePlanned   EventType = "change_planned"
	EventChangeApplied   EventType = "change_applied"
	EventChangeFailed    EventType = "change_failed"
	EventDriftDetected   EventType = "drift_detected"
	EventDriftResolved   EventType = "drift_resolved"
	EventManifestInvalid EventType = "manifest_invalid"
	EventConnectorTested EventType = "connector_tested"
)

// Event is one audit row. Changes must already be redacted; nothing in an
// Event may hold a secret.
type Event struct {
	// ID is the idempotency key: a producer-chosen unique id, so that a row
	// replayed from the spool is written once.
	ID               string
	OccurredAt       time.Time
	RunID            string
	Type             EventType
	Kind             Kind
	Name             string
	RemoteID         string
	Action           string
	Changes          []FieldChange
	Outcome          string
	Error            string
	ManifestRevision string
	Mode             Mode
	Actor            string
}
