package planner

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/r3labs/diff/v3"

	"github.com/syncd/syncd/internal/syncd"
)

// A unit (syncd.Unit) is the smallest part of a spec that is compared as
// one value. Which parts are units is the platform's rule (syncd.Rules
// Compare, e.g. a Make section or a Patchworks variable subfield); inside a
// unit values compare as plain JSON.

type compareResult struct {
	fields  []syncd.FieldChange
	notes   []string
	replace bool
}

// resource is the comparison of one desired resource with its live object.
// It is the syncd.Comparison its platform's rules hand units to.
type resource struct {
	b       *builder
	rules   syncd.Rules
	d       *syncd.Desired
	l       *syncd.Live
	binding *syncd.Binding // nil when the object is not (yet) syncd's
	res     compareResult
}

func (b *builder) compare(rules syncd.Rules, d *syncd.Desired, l *syncd.Live, binding *syncd.Binding) compareResult {
	r := &resource{b: b, rules: rules, d: d, l: l, binding: binding}
	rules.Compare(d.Spec, l.Spec, r)
	slices.SortFunc(r.res.fields, func(a, b syncd.FieldChange) int { return comparePointers(a.Path, b.Path) })
	slices.Sort(r.res.notes)
	return r.res
}

// Replace marks the change as a replace.
func (r *resource) Replace() { r.res.replace = true }

// Unit compares one unit and records its field changes. It reports whether
// the unit differs.
func (r *resource) Unit(u syncd.Unit) bool {
	writeOnlyUnread := u.WriteOnly && u.Live == nil && u.Desired != nil
	if len(r.d.Policy.Ignore) == 0 && !writeOnlyUnread && (equal(u.Desired, u.Live) || u.Loose && looseEqual(u.Desired, u.Live)) {
		return false
	}
	ptr := syncd.Pointer(u.Path...)
	dv, lv := u.Desired, u.Live
	for _, ig := range r.d.Policy.Ignore {
		switch {
		case ig == ptr || ig == "" || strings.HasPrefix(ptr, ig+"/"):
			return false
		case strings.HasPrefix(ig, ptr+"/"):
			// The ignored subtree takes the live value on the desired
			// side, so it can never differ.
			rel := syncd.SplitPointer(ig[len(ptr):])
			val, ok := valueAt(lv, rel)
			dv = setAt(dv, rel, val, !ok)
		}
	}
	if writeOnlyUnread {
		return r.writeOnly(ptr, dv)
	}
	if r.sensitive(ptr) {
		if equal(dv, lv) || u.Loose && looseEqual(dv, lv) || r.b.h.Hash(dv) == r.b.h.Hash(lv) {
			return false
		}
		r.res.fields = append(r.res.fields, syncd.FieldChange{
			Path: ptr, Sensitive: true, Before: redactedOrNil(lv), After: redactedOrNil(dv),
		})
		return true
	}
	if equal(dv, lv) || u.Loose && looseEqual(dv, lv) {
		return false
	}
	if !sameComposite(dv, lv) {
		var before any
		if u.LiveHas {
			before = lv
		}
		r.addField(ptr, before, dv)
		return true
	}
	// Secrets inside the composite are hashed before diffing so that the
	// differ never holds them; the hashes are redacted on the way out.
	dh, lh := r.prepare(ptr, dv), r.prepare(ptr, lv)
	cl, err := r.b.differ.Diff(lh, dh)
	n := 0
	if err == nil {
		for _, ch := range cl {
			if ch.Type == diff.UPDATE && equal(ch.From, ch.To) {
				continue
			}
			r.addField(ptr+pointerFromPath(ch.Path), ch.From, ch.To)
			n++
		}
	}
	if n == 0 {
		// The differ found nothing our equality found: show the unit whole.
		r.addField(ptr, lh, dh)
	}
	return true
}

