// Package syncd holds the domain types every other package shares: a
// resource's identity (Key), its desired state as loaded from a manifest
// (Desired), its live state as read from a platform (Live), the inventory
// binding between the two (Binding), the redacted field change that plans
// and audit rows carry (FieldChange), the audit Event, and the bookkeeping
// of a run: its id and identity (Run, NewRun, NewID), the events it stamps
// (Run.Event, Run.DriftEvent), its record (RunRecord) and the journal entry
// of a create (Intent). Every package that records an event builds it here.
//
// Specs are canonical JSON values — map[string]any, []any, string, float64,
// bool and nil, exactly what encoding/json produces — so that values that
// came from YAML and values that came from an API compare equal. The package
// imports only the standard library and is imported by everyone.
package syncd
