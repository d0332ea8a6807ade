// Package console is the read-only web console that `syncd run` serves on
// its listen address at /: an overview, the declared resources with their
// state, a page per resource (open drift, pending change, history), and
// paginated runs and drift history.
//
// It is server-rendered with html/template from embedded templates and one
// stylesheet, and needs no JavaScript. It reads through two small
// interfaces, StatusSource (the daemon's snapshot) and Store (the audit
// store's queries), and never sees a secret value: field changes arrive
// redacted, and a sensitive field is shown as (sensitive) whatever it holds.
package console
