package desired

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tailscale/hujson"
	"go.yaml.in/yaml/v4"

	"github.com/syncd/syncd/internal/syncd"
)

// Edit sets (or, with Remove, deletes) the value at Pointer, a JSON pointer
// into a resource's spec as plans name fields (Patchworks variables by key).
type Edit struct {
	Pointer string
	Value   any
	Remove  bool
}

// AcceptLive writes into the manifest of d the live values (from live, the
// live object's spec) at each pointer, removing what live does not have.
// See EditResource.
func AcceptLive(d *syncd.Desired, live map[string]any, pointers []string) (map[string][]byte, error) {
	var edits []Edit
	for _, p := range pointers {
		v, ok := lookup(live, syncd.SplitPointer(p))
		edits = append(edits, Edit{Pointer: p, Value: v, Remove: !ok})
	}
	return EditResource(d, live, edits)
}

func lookup(v any, toks []string) (any, bool) {
	for _, t := range toks {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[t]; !ok {
				return nil, false
			}
		case []any:
			n, err := strconv.Atoi(t)
			if err != nil || n < 0 || n >= len(x) {
				return nil, false
			}
			v = x[n]
		default:
			return nil, false
		}
	}
	return v, true
}

// EditResource applies edits to the manifest file of d (and to the $file
// JSONC files of its Make sections), touching only the text of the values
// it changes: comments, key order and layout stay. A change inside a list
// rewrites the list with its value in live (the live spec). It returns
// the new contents of every file it changed, by path; it writes nothing. A
// value written as an ${env:} or ${file:} reference is never replaced (the
// reference stays): that is an error, as is a path the manifest cannot hold.
func EditResource(d *syncd.Desired, live map[string]any, edits []Edit) (map[string][]byte, error) {
	path := filepath.FromSlash(d.Source.File)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f := &yamlFile{lines: strings.SplitAfter(string(data), "\n")}
	out := map[string][]byte{}
	for _, e := range edits {
		// Parse again for each edit: line numbers move as lines change.
		spec, err := f.spec(d)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		toks := syncd.SplitPointer(e.Pointer)
		if inc := includeParent(d.Key.Kind); inc != "" && len(toks) >= 2 && toks[0] == inc {
			if file, ok := sectionFileOf(spec, toks[1]); ok {
				jp := filepath.Join(filepath.Dir(path), filepath.FromSlash(file))
				old, ok := out[jp]
				if !ok {
					if old, err = os.ReadFile(jp); err != nil {
						return nil, err
					}
				}
				b, err := editJSONC(old, toks[2:], e)
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", jp, e.Pointer, err)
				}
				out[jp] = b
				continue
			}
		}
		if err := f.edit(spec, d.Key.Kind, toks, e, live); err != nil {
			return nil, fmt.Errorf("%s: spec%s: %w", path, e.Pointer, err)
		}
		out[path] = []byte(strings.Join(f.lines, ""))
	}
	return out, nil
}

// yamlFile is a manifest file as lines (each with its newline).
type yamlFile struct {
	lines []string
}

// spec finds d's document and returns its spec node.
func (f *yamlFile) spec(d *syncd.Desired) (*yaml.Node, error) {
	dec := yaml.NewDecoder(strings.NewReader(strings.Join(f.lines, "")))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("no document for %s", d.Key)
		}
		if err != nil {
			return nil, err
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue
		}
		top := doc.Content[0]
		_, kind := mapGet(top, "kind")
		_, meta := mapGet(top, "metadata")
		if kind == nil || meta == nil || kind.Value != string(d.Key.Kind) {
			continue
		}
		if _, name := mapGet(meta, "name"); name != nil && name.Value == d.Key.Name {
			if _, spec := mapGet(top, "spec"); spec != nil && spec.Kind == yaml.MappingNode {
				return spec, nil
			}
			return nil, errors.New("spec is not a mapping")
		}
	}
}

