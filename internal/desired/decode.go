package desired

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/syncd/syncd/internal/platform/manifest"
)

// Limits that keep a hostile manifest (an alias bomb, say) from costing
// more than a normal one.
const (
	maxDepth = 64
	// maxNodes bounds how many nodes one document may expand to after
	// aliases are followed.
	maxNodes = 200_000
)

// docState decodes one YAML document. Problems are reported to the loader
// and mark the document bad; decoding goes on so that all are found.
type docState struct {
	l         *loader
	file      string // display path of the manifest
	dir       string // the manifest's directory relative to the manifests directory, for relative references
	bad       bool
	nodes     int
	exhausted bool
	sensitive []string
	raw       map[string]string
}

func (d *docState) errorf(n *yaml.Node, p path, format string, args ...any) {
	d.bad = true
	d.l.addError(d.file, n, p.field, format, args...)
}

// path names a place in the document twice: as the dotted field path people
// read in errors, and as the JSON pointer into spec ("" outside spec).
type path struct {
	field  string
	ptr    string
	inSpec bool
}

// key and index are manifest.Path's (the platforms' decoders use the same).
func (p path) key(k string) path { return pathOf(p.spec().Key(k)) }

// index is a list element whose pointer token is tok (a variable's key, or
// the index itself for plain lists).
func (p path) index(i int, tok string) path { return pathOf(p.spec().Index(i, tok)) }

// plainDecimal reports -?[1-9][0-9]* or 0: an integer every YAML schema
// reads the same way (a leading zero may mean octal, so it is left to yaml).
func plainDecimal(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "0" {
		return true
	}
	if s == "" || s[0] < '1' || s[0] > '9' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// deref follows aliases.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxDepth; i++ {
		n = n.Alias
	}
	return n
}

// describe names what a node is, for "must be X, got Y" messages. It never
// includes the value.
func describe(n *yaml.Node) string {
	n = deref(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!bool":
			return "a boolean"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		case "!!str", "!!timestamp", "!!binary":
			return "a string"
		}
		return "a value tagged " + n.ShortTag()
	}
	return "an unsupported node"
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// isStringTag reports whether a scalar reads as a string. Timestamps and
// binary are kept as their text: JSON has no such types.
func isStringTag(n *yaml.Node) bool {
	switch n.ShortTag() {
	case "!!str", "!!timestamp", "!!binary":
		return true
	}
	return false
}

// pair is one mapping entry.
// pair and fields are the contract's manifest.Pair and manifest.Fields:
// the platforms' decoders get the loader's own, not copies.
type (
	pair   = manifest.Pair
	fields = manifest.Fields
)

