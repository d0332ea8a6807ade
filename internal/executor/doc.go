// Package executor carries out a plan against the platforms.
//
// Its promises: no write is sent unless the audit event announcing it was
// persisted (database or spool); a create is journalled as a pending intent
// before it is sent and resolved by a natural-key lookup after a crash or an
// ambiguous failure, so that no object is ever created twice; one failing
// resource does not stop the others; every outcome is audited with redacted
// field changes and the inventory is updated on success; every write is read
// back and planned again, and a field the platform did not keep makes the
// change "not effective" (change_failed, never counted as applied).
//
// It declares the small interfaces it needs (Recorder, Inventory, Journal,
// DriftResolver); the audit log (Recorder, DriftResolver) and the state
// store (Inventory, Journal) satisfy them without being imported.
package executor
