// Package bench is syncd's benchmark harness (make bench). Its benchmark,
// BenchmarkSyncd, runs every scenario of issue #8 once against the API
// emulator and a real PostgreSQL — plan at scale against the network
// floor, plan under the emulator's rate limit, CPU and peak RSS of one
// `syncd plan` process, edit-to-plan latency in the daemon, and audit
// throughput beside raw COPY — and reports each figure with its target and
// pass/fail as a table on stdout, as JSON (bench/results.json) and as
// Markdown (bench/RESULTS.md, and the "## Benchmarks" section of README.md
// when a README exists). The non-test code here is the table and the
// generators of manifests and matching emulator seeds, which the
// reliability suite reuses. Figures are measured, never asserted: a missed
// target is a FAIL row, not a failed test.
package bench
