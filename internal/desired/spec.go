package desired

import (
	"encoding/json"
	"path/filepath"
	"strings"

	"github.com/tailscale/hujson"
	"go.yaml.in/yaml/v4"

	"github.com/syncd/syncd/internal/platform/manifest"
)

// FileKey is the key of a section written as {$file: path}.
const FileKey = manifest.FileKey

// specDoc is what a platform's manifest.Format sees of a document: the
// loader's own decoding, with paths and fields in the contract's types.
type specDoc struct{ d *docState }

var _ manifest.Doc = specDoc{}

// spec is p as the contract's manifest.Path; pathOf is the reverse.
func (p path) spec() manifest.Path {
	return manifest.Path{Field: p.field, Ptr: p.ptr, InSpec: p.inSpec}
}

func pathOf(p manifest.Path) path { return path{field: p.Field, ptr: p.Ptr, inSpec: p.InSpec} }

func textOf(t text) manifest.Text { return manifest.Text{S: t.s, Secret: t.secret} }

func (s specDoc) Errorf(n *yaml.Node, p manifest.Path, format string, args ...any) {
	s.d.errorf(n, pathOf(p), format, args...)
}

func (s specDoc) Object(n *yaml.Node, p manifest.Path, known ...string) (manifest.Fields, bool) {
	return s.d.object(n, pathOf(p), known...)
}

func (s specDoc) Require(f manifest.Fields, p manifest.Path, at *yaml.Node, names ...string) {
	s.d.require(f, pathOf(p), at, names...)
}

func (s specDoc) Str(n *yaml.Node, p manifest.Path, nullable bool) (manifest.Text, bool, bool) {
	t, null, ok := s.d.str(n, pathOf(p), nullable)
	return textOf(t), null, ok
}

func (s specDoc) IDString(n *yaml.Node, p manifest.Path, nullable bool) (manifest.Text, bool, bool) {
	t, null, ok := s.d.idString(n, pathOf(p), nullable)
	return textOf(t), null, ok
}

func (s specDoc) Integer(n *yaml.Node, p manifest.Path, nullable bool) (any, bool) {
	return s.d.integer(n, pathOf(p), nullable)
}

func (s specDoc) Boolean(n *yaml.Node, p manifest.Path) (bool, bool) {
	return s.d.boolean(n, pathOf(p))
}

func (s specDoc) Enum(n *yaml.Node, p manifest.Path, allowed []string) (string, bool) {
	return s.d.enum(n, pathOf(p), allowed)
}

func (s specDoc) Value(n *yaml.Node, p manifest.Path, secretKey func(string) bool) (any, bool) {
	return s.d.value(n, pathOf(p), 0, secretKey)
}

func (s specDoc) MarkSensitive(ptr string) { s.d.markSensitive(ptr) }

func (s specDoc) Deref(n *yaml.Node) *yaml.Node { return deref(n) }
func (s specDoc) Describe(n *yaml.Node) string  { return describe(n) }
func (s specDoc) IsNull(n *yaml.Node) bool      { return isNull(n) }
func (s specDoc) IsStringTag(n *yaml.Node) bool { return isStringTag(n) }

// IncludeJSONC reads {$file: path} as JSONC relative to the manifest.
func (s specDoc) IncludeJSONC(n *yaml.Node, mp manifest.Path, rawKey string, check func(any) string) (any, bool) {
	d, p := s.d, pathOf(mp)
	f, ok := d.object(n, p, FileKey)
	if !ok || len(f.Pairs) != 1 {
		d.bad = true
		return nil, false
	}
	pr := f.Pairs[0] // object keeps only known fields: this is $file
	fp := p.key(FileKey)
	t, _, ok := d.str(pr.V, path{field: fp.field}, false) // a path, never a secret reference
	if !ok {
		return nil, false
	}
	if t.s == "" {
		d.errorf(deref(pr.V), fp, "empty path")
		return nil, false
	}
	at := deref(pr.V)
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
	if problem := check(v); problem != "" {
		d.errorf(deref(pr.V), fp, "%s %s", file, problem)
		return nil, false
	}
	if d.raw == nil {
		d.raw = map[string]string{}
	}
	d.raw[rawKey] = string(data)
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
