// Package reconcile runs one reconcile: record the run, recover pending
// creates, plan, record drift, and (in apply mode, when approved) execute.
// `syncd apply` and the daemon both call it, so that a run from the command
// line and a run from the daemon leave the same audit trail. A Runner also
// counts, across runs and processes (in its Books), changes that keep
// failing the same way and holds them back once they are stuck
// (StuckAfter), unless a run is Manual.
package reconcile
