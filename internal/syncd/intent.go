package syncd

import "time"

// Intent states.
const (
	IntentPending   = "pending"
	IntentSucceeded = "succeeded"
	IntentFailed    = "failed"
)

// Intent is an entry of the write-ahead journal of creates: journalled
// before a create (or the create of a replace) is sent, finished when its
// outcome is known, and resolved by natural key after a crash. The executor
// writes it through its Journal; the state store keeps it. One type for both,
// so that no adapter sits between them.
type Intent struct {
	ID         int64
	Key        Key
	NaturalKey string // as Desired.SafeNaturalKey gives it: a secret part is a keyed hash
	Action     string
	State      string // IntentPending when "" on begin
	// RemoteID is, while pending, the object a replace deletes (a lookup
	// that finds it has not found the new one); once succeeded, the object
	// created.
	RemoteID  string
	Error     string
	CreatedAt time.Time
	UpdatedAt time.Time
}
