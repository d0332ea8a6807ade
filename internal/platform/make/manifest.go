package make

import (
	_ "embed"
	"maps"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/syncd/syncd/internal/platform/manifest"
	"github.com/syncd/syncd/internal/syncd"
)

// The MakeConnection manifest format (manifest.Format): decoding, the import
// writer and the schema part.

// ConnectionTypes are the connection types Make accepts (API-NOTES:
// confirmed).
var ConnectionTypes = []string{"oauth", "oauth-refresh", "oauth-resowncre", "oauth-clicre", "oauth-1", "apikey", "basic", "other"}

// sectionShape is the JSON type each section must have (API-NOTES: confirmed).
var sectionShape = map[string]string{
	"api":         "object or array",
	"parameters":  "array",
	"scopes":      "object",
	"scope":       "array",
	"install":     "object",
	"installSpec": "array",
}

// shapeOK reports whether v has the section's JSON type.
func shapeOK(section string, v any) bool {
	switch v.(type) {
	case map[string]any:
		return strings.Contains(sectionShape[section], "object")
	case []any:
		return strings.Contains(sectionShape[section], "array")
	}
	return false
}

func shapeWord(section string) string {
	return strings.NewReplacer("object", "a mapping (object)", "array", "a list (array)").Replace(sectionShape[section])
}

// DecodeSpec decodes a MakeConnection spec.
func (Platform) DecodeSpec(d manifest.Doc, key, value *yaml.Node, p manifest.Path) (map[string]any, *yaml.Node) {
	f, ok := d.Object(value, p, "app", "type", "label", "connectedSystemName", "sections", "common")
	if !ok {
		return nil, nil
	}
	d.Require(f, p, key, "app", "type", "label")
	spec := map[string]any{}
	var keyAt *yaml.Node
	appOK, labelOK := false, false
	for _, name := range []string{"app", "label"} {
		pr, ok := f.Get(name)
		if !ok {
			continue
		}
		fp := p.Key(name)
		if t, _, ok := d.Str(pr.V, fp, false); ok {
			if t.S == "" {
				d.Errorf(d.Deref(pr.V), fp, "must not be empty")
				continue
			}
			spec[name] = t.S
			if name == "app" {
				appOK = true
			} else {
				labelOK = true
				keyAt = d.Deref(pr.V)
			}
		}
	}
	if !appOK || !labelOK {
		keyAt = nil
	}
	if pr, ok := f.Get("type"); ok {
		if t, ok := d.Enum(pr.V, p.Key("type"), ConnectionTypes); ok {
			spec["type"] = t
		}
	}
	if pr, ok := f.Get("connectedSystemName"); ok {
		if t, null, ok := d.Str(pr.V, p.Key("connectedSystemName"), true); ok {
			if null {
				spec["connectedSystemName"] = nil
			} else {
				spec["connectedSystemName"] = t.S
			}
		}
	}
	if pr, ok := f.Get("sections"); ok {
		sp := p.Key("sections")
		if sf, ok := d.Object(pr.V, sp, Sections...); ok {
			sections := map[string]any{}
			for _, name := range Sections {
				if spr, ok := sf.Get(name); ok {
					if v, ok := section(d, name, spr.V, sp.Key(name)); ok {
						sections[name] = v
					}
				}
			}
			spec["sections"] = sections
		}
	}
	if pr, ok := f.Get("common"); ok {
		cp := p.Key("common")
		cn := d.Deref(pr.V)
		if cn == nil || cn.Kind != yaml.MappingNode {
			d.Errorf(cn, cp, "must be a mapping (Make common data is an object), got %s", d.Describe(cn))
		} else if v, ok := d.Value(cn, cp, SecretName); ok {
			spec["common"] = v
		}
	}
	return spec, keyAt
}

// section decodes one Make section: an inline value, or {$file: path} read
// as JSONC relative to the manifest.
func section(d manifest.Doc, name string, n *yaml.Node, p manifest.Path) (any, bool) {
	dn := d.Deref(n)
	if dn != nil && dn.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(dn.Content); i += 2 {
			if k := d.Deref(dn.Content[i]); k != nil && k.Value == manifest.FileKey {
				return d.IncludeJSONC(dn, p, name, func(v any) string {
					if !shapeOK(name, v) {
						return "must hold " + shapeWord(name)
					}
					return ""
				})
			}
		}
	}
	v, ok := d.Value(n, p, nil)
	if !ok {
		return nil, false
	}
	if !shapeOK(name, v) {
		d.Errorf(dn, p, "must be %s, got %s", shapeWord(name), d.Describe(dn))
		return nil, false
	}
	return v, true
}

