package desired

import (
	"encoding/json"
	"path/filepath"
	"strings"

	"github.com/tailscale/hujson"
	"go.yaml.in/yaml/v4"
)

// MakeConnectionTypes are the connection types Make accepts (API-NOTES:
// confirmed).
var MakeConnectionTypes = []string{"oauth", "oauth-refresh", "oauth-resowncre", "oauth-clicre", "oauth-1", "apikey", "basic", "other"}

// SectionNames are the Make connection sections, in the API's order.
var SectionNames = []string{"api", "parameters", "scopes", "scope", "install", "installSpec"}

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

// FileKey is the key of a section written as {$file: path}.
const FileKey = "$file"

func (d *docState) makeSpec(at pair, p path) (map[string]any, *yaml.Node) {
	f, ok := d.object(at.v, p, "app", "type", "label", "connectedSystemName", "sections", "common")
	if !ok {
		return nil, nil
	}
	d.require(f, p, at.k, "app", "type", "label")
	spec := map[string]any{}
	var keyAt *yaml.Node
	appOK, labelOK := false, false
	for _, name := range []string{"app", "label"} {
		pr, ok := f.get(name)
		if !ok {
			continue
		}
		fp := p.key(name)
		if t, _, ok := d.str(pr.v, fp, false); ok {
			if t.s == "" {
				d.errorf(deref(pr.v), fp, "must not be empty")
				continue
			}
			spec[name] = t.s
			if name == "app" {
				appOK = true
			} else {
				labelOK = true
				keyAt = deref(pr.v)
			}
		}
	}
	if !appOK || !labelOK {
		keyAt = nil
	}
	if pr, ok := f.get("type"); ok {
		if t, ok := d.enum(pr.v, p.key("type"), MakeConnectionTypes); ok {
			spec["type"] = t
		}
	}
	if pr, ok := f.get("connectedSystemName"); ok {
		if t, null, ok := d.str(pr.v, p.key("connectedSystemName"), true); ok {
			if null {
				spec["connectedSystemName"] = nil
			} else {
				spec["connectedSystemName"] = t.s
			}
		}
	}
	if pr, ok := f.get("sections"); ok {
		sp := p.key("sections")
		if sf, ok := d.object(pr.v, sp, SectionNames...); ok {
			sections := map[string]any{}
			for _, name := range SectionNames {
				if spr, ok := sf.get(name); ok {
					if v, ok := d.section(name, spr.v, sp.key(name)); ok {
						sections[name] = v
					}
				}
			}
			spec["sections"] = sections
		}
	}
	if pr, ok := f.get("common"); ok {
		cp := p.key("common")
		cn := deref(pr.v)
		if cn == nil || cn.Kind != yaml.MappingNode {
			d.errorf(cn, cp, "must be a mapping (Make common data is an object), got %s", describe(cn))
		} else if v, ok := d.value(cn, cp, 0, true); ok {
			spec["common"] = v
		}
	}
	return spec, keyAt
}

// section decodes one Make section: an inline value, or {$file: path} read
// as JSONC relative to the manifest.
func (d *docState) section(name string, n *yaml.Node, p path) (any, bool) {
	dn := deref(n)
	if dn != nil && dn.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(dn.Content); i += 2 {
			if k := deref(dn.Content[i]); k != nil && k.Value == FileKey {
				return d.sectionFile(name, dn, p)
			}
		}
	}
	v, ok := d.value(n, p, 0, false)
	if !ok {
		return nil, false
	}
	if !shapeOK(name, v) {
		d.errorf(dn, p, "must be %s, got %s", shapeWord(name), describe(dn))
		return nil, false
	}
	return v, true
}

func (d *docState) sectionFile(name string, n *yaml.Node, p path) (any, bool) {
	f, ok := d.object(n, p, FileKey)
	if !ok || len(f.by) != 1 {
		d.bad = true
		return nil, false
	}
	pr := f.by[FileKey]
	fp := p.key(FileKey)
	t, _, ok := d.str(pr.v, path{field: fp.field}, false) // a path, never a secret reference
	if !ok {
		return nil, false
	}
	if t.s == "" {
		d.errorf(deref(pr.v), fp, "empty path")
		return nil, false
	}
	at := deref(pr.v)
	rel, ok := d.l.inManifests(d.dir, t.s)
	if !ok {
		d.errorf(at, fp, "%q is outside the manifests directory: $file can only include files inside it", t.s)
		return nil, false
	}
	if hiddenPath(rel) {
		// .git/config may hold the CI runner's credentials; the walk skips
		// hidden files, and so does $file.
		d.errorf(at, fp, "%q is a hidden path: $file does not include files whose path has an element starting with a dot", t.s)
		return nil, false
	}
	file := d.l.manifests.display(rel)
	data, err := d.l.readIn(d.l.manifests, rel, d.l.limits.FileBytes, KnobFileBytes, false, false)
	if err != nil {
		d.errorf(at, fp, "cannot read %s: %s", file, d.l.readErrText(err))
		return nil, false
	}
	if line, col, bad := invalidUTF8(data); bad {
		d.errorf(at, fp, "%s:%d:%d: invalid UTF-8: included files must be UTF-8 text", file, line, col)
		return nil, false
	}
	if line, col, deep := jsoncTooDeep(data, maxDepth); deep {
		d.errorf(at, fp, "%s:%d:%d: nested more than %d levels deep", file, line, col, maxDepth)
		return nil, false
	}
	std, err := hujson.Standardize(append([]byte(nil), data...))
	if err != nil {
		d.errorf(at, fp, "%s is not valid JSONC: %s", file, strings.TrimPrefix(err.Error(), "hujson: "))
		return nil, false
	}
	var v any
	if err := json.Unmarshal(std, &v); err != nil {
		d.errorf(at, fp, "%s is not valid JSON: %s", file, err)
		return nil, false
	}
	if !shapeOK(name, v) {
		d.errorf(deref(pr.v), fp, "%s must hold %s", file, shapeWord(name))
		return nil, false
	}
	if d.raw == nil {
		d.raw = map[string]string{}
	}
	d.raw[name] = string(data)
	return v, true
}

// hiddenPath reports whether any element of a clean relative path starts
// with a dot.
func hiddenPath(rel string) bool {
	for _, part := range strings.Split(filepath.ToSlash(rel), "/") {
		if strings.HasPrefix(part, ".") {
			return true
		}
	}
	return false
}