func mapGet(m *yaml.Node, key string) (k, v *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

func sectionFileOf(spec *yaml.Node, section string) (string, bool) {
	_, secs := mapGet(spec, "sections")
	_, s := mapGet(secs, section)
	if _, f := mapGet(s, FileKey); f != nil && f.Kind == yaml.ScalarNode {
		return f.Value, true
	}
	return "", false
}

// edit applies one edit below spec.
func (f *yamlFile) edit(spec *yaml.Node, kind syncd.Kind, toks []string, e Edit, live map[string]any) error {
	if len(toks) == 0 {
		return errors.New("cannot replace the whole spec")
	}
	parent := spec
	var parentK *yaml.Node // the key whose value parent is
	var grand *yaml.Node   // the mapping holding parentK
	whole := func(i int) error {
		// A change inside a list: write the list whole, from live.
		if parentK == nil || grand == nil {
			return fmt.Errorf("a change inside the list at %s cannot be written", syncd.Pointer(toks[:i]...))
		}
		v, ok := lookup(live, toks[:i])
		if !ok {
			return f.remove(grand, parentK, parent)
		}
		return f.replace(grand, parentK, parent, v)
	}
	for i, tok := range toks {
		last := i == len(toks)-1
		switch parent.Kind {
		case yaml.MappingNode:
			k, v := mapGet(parent, tok)
			if k == nil {
				if e.Remove {
					return nil // already absent
				}
				return f.insert(parent, tok, nestUnder(e.Value, toks[i+1:]))
			}
			if isReference(v) {
				return errors.New("written as a secret reference: the reference stays")
			}
			if last {
				if e.Remove {
					return f.remove(parent, k, v)
				}
				return f.replace(parent, k, v, e.Value)
			}
			grand, parentK, parent = parent, k, v
		case yaml.SequenceNode:
			var item *yaml.Node
			if keyField, noun, keyed := keyedList(kind, toks[0]); keyed && i == 1 {
				for _, it := range parent.Content {
					if _, kv := mapGet(it, keyField); kv != nil && kv.Value == tok {
						item = it
					}
				}
				if item == nil {
					return fmt.Errorf("no %s %q in the manifest", noun, tok)
				}
				if last {
					return fmt.Errorf("cannot replace a whole %s", noun)
				}
			} else {
				n, err := strconv.Atoi(tok)
				if err != nil || n < 0 || n >= len(parent.Content) || last || parent.Content[n].Kind != yaml.MappingNode {
					return whole(i)
				}
				item = parent.Content[n]
			}
			grand, parentK, parent = nil, nil, item
		default:
			return whole(i)
		}
	}
	return nil
}

// nestUnder wraps v in maps for the missing keys rest (an insert of a
// nested value whose parents are missing).
func nestUnder(v any, rest []string) any {
	for i := len(rest) - 1; i >= 0; i-- {
		v = map[string]any{rest[i]: v}
	}
	return v
}

func isReference(n *yaml.Node) bool {
	if n == nil || n.Kind != yaml.ScalarNode {
		return false
	}
	s := strings.TrimSpace(n.Value)
	return strings.HasPrefix(s, "${env:") || strings.HasPrefix(s, "${file:")
}

func indentOf(line string) int { return len(line) - len(strings.TrimLeft(line, " ")) }

func blankOrComment(line string) bool {
	t := strings.TrimSpace(line)
	return t == "" || strings.HasPrefix(t, "#")
}

// entryEnd is the 0-based index after the last line of the block-mapping
// entry whose key is k: the lines indented deeper than the key (or, for a
// list value, its "- " items at the key's own indentation), less trailing
// blank and comment lines, which belong to what follows.
func (f *yamlFile) entryEnd(k, v *yaml.Node) int {
	keyIndent := k.Column - 1
	end := k.Line // 0-based index of the line after the key's
	for i := k.Line; i < len(f.lines); i++ {
		line := f.lines[i]
		ind := indentOf(line)
		switch {
		case blankOrComment(line):
			continue
		case ind > keyIndent:
		case ind == keyIndent && v.Kind == yaml.SequenceNode && strings.HasPrefix(strings.TrimLeft(line, " "), "-"):
		default:
			return end
		}
		end = i + 1
	}
	return end
}

// replace sets the value of entry k: v in mapping m.
func (f *yamlFile) replace(m, k, v *yaml.Node, value any) error {
	flowParent := m.Style&yaml.FlowStyle != 0
	singleLine := v.Kind == yaml.ScalarNode && v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0 && !strings.Contains(v.Value, "\n") ||
		v.Style&yaml.FlowStyle != 0 && v.Line == k.Line
	if singleLine {
		li := v.Line - 1
		line := f.lines[li]
		start := runeCol(line, v.Column)
		end, ok := tokenEnd(line, start, flowParent)
		if ok {
			text := inlineText(value, flowParent || v.Style&yaml.FlowStyle != 0, v.Style)
			f.lines[li] = line[:start] + text + line[end:]
			return nil
		}
	}
	if flowParent {
		return errors.New("inside a flow mapping ({...}) that spans lines: edit it by hand")
	}
	// A block value: rewrite the entry's lines, at the key's indentation.
	end := f.entryEnd(k, v)
	text, err := blockEntry(k.Value, value, k.Column-1)
	if err != nil {
		return err
	}
	// Keep what precedes the key on its line ("- " of a list item).
	text = f.lines[k.Line-1][:runeCol(f.lines[k.Line-1], k.Column)] + text[k.Column-1:]
	f.lines = append(f.lines[:k.Line-1], append([]string{text}, f.lines[end:]...)...)
	return nil
}

// insert adds key: value at the end of block mapping m.
func (f *yamlFile) insert(m *yaml.Node, key string, value any) error {
	if m.Style&yaml.FlowStyle != 0 || len(m.Content) == 0 {
		return fmt.Errorf("cannot add %q to a flow or empty mapping: edit it by hand", key)
	}
	lastK, lastV := m.Content[len(m.Content)-2], m.Content[len(m.Content)-1]
	end := f.entryEnd(lastK, lastV)
	text, err := blockEntry(key, value, lastK.Column-1)
	if err != nil {
		return err
	}
	f.lines = append(f.lines[:end], append([]string{text}, f.lines[end:]...)...)
	if end > 0 && !strings.HasSuffix(f.lines[end-1], "\n") {
		f.lines[end-1] += "\n"
	}
	return nil
}

// remove deletes entry k: v from block mapping m.
func (f *yamlFile) remove(m, k, v *yaml.Node) error {
	if m.Style&yaml.FlowStyle != 0 {
		return errors.New("cannot remove a key of a flow mapping ({...}): edit it by hand")
	}
	line := f.lines[k.Line-1]
	if strings.TrimLeft(line, " ")[0] == '-' {
		return errors.New("cannot remove the first key of a list item: edit it by hand")
	}
	f.lines = append(f.lines[:k.Line-1], f.lines[f.entryEnd(k, v):]...)
	return nil
}

// runeCol turns yaml's 1-based column (in runes) into a byte offset.
func runeCol(line string, col int) int {
	n := 0
	for i := range line {
		if n == col-1 {
			return i
		}
		n++
	}
	return len(line)
}

// tokenEnd finds where the single-line value starting at start ends: a
// quoted scalar at its closing quote, a flow collection at its matching
// bracket, a plain scalar before a comment or the end of the line (or,
// inside a flow collection, its next , } or ]).
func tokenEnd(line string, start int, inFlow bool) (int, bool) {
	s := line[start:]
	switch {
	case strings.HasPrefix(s, `"`):
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case '"':
				return start + i + 1, true
			}
		}
		return 0, false
	case strings.HasPrefix(s, "'"):
		for i := 1; i < len(s); i++ {
			if s[i] == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					i++
					continue
				}
				return start + i + 1, true
			}
		}
		return 0, false
	case strings.HasPrefix(s, "{"), strings.HasPrefix(s, "["):
		depth, quote := 0, byte(0)
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case quote != 0:
				if c == '\\' && quote == '"' {
					i++
				} else if c == quote {
					quote = 0
				}
			case c == '"' || c == '\'':
				quote = c
			case c == '{' || c == '[':
				depth++
			case c == '}' || c == ']':
				depth--
				if depth == 0 {
					return start + i + 1, true
				}
			}
		}
		return 0, false
	}
	end := len(s)
	if i := strings.Index(s, " #"); i >= 0 {
		end = i
	}
	if i := strings.IndexAny(s, ",}]"); inFlow && i >= 0 && i < end {
		end = i
	}
	if i := strings.IndexAny(s, "\r\n"); i >= 0 && i < end {
		end = i
	}
	return start + len(strings.TrimRight(s[:end], " \t")), true
}

