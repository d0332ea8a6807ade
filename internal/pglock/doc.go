// Package pglock holds syncd's PostgreSQL advisory lock: the key the
// daemon's leader holds and AcquireApplyLock, which a one-shot apply takes
// so that it never writes at the same time as a daemon in apply mode or
// another apply. It is its own package so that a command that applies need
// not import the daemon.
package pglock