// writeOnly decides a secret the API never returns by the hash recorded
// when syncd last applied it. Without such a hash the live value is
// unknown, so the value is written (and its hash then recorded): an adopt
// never claims a secret it did not send. Without the inventory there is
// nothing to compare with; the plan says so once, in its header.
func (r *resource) writeOnly(ptr string, dv any) bool {
	if r.b.in.NoInventory {
		return false
	}
	var recorded string
	if r.binding != nil {
		recorded = r.binding.Hashes[ptr]
	}
	if recorded == "" {
		r.res.fields = append(r.res.fields, syncd.FieldChange{
			Path: ptr, Sensitive: true, Unreadable: true, After: syncd.Redacted,
		})
		return true
	}
	if recorded == r.b.h.Hash(dv) {
		return false
	}
	r.res.fields = append(r.res.fields, syncd.FieldChange{
		Path: ptr, Sensitive: true, Before: syncd.Redacted, After: syncd.Redacted,
	})
	return true
}

func (r *resource) addField(ptr string, before, after any) {
	if r.sensitive(ptr) {
		r.res.fields = append(r.res.fields, syncd.FieldChange{
			Path: ptr, Sensitive: true, Before: redactedOrNil(before), After: redactedOrNil(after),
		})
		return
	}
	r.res.fields = append(r.res.fields, syncd.FieldChange{
		Path:   ptr,
		Before: r.redact(ptr, before),
		After:  r.redact(ptr, after),
	})
}

func redactedOrNil(v any) any {
	if v == nil {
		return nil
	}
	return syncd.Redacted
}

// sensitive reports whether the value at ptr is secret: marked by the
// loader, or secret by the platform's rules on either side.
func (r *resource) sensitive(ptr string) bool {
	return r.d.IsSensitive(ptr) || r.rules.Sensitive(ptr, r.d.Spec, r.l.Spec)
}

// maySensitive reports whether anything at or under ptr can be sensitive,
// so that walks over plain values are skipped.
func (r *resource) maySensitive(ptr string) bool {
	for _, s := range r.d.Sensitive {
		if s == ptr || strings.HasPrefix(s, ptr+"/") || strings.HasPrefix(ptr, s+"/") {
			return true
		}
	}
	return r.rules.MaySensitive(ptr)
}

// prepare returns v with every sensitive subtree replaced by its keyed
// hash and every number as float64, copying only what it changes.
func (r *resource) prepare(ptr string, v any) any {
	v, _ = canonicalNumbers(v)
	v, _ = r.walk(ptr, v, func(s any) any { return r.b.h.Hash(s) })
	return v
}

// redact returns v with every sensitive subtree shown as syncd.Redacted.
func (r *resource) redact(ptr string, v any) any {
	v, _ = r.walk(ptr, v, func(any) any { return syncd.Redacted })
	return v
}

// walk returns v with f applied to every non-null sensitive subtree,
// copying only the containers on the way to a replaced value.
func (r *resource) walk(ptr string, v any, f func(any) any) (any, bool) {
	if v == nil || !r.maySensitive(ptr) {
		return v, false
	}
	if r.sensitive(ptr) {
		return f(v), true
	}
	switch t := v.(type) {
	case map[string]any:
		var out map[string]any
		for k, c := range t {
			if nc, changed := r.walk(ptr+"/"+syncd.EscapePointerToken(k), c, f); changed {
				if out == nil {
					out = maps.Clone(t)
				}
				out[k] = nc
			}
		}
		if out != nil {
			return out, true
		}
	case []any:
		var out []any
		for i, c := range t {
			if nc, changed := r.walk(ptr+"/"+strconv.Itoa(i), c, f); changed {
				if out == nil {
					out = slices.Clone(t)
				}
				out[i] = nc
			}
		}
		if out != nil {
			return out, true
		}
	}
	return v, false
}

// canonicalNumbers returns v with every number as float64, as
// encoding/json produces, so that the differ never reports 3 -> 3.
func canonicalNumbers(v any) (any, bool) {
	switch t := v.(type) {
	case nil, string, bool, float64:
		return v, false
	case map[string]any:
		var out map[string]any
		for k, c := range t {
			if nc, changed := canonicalNumbers(c); changed {
				if out == nil {
					out = maps.Clone(t)
				}
				out[k] = nc
			}
		}
		if out != nil {
			return out, true
		}
	case []any:
		var out []any
		for i, c := range t {
			if nc, changed := canonicalNumbers(c); changed {
				if out == nil {
					out = slices.Clone(t)
				}
				out[i] = nc
			}
		}
		if out != nil {
			return out, true
		}
	default:
		if f, ok := toFloat(v); ok {
			return f, true
		}
	}
	return v, false
}

