// Package daemon is `syncd run`: it watches the manifests directory,
// schedules full drift scans, and feeds one reconcile at a time to the
// reconcile runner, coalescing triggers that arrive meanwhile. Only the
// holder of a PostgreSQL advisory lock applies; other replicas report. It
// serves /healthz, /readyz, /metrics and /v1/status, and on cancellation
// finishes the step in flight and flushes the audit before returning.
package daemon
