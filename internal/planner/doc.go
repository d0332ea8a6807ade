// Package planner turns desired and live state into a Plan and renders it.
//
// It is pure: no I/O, no clock, no context. Build matches each manifest to
// its live object (inventory binding, then metadata.externalId, then the
// natural key; an ambiguous natural key is an error, never a guess; an
// object another resource claims is never taken by natural key), compares
// only what the manifest manages, and applies the safety rules of SPEC §4
// as Change.Blocked reasons. What a kind's natural key is, which parts of a
// spec are compared as one value, which fields are server-assigned,
// create-only or write-only, and which values are secret are its
// platform's rules (syncd.Rules, in internal/platform/<name>), which reach
// the planner through Input.Rules, as gitops-engine passes normalisers with
// diff.WithNormalizer; a kind without rules is planned as an error, never
// compared by a default. It never compares policy.ignore subtrees, and an
// adopt may carry fields: the object is bound and those fields are written
// in the same step. Given the same inputs it produces the same plan, sorted
// by resource key and field pointer. Sensitive values never leave it: they
// are compared by keyed hash, field changes carry syncd.Redacted in their
// place (also inside a composite reported whole), and a write-only secret is
// compared with the hash the inventory recorded when syncd last applied it
// (Binding.Hashes[pointer] = Hasher.Hash(value)); without such a hash its
// live value is unknown and the plan sets it (FieldChange.Unreadable).
// Without the inventory (Input.NoInventory: no database) a matched object
// whose managed fields are equal is in sync, one that differs is an update,
// and write-only secrets are not compared. An adopt that writes fields
// counts under adopt and update in the Summary. The renderers (text, JSON
// per SPEC §5, Markdown with a marker line within GitHub's comment limit) and the saved plan
// file show only what the plan holds, so they cannot leak a secret either.
package planner
