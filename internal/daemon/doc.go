// Package daemon is `syncd run`: it watches the manifests directory,
// schedules full drift scans, and feeds one reconcile at a time to the
// reconcile runner, coalescing triggers that arrive meanwhile; a watched
// change re-plans only the resources whose manifests changed, and a
// manifest that fails to load leaves the last good desired state in use.
// Only the holder of a PostgreSQL advisory lock applies; other replicas
// report, and one that takes the lock over reconciles at once (trigger
// "leader"). It serves /healthz, /readyz, /metrics and /v1/status, and on
// cancellation starts no new reconcile, finishes the one in flight while
// still holding the lock, flushes the audit and returns nil.
package daemon
