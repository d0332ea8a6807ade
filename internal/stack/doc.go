// Package stack assembles syncd, once, for every command and every test:
// the platform clients from the registry, the audit log and the state
// store on the one connection the log opens, the hasher of secrets, the
// engine, the executor and the reconcile runner. cmd/syncd and
// internal/testenv both build their stacks here.
//
// Two kinds of assembly, by what they may do:
//
//   - Open is the writing stack of `syncd run` and `syncd apply`: it
//     migrates the database and records runs and events. OpenAdmin is
//     the smaller writing stack of `syncd inventory forget` and `bind`:
//     the state store and the audit log that records its changes.
//   - OpenPlanner (syncd plan, syncd drift accept) and OpenReader (syncd
//     audit, audit verify, audit checkpoint, drift, inventory list) are
//     read-only. Their types expose only reads: the compiler, not a review,
//     refuses a migration or a write through them, and PostgreSQL refuses
//     one too (read-only sessions).
package stack