// DecodeExternalID decodes metadata.externalId: a connection name.
func (Platform) DecodeExternalID(d manifest.Doc, n *yaml.Node, p manifest.Path) (manifest.Text, bool) {
	t, _, ok := d.Str(n, p, false)
	return t, ok
}

// NaturalKeyField is where a duplicate natural key is reported.
func (Platform) NaturalKeyField() string { return "spec.label" }

// NaturalKeyTerm names the natural key in errors.
func (Platform) NaturalKeyTerm() string { return "natural key (app + label)" }

// NaturalKeyPointers are app and label.
func (Platform) NaturalKeyPointers() []string { return []string{"/app", "/label"} }

// Placeholders are every common value whose key names a secret.
func (Platform) Placeholders(spec map[string]any, name string) []manifest.Placeholder {
	if c, ok := spec["common"].(map[string]any); ok {
		return commonPlaceholders(c, name, "/common", nil, nil)
	}
	return nil
}

func commonPlaceholders(m map[string]any, name, ptr string, trail []string, out []manifest.Placeholder) []manifest.Placeholder {
	for _, k := range manifest.SortedKeys(m) {
		p := ptr + "/" + syncd.EscapePointerToken(k)
		t := append(slices.Clone(trail), k)
		if SecretName(k) {
			out = append(out, manifest.Placeholder{Env: manifest.EnvFor(name, t...), Pointer: p})
			continue
		}
		if sub, ok := m[k].(map[string]any); ok {
			out = commonPlaceholders(sub, name, p, t, out)
		}
	}
	return out
}

// WithoutSecrets leaves common out: it is written as a whole.
func (Platform) WithoutSecrets(spec map[string]any, ph []manifest.Placeholder) (map[string]any, string) {
	spec = maps.Clone(spec)
	delete(spec, "common")
	var keys []string
	for _, p := range ph {
		keys = append(keys, strings.TrimPrefix(p.Pointer, "/common/"))
	}
	return spec, "common is not managed: it holds secrets (" + strings.Join(keys, ", ") +
		") and is written as a whole; import with --secrets-as-env to manage it through environment variables."
}

// WriteSpec writes a connection's spec; a section in files is written as
// {$file: FILE}.
func (Platform) WriteSpec(spec map[string]any, secrets, files map[string]string) *yaml.Node {
	n := manifest.Mapping()
	for _, f := range []string{"app", "type", "label", "connectedSystemName"} {
		if v, ok := spec[f]; ok {
			n.Content = append(n.Content, manifest.Str(f), manifest.ValueNode(v, "/"+f, secrets))
		}
	}
	if sections, ok := spec["sections"].(map[string]any); ok {
		sn := manifest.Mapping()
		for _, s := range Sections {
			v, ok := sections[s]
			if !ok {
				continue
			}
			if f, ok := files[s]; ok && v != nil {
				sn.Content = append(sn.Content, manifest.Str(s), manifest.Mapping(manifest.FileKey, manifest.Str(f)))
				continue
			}
			if v == nil {
				// A legacy empty section reads back as null (API-NOTES);
				// Make treats it as the empty value of its shape.
				v = map[string]any{}
				if sectionShape[s] == "array" {
					v = []any{}
				}
			}
			sn.Content = append(sn.Content, manifest.Str(s), manifest.ValueNode(v, "/sections/"+s, secrets))
		}
		if len(sn.Content) > 0 {
			n.Content = append(n.Content, manifest.Str("sections"), sn)
		}
	}
	if c, ok := spec["common"].(map[string]any); ok {
		n.Content = append(n.Content, manifest.Str("common"), manifest.ValueNode(c, "/common", secrets))
	}
	return n
}

// IncludeParent is sections: each may be {$file: path}.
func (Platform) IncludeParent() string { return "sections" }

// KeyedList: a connection has none.
func (Platform) KeyedList(string) (string, string, bool) { return "", "", false }

//go:embed schema.json
var schemaDefinitions string

// SchemaDefinitions is the connection's part of the manifest schema.
func (Platform) SchemaDefinitions() string { return strings.TrimSuffix(schemaDefinitions, "\n") }

// SchemaSpec names the spec's definition.
func (Platform) SchemaSpec() string { return "makeSpec" }
