package patchworks

import (
	_ "embed"
	"maps"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/syncd/syncd/internal/platform/manifest"
	"github.com/syncd/syncd/internal/syncd"
)

// The PatchworksConnector manifest format (manifest.Format): decoding, the
// import writer and the schema part.

// manifestFields are the connector fields a manifest may set, in the
// order import writes them.
var manifestFields = []string{
	"name", "authentication_implementation_id", "type", "timezone", "date_format",
	"rate_limit_unit", "rate_limit_duration", "connection_pool_id", "certificate_id",
	"session_id", "platform_app_key", "variables",
}

// requiredFields are the fields the API requires on create.
var requiredFields = []string{
	"name", "authentication_implementation_id", "timezone", "date_format",
	"rate_limit_unit", "rate_limit_duration",
}

var pivotFields = []string{"alias", "configurable", "required", "advanced"}

// DecodeSpec decodes a PatchworksConnector spec, with variables as an
// object keyed by variable key.
func (Platform) DecodeSpec(d manifest.Doc, key, value *yaml.Node, p manifest.Path) (map[string]any, *yaml.Node) {
	f, ok := d.Object(value, p, manifestFields...)
	if !ok {
		return nil, nil
	}
	d.Require(f, p, key, requiredFields...)
	spec := map[string]any{}
	var keyAt *yaml.Node
	// Patchworks (Laravel) turns "" into null before validating, so an
	// empty string fails a required field on the server and reads back as
	// null from a nullable one, which would be drift forever.
	setText := func(name string, pr manifest.Pair, t manifest.Text, null bool) {
		switch {
		case null:
			spec[name] = nil
		case t.S == "" && slices.Contains(requiredFields, name):
			d.Errorf(d.Deref(pr.V), p.Key(name), "must not be empty")
		case t.S == "":
			d.Errorf(d.Deref(pr.V), p.Key(name), "an empty string is stored as null by Patchworks: write null")
		default:
			spec[name] = t.S
		}
	}
	for _, name := range manifestFields {
		pr, ok := f.Get(name)
		if !ok {
			continue
		}
		fp := p.Key(name)
		switch name {
		case "name":
			if t, _, ok := d.Str(pr.V, fp, false); ok {
				if t.S == "" {
					d.Errorf(d.Deref(pr.V), fp, "must not be empty")
					continue
				}
				spec[name] = t.S
				keyAt = d.Deref(pr.V)
			}
		case "timezone", "date_format":
			if t, _, ok := d.Str(pr.V, fp, false); ok {
				setText(name, pr, t, false)
			}
		case "type", "session_id", "platform_app_key":
			if t, null, ok := d.Str(pr.V, fp, true); ok {
				setText(name, pr, t, null)
			}
		case "authentication_implementation_id":
			if t, _, ok := d.IDString(pr.V, fp, false); ok {
				setText(name, pr, t, false)
			}
		case "certificate_id":
			if t, null, ok := d.IDString(pr.V, fp, true); ok {
				setText(name, pr, t, null)
			}
		case "rate_limit_unit":
			if u, ok := d.Enum(pr.V, fp, syncd.RateLimitUnits); ok {
				spec[name] = u
			}
		case "rate_limit_duration":
			if v, ok := d.Integer(pr.V, fp, false); ok {
				spec[name] = v
			}
		case "connection_pool_id":
			if v, ok := d.Integer(pr.V, fp, true); ok {
				spec[name] = v
			}
		case "variables":
			if v, ok := variables(d, pr.V, fp); ok {
				spec[name] = v
			}
		}
	}
	return spec, keyAt
}

