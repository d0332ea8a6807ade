package syncd

import "math"

// ShareDesired returns live with every part that holds exactly desired's
// value (same canonical JSON types, keys and elements) replaced by
// desired's own: a live state that matches its manifest then keeps no copy
// of its own in memory, which on a large estate in sync is most of what
// observing it would hold. Maps and slices of live are changed in place,
// so live must be freshly decoded and not yet shared; desired is only
// read. Comparing the result with desired gives exactly what comparing
// live would, since only equal values are swapped; specs are never changed
// once built, so sharing them is safe.
func ShareDesired(live, desired any) any {
	v, _ := share(live, desired)
	return v
}

// share is ShareDesired, also reporting whether the result is desired's
// value as a whole.
func share(live, desired any) (any, bool) {
	switch l := live.(type) {
	case map[string]any:
		d, ok := desired.(map[string]any)
		if !ok || (l == nil) != (d == nil) { // a nil map is JSON null, not {}
			return live, false
		}
		same := len(l) == len(d)
		for k, lv := range l {
			dv, ok := d[k]
			if !ok {
				same = false
				continue
			}
			nv, s := share(lv, dv)
			l[k] = nv
			same = same && s
		}
		if same {
			return desired, true
		}
	case []any:
		d, ok := desired.([]any)
		if !ok || (l == nil) != (d == nil) { // a nil slice is JSON null, not []
			return live, false
		}
		same := len(l) == len(d)
		for i := range min(len(l), len(d)) {
			nv, s := share(l[i], d[i])
			l[i] = nv
			same = same && s
		}
		if same {
			return desired, true
		}
	case string:
		if d, ok := desired.(string); ok && d == l {
			return desired, true
		}
	case float64:
		if d, ok := desired.(float64); ok && d == l && math.Signbit(d) == math.Signbit(l) {
			return desired, true
		}
	case bool:
		if d, ok := desired.(bool); ok && d == l {
			return desired, true
		}
	case nil:
		if desired == nil {
			return nil, true
		}
	}
	return live, false
}