// pairs lists a mapping's entries, expanding YAML merge keys (<<) the way
// YAML 1.1 defines them: explicit keys win over merged ones.
func (d *docState) pairs(n *yaml.Node, p path, depth int) []pair {
	out := make([]pair, 0, len(n.Content)/2)
	// Most mappings have a handful of keys: a scan of out finds a repeated
	// one faster than a map, which only larger ones get.
	var seenMap map[string]bool
	if len(n.Content)/2 > 16 {
		seenMap = make(map[string]bool, len(n.Content)/2)
	}
	seen := func(name string) bool {
		if seenMap != nil {
			return seenMap[name]
		}
		for i := range out {
			if out[i].Name == name {
				return true
			}
		}
		return false
	}
	add := func(pr pair) {
		if seenMap != nil {
			seenMap[pr.Name] = true
		}
		out = append(out, pr)
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			d.errorf(n.Content[i], p, "mapping keys must be strings, got %s", describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if isNull(k) {
			d.errorf(k, p, "mapping keys must be strings, got null")
			continue
		}
		name := d.l.shareKey(k.Value)
		if seen(name) {
			d.errorf(k, p.key(name), "duplicate key %q", name)
			continue
		}
		add(pair{Name: name, K: k, V: v})
	}
	if depth > maxDepth {
		if len(merges) > 0 {
			d.errorf(n, p, "merge keys nested too deeply")
		}
		return out
	}
	for _, m := range merges {
		if !d.spend(1, m, p) {
			return out
		}
		var sources []*yaml.Node
		md := deref(m)
		switch {
		case md != nil && md.Kind == yaml.MappingNode:
			sources = []*yaml.Node{md}
		case md != nil && md.Kind == yaml.SequenceNode:
			for _, s := range md.Content {
				sources = append(sources, deref(s))
			}
		}
		for _, s := range sources {
			if s == nil || s.Kind != yaml.MappingNode {
				d.errorf(m, p, "a merge key (<<) needs a mapping or a list of mappings")
				continue
			}
			if !d.spend(len(s.Content)/2, s, p) {
				return out
			}
			for _, pr := range d.pairs(s, p, depth+1) {
				if !seen(pr.Name) {
					if seenMap == nil && len(out) >= 16 {
						seenMap = make(map[string]bool, 2*len(out))
						for _, o := range out {
							seenMap[o.Name] = true
						}
					}
					add(pr)
				}
			}
		}
	}
	return out
}

// spend charges k nodes to the document's budget and reports, once, when
// it runs out: aliases and merge keys can make a small file expand
// exponentially.
func (d *docState) spend(k int, n *yaml.Node, p path) bool {
	d.nodes += k
	if d.nodes <= maxNodes {
		return true
	}
	if !d.exhausted {
		d.exhausted = true
		d.errorf(n, p, "document expands to more than %d values (aliases or merge keys?)", maxNodes)
	}
	return false
}

// object decodes a mapping with a fixed set of fields, reporting every
// unknown one. ok is false when n is not a mapping.
func (d *docState) object(n *yaml.Node, p path, known ...string) (fields, bool) {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		d.errorf(n, p, "must be a mapping, got %s", describe(n))
		return fields{}, false
	}
	all := d.pairs(n, p, 0)
	f := fields{N: n, Pairs: all[:0]} // pairs are unique by name
	for _, pr := range all {
		if !slices.Contains(known, pr.Name) {
			d.errorf(pr.K, p.key(pr.Name), "unknown field %q (known fields: %s)", pr.Name, strings.Join(known, ", "))
			continue
		}
		f.Pairs = append(f.Pairs, pr)
	}
	return f, true
}

// require reports every listed field the mapping lacks, at the key that
// holds the mapping (where a reader looks for it), or at the mapping itself
// when it has no key (a document, a list item).
func (d *docState) require(f fields, p path, at *yaml.Node, names ...string) {
	if at == nil {
		at = f.N
	}
	for _, name := range names {
		if _, ok := f.Get(name); !ok {
			d.errorf(at, p.key(name), "required field is missing")
		}
	}
}

// markSensitive records ptr as secret.
func (d *docState) markSensitive(ptr string) {
	if ptr != "" {
		d.sensitive = append(d.sensitive, ptr)
	}
}

// text is a decoded string scalar; secret when it came from a reference.
type text struct {
	s      string
	secret bool
}

// str decodes a string. With nullable, YAML null gives ok with null set.
// In spec, a secret reference is resolved here.
func (d *docState) str(n *yaml.Node, p path, nullable bool) (t text, null, ok bool) {
	n = deref(n)
	if nullable && isNull(n) {
		return text{}, true, true
	}
	if n == nil || n.Kind != yaml.ScalarNode || !isStringTag(n) {
		want := "a string"
		if nullable {
			want = "a string or null"
		}
		d.errorf(n, p, "must be %s, got %s", want, describe(n))
		return text{}, false, false
	}
	return d.resolve(n, p, n.Value)
}

// idString decodes a field that the API types as a string but whose values
// are numeric ids: a YAML integer is accepted and kept as its decimal text.
func (d *docState) idString(n *yaml.Node, p path, nullable bool) (t text, null, ok bool) {
	dn := deref(n)
	if dn != nil && dn.Kind == yaml.ScalarNode && dn.ShortTag() == "!!int" {
		v, ok := d.intValue(dn, p)
		if !ok {
			return text{}, false, false
		}
		return text{s: strconv.FormatFloat(v, 'f', -1, 64)}, false, true
	}
	if dn == nil || dn.Kind != yaml.ScalarNode || !(isStringTag(dn) || nullable && isNull(dn)) {
		want := "a string or an integer"
		if nullable {
			want = "a string, an integer or null"
		}
		d.errorf(dn, p, "must be %s, got %s", want, describe(dn))
		return text{}, false, false
	}
	return d.str(dn, p, nullable)
}