// inlineText renders value on one line: JSON for collections, null and
// inside flow collections (JSON is YAML flow), else YAML's own plain or
// quoted form.
func inlineText(value any, flow bool, style yaml.Style) string {
	switch value.(type) {
	case map[string]any, []any, nil:
		flow = true
	case string:
		// Keep the quoting the file used.
		switch {
		case style&yaml.DoubleQuotedStyle != 0:
			flow = true // a JSON string is a YAML double-quoted one
		case style&yaml.SingleQuotedStyle != 0 && !strings.ContainsAny(value.(string), "\n"):
			return "'" + strings.ReplaceAll(value.(string), "'", "''") + "'"
		}
	}
	if !flow {
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		if err := enc.Encode(valueNode(value, "", nil)); err == nil && enc.Close() == nil {
			if t := strings.TrimSuffix(buf.String(), "\n"); !strings.Contains(t, "\n") && !strings.HasPrefix(t, "|") && !strings.HasPrefix(t, ">") {
				return t
			}
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(value)
	return strings.TrimSuffix(b.String(), "\n")
}

// blockEntry renders "key: value" in block style at indent.
func blockEntry(key string, value any, indent int) (string, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(mapping(key, valueNode(value, "", nil))); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	pad := strings.Repeat(" ", indent)
	var b strings.Builder
	for _, l := range strings.SplitAfter(buf.String(), "\n") {
		if l != "" {
			b.WriteString(pad + l)
		}
	}
	return b.String(), nil
}

// editJSONC applies e at toks inside a JSONC section's text with an RFC
// 6902 patch, which keeps every comment and the layout around it.
func editJSONC(text []byte, toks []string, e Edit) ([]byte, error) {
	if len(toks) == 0 {
		if e.Remove {
			return nil, errors.New("cannot remove a whole section")
		}
		b, err := json.MarshalIndent(e.Value, "", "  ")
		return append(b, '\n'), err
	}
	v, err := hujson.Parse(text)
	if err != nil {
		return nil, err
	}
	ptr := syncd.Pointer(toks...)
	probe := v.Clone()
	has := probe.Find(ptr) != nil
	var op map[string]any
	switch {
	case e.Remove && !has:
		return text, nil
	case e.Remove:
		op = map[string]any{"op": "remove", "path": ptr}
	case has:
		op = map[string]any{"op": "replace", "path": ptr, "value": e.Value}
	default:
		op = map[string]any{"op": "add", "path": ptr, "value": e.Value}
	}
	patch, err := json.Marshal([]any{op})
	if err != nil {
		return nil, err
	}
	if err := v.Patch(patch); err != nil {
		return nil, err
	}
	return v.Pack(), nil
}