// looseEqual compares two scalars of different JSON types by what they
// mean: a number and its decimal string, a boolean and 0/1 or "0"/"1".
func looseEqual(a, b any) bool {
	if n, ok := looseNumber(a); ok {
		m, ok := looseNumber(b)
		return ok && n == m
	}
	return false
}

func looseNumber(v any) (float64, bool) {
	switch t := v.(type) {
	case bool:
		if t {
			return 1, true
		}
		return 0, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		return f, err == nil && t != ""
	}
	return toFloat(v)
}

func sameComposite(a, b any) bool {
	switch a.(type) {
	case map[string]any:
		_, ok := b.(map[string]any)
		return ok
	case []any:
		_, ok := b.([]any)
		return ok
	}
	return false
}

// equal is deep equality of canonical JSON values, numbers by value. It
// allocates nothing: it is the fast path in front of the differ.
func equal(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case float64:
		y, ok := toFloat(b)
		return ok && x == y
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !equal(xv, yv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	if f, ok := toFloat(a); ok {
		g, ok := toFloat(b)
		return ok && f == g
	}
	return false
}

// toFloat accepts the number types a non-canonical producer might leave.
func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case interface{ Float64() (float64, error) }: // json.Number
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func valueAt(v any, toks []string) (any, bool) {
	for _, t := range toks {
		switch c := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = c[t]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// setAt returns v with the value at toks set to val (or, with del, the map
// entry removed), copying the containers on the path. A path whose parent
// does not exist leaves v as it is.
func setAt(v any, toks []string, val any, del bool) any {
	if len(toks) == 0 {
		return val
	}
	switch c := v.(type) {
	case map[string]any:
		child, has := c[toks[0]]
		if len(toks) > 1 && !has {
			return v
		}
		out := make(map[string]any, len(c))
		for k, x := range c {
			out[k] = x
		}
		if len(toks) == 1 {
			if del {
				delete(out, toks[0])
			} else {
				out[toks[0]] = val
			}
			return out
		}
		out[toks[0]] = setAt(child, toks[1:], val, del)
		return out
	case []any:
		i, err := strconv.Atoi(toks[0])
		if err != nil || i < 0 || i >= len(c) {
			return v
		}
		out := slices.Clone(c)
		if len(toks) == 1 {
			if !del {
				out[i] = val
			}
			return out
		}
		out[i] = setAt(c[i], toks[1:], val, del)
		return out
	}
	return v
}

func pointerFromPath(path []string) string {
	var b strings.Builder
	for _, t := range path {
		b.WriteByte('/')
		b.WriteString(syncd.EscapePointerToken(t))
	}
	return b.String()
}

// comparePointers orders JSON pointers token by token, numeric tokens by
// value, so that /x/2 sorts before /x/10.
func comparePointers(a, b string) int {
	ta, tb := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(ta) && i < len(tb); i++ {
		if ta[i] == tb[i] {
			continue
		}
		na, ea := strconv.Atoi(ta[i])
		nb, eb := strconv.Atoi(tb[i])
		if ea == nil && eb == nil && na != nb {
			return cmp.Compare(na, nb)
		}
		return strings.Compare(ta[i], tb[i])
	}
	return cmp.Compare(len(ta), len(tb))
}

// createFields lists what a create will set, as a reviewer wants to see it
// in a pull request (the platform's rules say which entries). Before is
// always null; secrets are redacted as in any change.
func (b *builder) createFields(rules syncd.Rules, d *syncd.Desired) []syncd.FieldChange {
	r := &resource{b: b, rules: rules, d: d, l: &syncd.Live{Kind: d.Key.Kind, Spec: map[string]any{}}}
	rules.CreateFields(d.Spec, func(path []string, v any) {
		r.addField(syncd.Pointer(path...), nil, v)
	})
	slices.SortFunc(r.res.fields, func(a, b syncd.FieldChange) int { return comparePointers(a.Path, b.Path) })
	return r.res.fields
}
