// Package planner turns desired and live state into a Plan and renders it.
//
// It is pure: no I/O, no clock, no context. Given the same inputs it
// produces the same plan, sorted by resource key, so that two runs print
// the same thing. Sensitive values never leave it: field changes carry
// syncd.Redacted in their place and equality is decided by keyed hash.
package planner