// intValue decodes a YAML integer scalar as the float64 encoding/json uses.
func (d *docState) intValue(n *yaml.Node, p path) (float64, bool) {
	if plainDecimal(n.Value) {
		if i, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
			return float64(i), true // no decoder needed
		}
	}
	var v any
	if err := n.Decode(&v); err != nil {
		d.errorf(n, p, "is not a valid integer")
		return 0, false
	}
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float64:
		return x, true
	}
	d.errorf(n, p, "is not a valid integer")
	return 0, false
}

// integer decodes an integer field; nullable accepts null.
func (d *docState) integer(n *yaml.Node, p path, nullable bool) (v any, ok bool) {
	n = deref(n)
	if nullable && isNull(n) {
		return nil, true
	}
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		want := "an integer"
		if nullable {
			want = "an integer or null"
		}
		d.errorf(n, p, "must be %s, got %s", want, describe(n))
		return nil, false
	}
	f, ok := d.intValue(n, p)
	if !ok {
		return nil, false
	}
	return f, true
}

func (d *docState) boolean(n *yaml.Node, p path) (bool, bool) {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		d.errorf(n, p, "must be a boolean (true or false), got %s", describe(n))
		return false, false
	}
	switch n.Value { // the common spellings, without building a decoder
	case "true":
		return true, true
	case "false":
		return false, true
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		d.errorf(n, p, "must be a boolean (true or false)")
		return false, false
	}
	return b, true
}

// enum decodes a string that must be one of allowed. The value is quoted in
// the error only when it did not come from a secret reference.
func (d *docState) enum(n *yaml.Node, p path, allowed []string) (string, bool) {
	t, _, ok := d.str(n, p, false)
	if !ok {
		return "", false
	}
	if !slices.Contains(allowed, t.s) {
		if t.secret {
			d.errorf(deref(n), p, "the referenced value is not one of %s", strings.Join(allowed, ", "))
		} else {
			d.errorf(deref(n), p, "%q is not one of %s", t.s, strings.Join(allowed, ", "))
		}
		return "", false
	}
	return t.s, true
}

// value decodes any YAML value into its canonical JSON form. Secret
// references are resolved; with secretKey, entries whose key it accepts
// are marked sensitive (a platform's rule, such as Make common data's). No error here quotes a scalar value.
func (d *docState) value(n *yaml.Node, p path, depth int, secretKey func(string) bool) (any, bool) {
	n = deref(n)
	if !d.spend(1, n, p) {
		return nil, false
	}
	if depth > maxDepth {
		d.errorf(n, p, "nested more than %d levels deep", maxDepth)
		return nil, false
	}
	if n == nil {
		d.errorf(nil, p, "unresolvable alias")
		return nil, false
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		ok := true
		for _, pr := range d.pairs(n, p, 0) {
			cp := p.key(pr.Name)
			v, vok := d.value(pr.V, cp, depth+1, secretKey)
			ok = ok && vok
			m[pr.Name] = v
			if secretKey != nil && secretKey(pr.Name) {
				d.markSensitive(cp.ptr)
			}
		}
		return m, ok
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		ok := true
		for i, c := range n.Content {
			v, vok := d.value(c, p.index(i, strconv.Itoa(i)), depth+1, secretKey)
			ok = ok && vok
			s = append(s, v)
		}
		return s, ok
	case yaml.ScalarNode:
		return d.scalar(n, p)
	}
	d.errorf(n, p, "unsupported YAML node")
	return nil, false
}

func (d *docState) scalar(n *yaml.Node, p path) (any, bool) {
	switch tag := n.ShortTag(); tag {
	case "!!null":
		return nil, true
	case "!!bool":
		b, ok := d.boolean(n, p)
		return b, ok
	case "!!int":
		return d.intValue(n, p)
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			d.errorf(n, p, "is not a valid number")
			return nil, false
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			d.errorf(n, p, "NaN and infinity cannot be represented in JSON")
			return nil, false
		}
		return f, true
	default:
		if !isStringTag(n) {
			d.errorf(n, p, "unsupported YAML tag %s", tag)
			return nil, false
		}
		t, _, ok := d.resolve(n, p, n.Value)
		if !ok || t.secret {
			return t.s, ok
		}
		return d.l.share(t.s), true
	}
}
