// Package reliability holds syncd's reliability suite: tests that run the
// real stack (API emulator with faults, real PostgreSQL, the built syncd
// binary where a process must die) and count what came out — objects on
// the platform by natural key, audit_events rows against the executor's
// own tally, every output grepped for a known secret, goroutines and heap
// over a soak. Each test has a short form that `make test` runs and a long
// form selected by SYNCD_RELIABILITY=long (`make reliability`), which also
// runs every fuzz target, time-boxed, including the JSONC ones here.
// TestFingerprint is the exception: one fixed scenario whose plans, audit
// rows, state tables and requests are compared with golden files under
// testdata/fingerprint, so that a refactor shows any change of behaviour
// (its comment says how to use it). The package has no non-test code.
package reliability
