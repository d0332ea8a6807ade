package desired

import (
	"slices"
	"strconv"

	"go.yaml.in/yaml/v4"

	"github.com/syncd/syncd/internal/syncd"
)

// RateLimitUnits are the accepted values of a Patchworks connector's
// rate_limit_unit (see syncd.RateLimitUnits: assumed).
var RateLimitUnits = syncd.RateLimitUnits

// patchworksFields are the connector fields a manifest may set, in the
// order import writes them.
var patchworksFields = []string{
	"name", "authentication_implementation_id", "type", "timezone", "date_format",
	"rate_limit_unit", "rate_limit_duration", "connection_pool_id", "certificate_id",
	"session_id", "platform_app_key", "variables",
}

// patchworksRequired are the fields the API requires on create.
var patchworksRequired = []string{
	"name", "authentication_implementation_id", "timezone", "date_format",
	"rate_limit_unit", "rate_limit_duration",
}

var variableFields = []string{"key", "value", "label", "secret", "locked", "pivot"}

var pivotFields = []string{"alias", "configurable", "required", "advanced"}

func (d *docState) patchworksSpec(at pair, p path) (map[string]any, *yaml.Node) {
	f, ok := d.object(at.v, p, patchworksFields...)
	if !ok {
		return nil, nil
	}
	d.require(f, p, at.k, patchworksRequired...)
	spec := map[string]any{}
	var keyAt *yaml.Node
	// Patchworks (Laravel) turns "" into null before validating, so an
	// empty string fails a required field on the server and reads back as
	// null from a nullable one, which would be drift forever.
	setText := func(name string, pr pair, t text, null bool) {
		switch {
		case null:
			spec[name] = nil
		case t.s == "" && slices.Contains(patchworksRequired, name):
			d.errorf(deref(pr.v), p.key(name), "must not be empty")
		case t.s == "":
			d.errorf(deref(pr.v), p.key(name), "an empty string is stored as null by Patchworks: write null")
		default:
			spec[name] = t.s
		}
	}
	for _, name := range patchworksFields {
		pr, ok := f.get(name)
		if !ok {
			continue
		}
		fp := p.key(name)
		switch name {
		case "name":
			if t, _, ok := d.str(pr.v, fp, false); ok {
				if t.s == "" {
					d.errorf(deref(pr.v), fp, "must not be empty")
					continue
				}
				spec[name] = t.s
				keyAt = deref(pr.v)
			}
		case "timezone", "date_format":
			if t, _, ok := d.str(pr.v, fp, false); ok {
				setText(name, pr, t, false)
			}
		case "type", "session_id", "platform_app_key":
			if t, null, ok := d.str(pr.v, fp, true); ok {
				setText(name, pr, t, null)
			}
		case "authentication_implementation_id":
			if t, _, ok := d.idString(pr.v, fp, false); ok {
				setText(name, pr, t, false)
			}
		case "certificate_id":
			if t, null, ok := d.idString(pr.v, fp, true); ok {
				setText(name, pr, t, null)
			}
		case "rate_limit_unit":
			if u, ok := d.enum(pr.v, fp, RateLimitUnits); ok {
				spec[name] = u
			}
		case "rate_limit_duration":
			if v, ok := d.integer(pr.v, fp, false); ok {
				spec[name] = v
			}
		case "connection_pool_id":
			if v, ok := d.integer(pr.v, fp, true); ok {
				spec[name] = v
			}
		case "variables":
			if v, ok := d.variables(pr.v, fp); ok {
				spec[name] = v
			}
		}
	}
	return spec, keyAt
}

// variables decodes the variable list into an object keyed by variable key.
func (d *docState) variables(n *yaml.Node, p path) (map[string]any, bool) {
	ln := deref(n)
	if ln == nil || ln.Kind != yaml.SequenceNode {
		d.errorf(ln, p, "must be a list of variables, got %s", describe(ln))
		return nil, false
	}
	out := map[string]any{}
	firstAt := map[string]int{}
	ok := true
	for i, e := range ln.Content {
		ip := p.index(i, strconv.Itoa(i))
		f, fok := d.object(e, ip, variableFields...)
		if !fok {
			ok = false
			continue
		}
		d.require(f, ip, nil, "key")
		pr, has := f.get("key")
		if !has {
			ok = false
			continue
		}
		kt, _, kok := d.str(pr.v, ip.key("key"), false)
		if !kok {
			ok = false
			continue
		}
		if kt.s == "" {
			d.errorf(deref(pr.v), ip.key("key"), "must not be empty")
			ok = false
			continue
		}
		if j, dup := firstAt[kt.s]; dup {
			d.errorf(deref(pr.v), ip.key("key"), "duplicate variable key %q (first at %s[%d])", kt.s, p.field, j)
			ok = false
			continue
		}
		firstAt[kt.s] = i
		// From here on the pointer uses the key, the field path the index.
		vp := p.index(i, kt.s)
		v := map[string]any{"key": kt.s}
		if pr, has := f.get("value"); has {
			if t, null, vok := d.variableValue(pr.v, vp.key("value")); vok {
				if null {
					v["value"] = nil
				} else {
					v["value"] = t.s
				}
			} else {
				ok = false
			}
		}
		if pr, has := f.get("label"); has {
			if t, null, lok := d.str(pr.v, vp.key("label"), true); lok {
				if null {
					v["label"] = nil
				} else {
					v["label"] = t.s
				}
			} else {
				ok = false
			}
		}
		for _, b := range []string{"secret", "locked"} {
			if pr, has := f.get(b); has {
				if bv, bok := d.boolean(pr.v, vp.key(b)); bok {
					v[b] = bv
				} else {
					ok = false
				}
			}
		}
		if v["secret"] == true {
			if _, has := v["value"]; has {
				d.markSensitive(vp.key("value").ptr)
			}
		}
		if pr, has := f.get("pivot"); has {
			if pv, pok := d.pivot(pr.v, vp.key("pivot")); pok {
				v["pivot"] = pv
			} else {
				ok = false
			}
		}
		out[kt.s] = v
	}
	return out, ok
}

// variableValue decodes a variable's value. The API stores strings; a YAML
// number is kept as its literal text so that `port: 443` reads naturally.
// Booleans are refused: "true" and "yes" are too easy to confuse.
func (d *docState) variableValue(n *yaml.Node, p path) (text, bool, bool) {
	dn := deref(n)
	if dn != nil && dn.Kind == yaml.ScalarNode {
		switch dn.ShortTag() {
		case "!!int", "!!float":
			return text{s: dn.Value}, false, true
		}
	}
	if dn == nil || dn.Kind != yaml.ScalarNode || !(isStringTag(dn) || isNull(dn)) {
		d.errorf(dn, p, "must be a string or null, got %s", describe(dn))
		return text{}, false, false
	}
	return d.str(dn, p, true)
}

func (d *docState) pivot(n *yaml.Node, p path) (map[string]any, bool) {
	f, ok := d.object(n, p, pivotFields...)
	if !ok {
		return nil, false
	}
	out := map[string]any{}
	for _, name := range pivotFields {
		pr, has := f.get(name)
		if !has {
			continue
		}
		if name == "alias" {
			if t, null, aok := d.str(pr.v, p.key(name), true); aok {
				if null {
					out[name] = nil
				} else {
					out[name] = t.s
				}
			} else {
				ok = false
			}
			continue
		}
		if b, bok := d.boolean(pr.v, p.key(name)); bok {
			out[name] = b
		} else {
			ok = false
		}
	}
	return out, ok
}