// variables decodes the variable list into an object keyed by variable key.
func variables(d manifest.Doc, n *yaml.Node, p manifest.Path) (map[string]any, bool) {
	ln := d.Deref(n)
	if ln == nil || ln.Kind != yaml.SequenceNode {
		d.Errorf(ln, p, "must be a list of variables, got %s", d.Describe(ln))
		return nil, false
	}
	out := map[string]any{}
	firstAt := map[string]int{}
	ok := true
	for i, e := range ln.Content {
		ip := p.Index(i, strconv.Itoa(i))
		f, fok := d.Object(e, ip, variableFields...)
		if !fok {
			ok = false
			continue
		}
		d.Require(f, ip, nil, "key")
		pr, has := f.Get("key")
		if !has {
			ok = false
			continue
		}
		kt, _, kok := d.Str(pr.V, ip.Key("key"), false)
		if !kok {
			ok = false
			continue
		}
		if kt.S == "" {
			d.Errorf(d.Deref(pr.V), ip.Key("key"), "must not be empty")
			ok = false
			continue
		}
		if j, dup := firstAt[kt.S]; dup {
			d.Errorf(d.Deref(pr.V), ip.Key("key"), "duplicate variable key %q (first at %s[%d])", kt.S, p.Field, j)
			ok = false
			continue
		}
		firstAt[kt.S] = i
		// From here on the pointer uses the key, the field path the index.
		vp := p.Index(i, kt.S)
		v := map[string]any{"key": kt.S}
		if pr, has := f.Get("value"); has {
			if t, null, vok := variableValue(d, pr.V, vp.Key("value")); vok {
				if null {
					v["value"] = nil
				} else {
					v["value"] = t.S
				}
			} else {
				ok = false
			}
		}
		if pr, has := f.Get("label"); has {
			if t, null, lok := d.Str(pr.V, vp.Key("label"), true); lok {
				if null {
					v["label"] = nil
				} else {
					v["label"] = t.S
				}
			} else {
				ok = false
			}
		}
		for _, b := range []string{"secret", "locked"} {
			if pr, has := f.Get(b); has {
				if bv, bok := d.Boolean(pr.V, vp.Key(b)); bok {
					v[b] = bv
				} else {
					ok = false
				}
			}
		}
		if v["secret"] == true {
			if _, has := v["value"]; has {
				d.MarkSensitive(vp.Key("value").Ptr)
			}
		}
		if pr, has := f.Get("pivot"); has {
			if pv, pok := pivot(d, pr.V, vp.Key("pivot")); pok {
				v["pivot"] = pv
			} else {
				ok = false
			}
		}
		out[kt.S] = v
	}
	return out, ok
}

// variableValue decodes a variable's value. The API stores strings; a YAML
// number is kept as its literal text so that `port: 443` reads naturally.
// Booleans are refused: "true" and "yes" are too easy to confuse.
func variableValue(d manifest.Doc, n *yaml.Node, p manifest.Path) (manifest.Text, bool, bool) {
	dn := d.Deref(n)
	if dn != nil && dn.Kind == yaml.ScalarNode {
		switch dn.ShortTag() {
		case "!!int", "!!float":
			return manifest.Text{S: dn.Value}, false, true
		}
	}
	if dn == nil || dn.Kind != yaml.ScalarNode || !(d.IsStringTag(dn) || d.IsNull(dn)) {
		d.Errorf(dn, p, "must be a string or null, got %s", d.Describe(dn))
		return manifest.Text{}, false, false
	}
	return d.Str(dn, p, true)
}

func pivot(d manifest.Doc, n *yaml.Node, p manifest.Path) (map[string]any, bool) {
	f, ok := d.Object(n, p, pivotFields...)
	if !ok {
		return nil, false
	}
	out := map[string]any{}
	for _, name := range pivotFields {
		pr, has := f.Get(name)
		if !has {
			continue
		}
		if name == "alias" {
			if t, null, aok := d.Str(pr.V, p.Key(name), true); aok {
				if null {
					out[name] = nil
				} else {
					out[name] = t.S
				}
			} else {
				ok = false
			}
			continue
		}
		if b, bok := d.Boolean(pr.V, p.Key(name)); bok {
			out[name] = b
		} else {
			ok = false
		}
	}
	return out, ok
}

// DecodeExternalID decodes metadata.externalId: a connector id, which may
// be written as an integer.
func (Platform) DecodeExternalID(d manifest.Doc, n *yaml.Node, p manifest.Path) (manifest.Text, bool) {
	t, _, ok := d.IDString(n, p, false)
	return t, ok
}

