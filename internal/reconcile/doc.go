// Package reconcile runs one reconcile: record the run, recover pending
// creates, plan, record drift, and (in apply mode, when approved) execute.
// `syncd apply` and the daemon both call it, so that a run from the command
// line and a run from the daemon leave the same audit trail.
package reconcile
