package syncd

// Rules are what the core must know about one kind to identify, compare and
// redact its objects without knowing the platform. Each platform implements
// them in its own folder (internal/platform/...); the core receives them
// through its input (the planner) or the platform registry, and a kind
// without rules is an error, never a default comparison or key.
type Rules interface {
	// Kind is the kind these rules are for.
	Kind() Kind

	// NaturalKey is how an object is found without its remote id (Make:
	// app + "/" + label; Patchworks: name). Specs are canonical JSON values.
	NaturalKey(spec map[string]any) string

	// KeySpec is NaturalKey's reverse: the smallest spec whose natural key
	// is nk. The executor uses it to look up a journalled create whose
	// outcome is unknown.
	KeySpec(nk string) map[string]any

	// Compare splits a desired spec and its live object into the units
	// that are compared as one value each, and hands every unit to c. It
	// owns the platform's normalisers: which fields are server-assigned
	// (never compared), create-only (sent once, never compared), write-only
	// (unreadable: decided by the hash recorded at apply), compared loosely
	// across JSON types, or whose change means a replace.
	Compare(desired, live map[string]any, c Comparison)

	// CreateFields lists what a create sets, one emit per entry a reviewer
	// wants to see (a top-level field, or one entry of a keyed collection).
	CreateFields(desired map[string]any, emit func(path []string, v any))

	// Sensitive reports whether the value at the JSON pointer ptr is secret
	// by the platform's own rules, given the specs either side (a value is
	// secret when either side says so). Secret references the loader
	// resolved are marked on the Desired and are secret whatever this says.
	Sensitive(ptr string, specs ...map[string]any) bool

	// MaySensitive reports whether anything at or under ptr can be secret by
	// these rules, so that walks over plain values are skipped.
	MaySensitive(ptr string) bool

	// Unmanaged names a live object no manifest declares, for coverage
	// reports: the group it is sorted by ("" for none; the JSON plan's
	// make_app), the heading its group is listed under, and what a person
	// knows it by.
	Unmanaged(spec map[string]any) (group, heading, name string)
}

// Unit is one part of a spec compared as one value.
type Unit struct {
	Path    []string // JSON pointer tokens
	Desired any
	Live    any
	LiveHas bool // the live object has the field (a null it has is shown as null)
	// WriteOnly marks a value the API never reads back (it answers null):
	// a null live value then says nothing about it.
	WriteOnly bool
	// Loose compares scalars across JSON types (42 and "42", true and 1).
	Loose bool
}

// Comparison receives a platform's units.
type Comparison interface {
	// Unit compares u, records its field changes and reports whether it differs.
	Unit(u Unit) bool
	// Replace marks the change as a delete and create (the object cannot
	// be changed in place).
	Replace()
}