// NaturalKeyField is where a duplicate natural key is reported.
func (Platform) NaturalKeyField() string { return "spec.name" }

// NaturalKeyTerm names the natural key in errors.
func (Platform) NaturalKeyTerm() string { return "natural key" }

// NaturalKeyPointers is the name.
func (Platform) NaturalKeyPointers() []string { return []string{"/name"} }

// Placeholders are every variable marked secret, even when its value reads
// back null: secrets are write-only here.
func (Platform) Placeholders(spec map[string]any, name string) []manifest.Placeholder {
	var out []manifest.Placeholder
	vars, _ := spec["variables"].(map[string]any)
	for _, k := range manifest.SortedKeys(vars) {
		if v, ok := vars[k].(map[string]any); ok && v["secret"] == true {
			out = append(out, manifest.Placeholder{Env: manifest.EnvFor(name, k), Pointer: syncd.Pointer("variables", k, "value")})
		}
	}
	return out
}

// WithoutSecrets leaves the secret variables out (undeclared variables
// are kept as they are).
func (Platform) WithoutSecrets(spec map[string]any, _ []manifest.Placeholder) (map[string]any, string) {
	spec = maps.Clone(spec)
	vars, _ := spec["variables"].(map[string]any)
	vars = maps.Clone(vars)
	var keys []string
	for k, v := range vars {
		if vm, ok := v.(map[string]any); ok && vm["secret"] == true {
			delete(vars, k)
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	spec["variables"] = vars
	if len(vars) == 0 {
		delete(spec, "variables")
	}
	return spec, "Secret variables not managed (left as they are): " + strings.Join(keys, ", ") +
		"; import with --secrets-as-env to manage them through environment variables."
}

// WriteSpec writes a connector's spec, variables as a list sorted by key.
func (Platform) WriteSpec(spec map[string]any, secrets, _ map[string]string) *yaml.Node {
	n := manifest.Mapping()
	for _, f := range manifestFields {
		v, ok := spec[f]
		if !ok {
			continue
		}
		if f != "variables" {
			n.Content = append(n.Content, manifest.Str(f), manifest.ValueNode(v, "/"+f, secrets))
			continue
		}
		vars, _ := v.(map[string]any)
		list := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, k := range manifest.SortedKeys(vars) {
			vm, _ := vars[k].(map[string]any)
			vn := manifest.Mapping("key", manifest.Str(k))
			base := syncd.Pointer("variables", k)
			for _, vf := range variableFields[1:] {
				fv, ok := vm[vf]
				ptr := base + "/" + vf
				if env, secret := secrets[ptr]; secret {
					vn.Content = append(vn.Content, manifest.Str(vf), manifest.Str("${env:"+env+"}"))
					continue
				}
				if !ok {
					continue
				}
				if vf == "pivot" {
					pm, _ := fv.(map[string]any)
					pn := manifest.Mapping()
					for _, pf := range pivotFields {
						if pv, ok := pm[pf]; ok {
							pn.Content = append(pn.Content, manifest.Str(pf), manifest.ValueNode(pv, ptr+"/"+pf, secrets))
						}
					}
					pn.Style = yaml.FlowStyle
					vn.Content = append(vn.Content, manifest.Str(vf), pn)
					continue
				}
				vn.Content = append(vn.Content, manifest.Str(vf), manifest.ValueNode(fv, ptr, secrets))
			}
			list.Content = append(list.Content, vn)
		}
		n.Content = append(n.Content, manifest.Str("variables"), list)
	}
	return n
}

// IncludeParent: a connector has no includes.
func (Platform) IncludeParent() string { return "" }

// KeyedList: variables are keyed by key.
func (Platform) KeyedList(field string) (string, string, bool) {
	if field == "variables" {
		return "key", "variable", true
	}
	return "", "", false
}

//go:embed schema.json
var schemaDefinitions string

// SchemaDefinitions is the connector's part of the manifest schema.
func (Platform) SchemaDefinitions() string { return strings.TrimSuffix(schemaDefinitions, "\n") }

// SchemaSpec names the spec's definition.
func (Platform) SchemaSpec() string { return "patchworksSpec" }
