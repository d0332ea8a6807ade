package desired

import (
	"strings"

	"go.yaml.in/yaml/v4"
)

// quickParse reads the plain block YAML that manifests are written in
// (block mappings and sequences of one-line scalars, with comments) into
// the node tree go.yaml.in/yaml/v4 builds for it, without the library's
// token queue and event stream. It declines (ok=false) anything outside
// that subset, and the library then reads the file: flow collections,
// block scalars, anchors, tags, escapes, multi-line scalars, several
// documents, empty values, duplicate keys, nesting deeper than maxDepth,
// any byte that is not printable ASCII or a newline (so columns are bytes),
// and every plain scalar that could resolve to anything but a string, an
// integer in decimal, true, false or null. Comments are dropped: the loader
// does not read them. What it accepts it must read exactly as
// the library does (kinds, tags, values, styles, lines and columns);
// TestQuickParseIsTheLibrary and FuzzQuickParse hold it to that.
func quickParse(data []byte) (*yaml.Node, bool) {
	var q quick
	return q.parse(data)
}

// parse is quickParse with q's buffers: the loader reads file after file
// with one quick, so the nodes of most files cost no allocation at all.
// Each parse overwrites the nodes of the one before, so the caller must be
// done with a tree before it parses the next file.
func (q *quick) parse(data []byte) (*yaml.Node, bool) {
	for _, c := range data {
		if c < ' ' && c != '\n' || c >= 0x7f {
			return nil, false // tabs, CR, controls and all of Unicode: the library's
		}
	}
	q.i, q.depth, q.marker = 0, 0, 0
	if cap(q.slab) > maxKeptNodes {
		q.slab, q.ptrs = nil, nil // a huge file's; the next is usual
	}
	q.slab, q.ptrs, q.stack = q.slab[:0], q.ptrs[:0], q.stack[:0]
	if !q.split(data) || len(q.lines) == 0 {
		return nil, false
	}
	root, ok := q.block(q.lines[0].indent)
	if !ok || q.i != len(q.lines) {
		return nil, false
	}
	doc := q.node(yaml.Node{Kind: yaml.DocumentNode, Line: root.Line, Column: root.Column, Content: []*yaml.Node{root}})
	if q.marker > 0 {
		doc.Line, doc.Column = q.marker, 1 // the document starts at its "---"
	}
	return doc, true
}

// maxKey is the longest plain key quickParse reads.
const maxKey = 1024

// maxKeptNodes bounds the slab a reader keeps for the next file: a file of
// ten thousand lines is not a manifest, and its nodes go with it.
const maxKeptNodes = 1 << 14

// quickLine is one line that holds content: its number (1-based), its
// indentation in spaces and the text after it.
type quickLine struct {
	no     int
	indent int
	text   string
}

type quick struct {
	lines  []quickLine
	i      int
	depth  int
	marker int // the line of a leading "---"
	// slab holds the nodes and ptrs their Content lists, sized for the
	// file at hand and kept for the next one.
	slab []yaml.Node
	ptrs []*yaml.Node
	// stack holds the children of the collections being read; each
	// collection gets its own list in ptrs when it ends.
	stack []*yaml.Node
}

// children ends the collection whose children start at base in the stack.
func (q *quick) children(base int) []*yaml.Node {
	n := len(q.stack) - base
	if cap(q.ptrs)-len(q.ptrs) < n {
		q.ptrs = make([]*yaml.Node, 0, max(n, 2*len(q.lines)+2, 2*cap(q.ptrs)))
	}
	start := len(q.ptrs)
	q.ptrs = append(q.ptrs, q.stack[base:]...)
	q.stack = q.stack[:base]
	return q.ptrs[start:len(q.ptrs):len(q.ptrs)]
}

// node hands out n's place in the slab. A file whose nodes outgrow it
// (a line can hold up to four) gets a larger one, and the files after it
// reuse that.
func (q *quick) node(n yaml.Node) *yaml.Node {
	if len(q.slab) == cap(q.slab) {
		q.slab = make([]yaml.Node, 0, max(2*len(q.lines)+2, 2*cap(q.slab)))
	}
	q.slab = append(q.slab, n)
	return &q.slab[len(q.slab)-1]
}

// split keeps the lines with content and declines document markers and
// directives other than one leading "---".
func (q *quick) split(data []byte) bool {
	s := string(data)
	// Sized for a usual manifest at once; a hostile file of blank lines
	// costs no more than its content lines.
	if n := min(strings.Count(s, "\n")+1, 256); cap(q.lines) < n {
		q.lines = make([]quickLine, 0, n)
	}
	q.lines = q.lines[:0]
	no := 0
	started := false
	for len(s) > 0 {
		no++
		line := s
		if k := strings.IndexByte(s, '\n'); k >= 0 {
			line, s = s[:k], s[k+1:]
		} else {
			s = ""
		}
		text := strings.TrimLeft(line, " ")
		if text == "" || text[0] == '#' {
			continue
		}
		indent := len(line) - len(text)
		if indent == 0 && (strings.HasPrefix(text, "---") || strings.HasPrefix(text, "...") || text[0] == '%') {
			if started || text != "---" {
				return false
			}
			started = true
			q.marker = no
			continue
		}
		started = true
		q.lines = append(q.lines, quickLine{no: no, indent: indent, text: text})
	}
	return true
}

// block reads the mapping or sequence whose entries start at column
// indent+1 on the current line.
func (q *quick) block(indent int) (*yaml.Node, bool) {
	q.depth++
	defer func() { q.depth-- }()
	if q.depth > maxDepth || q.i >= len(q.lines) || q.lines[q.i].indent != indent {
		return nil, false
	}
	if isEntry(q.lines[q.i].text) {
		return q.sequence(indent)
	}
	return q.mapping(indent)
}

func isEntry(text string) bool {
	return text == "-" || strings.HasPrefix(text, "- ")
}

func (q *quick) sequence(indent int) (*yaml.Node, bool) {
	l := q.lines[q.i]
	seq := q.node(yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: l.no, Column: indent + 1})
	base := len(q.stack)
	for q.i < len(q.lines) && q.lines[q.i].indent == indent && isEntry(q.lines[q.i].text) {
		l := q.lines[q.i]
		rest := strings.TrimLeft(l.text[1:], " ")
		if rest == "" || rest[0] == '#' || isEntry(rest) {
			return nil, false // the entry's value on the next lines, or a nested entry
		}
		// The entry's content starts on this line: a mapping whose first
		// key is here, or a scalar.
		col := indent + len(l.text) - len(rest)
		if mappingKeyAt(rest) {
			q.lines[q.i] = quickLine{no: l.no, indent: col, text: rest}
			m, ok := q.mapping(col)
			if !ok {
				return nil, false
			}
			q.stack = append(q.stack, m)
			continue
		}
		v, ok := q.scalarLine(rest, l.no, col+1)
		if !ok {
			return nil, false
		}
		q.i++
		if q.i < len(q.lines) && q.lines[q.i].indent > indent {
			return nil, false // a scalar that goes on, or content that does not belong
		}
		q.stack = append(q.stack, v)
	}
	seq.Content = q.children(base)
	return seq, true
}

// mappingKeyAt reports whether text starts with a plain key and its ':'.
func mappingKeyAt(text string) bool {
	_, _, ok := splitKey(text)
	return ok
}

// splitKey splits "key: rest" (or "key:") at the first ": ". A key longer
// than maxKey is declined: YAML limits implicit keys to 1024 characters,
// and libyaml and yaml.v3 refuse longer ones (v4 reads them).
func splitKey(text string) (key, rest string, ok bool) {
	for k := 0; k < len(text) && k <= maxKey; k++ {
		switch text[k] {
		case ':': // an empty key is declined by plainScalar
			if k+1 == len(text) {
				return text[:k], "", true
			}
			if text[k+1] == ' ' {
				return text[:k], strings.TrimLeft(text[k+1:], " "), true
			}
		case '#':
			if k > 0 && text[k-1] == ' ' {
				return "", "", false
			}
		case '"', '\'':
			if k == 0 {
				return "", "", false
			}
		case ' ':
			if k+1 < len(text) && text[k+1] == ':' {
				return "", "", false // "key :": the library trims the key
			}
		}
	}
	return "", "", false
}

func (q *quick) mapping(indent int) (*yaml.Node, bool) {
	l := q.lines[q.i]
	m := q.node(yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: l.no, Column: indent + 1})
	base := len(q.stack)
	for q.i < len(q.lines) && q.lines[q.i].indent == indent {
		l := q.lines[q.i]
		key, rest, ok := splitKey(l.text)
		if !ok {
			return nil, false
		}
		k, ok := q.plainScalar(key, l.no, indent+1)
		if !ok {
			return nil, false
		}
		for j := base; j < len(q.stack); j += 2 {
			if q.stack[j].Value == k.Value {
				return nil, false // the library names the duplicate
			}
		}
		var v *yaml.Node
		if rest == "" || rest[0] == '#' {
			// The value is the block on the next lines: more indented, or
			// a sequence at the key's own indentation.
			q.i++
			if q.i >= len(q.lines) {
				return nil, false
			}
			next := q.lines[q.i]
			if next.indent < indent || next.indent == indent && !isEntry(next.text) {
				return nil, false // an empty value: null, left to the library
			}
			if v, ok = q.block(next.indent); !ok {
				return nil, false
			}
		} else {
			col := indent + len(l.text) - len(rest)
			if v, ok = q.scalarLine(rest, l.no, col+1); !ok {
				return nil, false
			}
			q.i++
			if q.i < len(q.lines) && q.lines[q.i].indent > indent {
				return nil, false
			}
		}
		q.stack = append(q.stack, k, v)
	}
	if q.i < len(q.lines) && q.lines[q.i].indent > indent {
		return nil, false
	}
	m.Content = q.children(base)
	return m, true
}

// scalarLine reads a scalar that ends the line, with an optional comment.
func (q *quick) scalarLine(text string, line, col int) (*yaml.Node, bool) {
	switch text[0] {
	case '"':
		end := strings.IndexByte(text[1:], '"')
		if end < 0 || strings.IndexByte(text[1:1+end], '\\') >= 0 {
			return nil, false
		}
		if !onlyComment(text[end+2:]) {
			return nil, false
		}
		return q.node(yaml.Node{Kind: yaml.ScalarNode, Style: yaml.DoubleQuotedStyle, Tag: "!!str", Value: strings.Clone(text[1 : 1+end]), Line: line, Column: col}), true
	case '\'':
		var b strings.Builder
		k := 1
		for {
			end := strings.IndexByte(text[k:], '\'')
			if end < 0 {
				return nil, false
			}
			b.WriteString(text[k : k+end])
			k += end + 1
			if k < len(text) && text[k] == '\'' {
				b.WriteByte('\'')
				k++
				continue
			}
			break
		}
		if !onlyComment(text[k:]) {
			return nil, false
		}
		return q.node(yaml.Node{Kind: yaml.ScalarNode, Style: yaml.SingleQuotedStyle, Tag: "!!str", Value: b.String(), Line: line, Column: col}), true
	}
	value := text
	for k := 1; k < len(text); k++ {
		if text[k] == '#' && text[k-1] == ' ' {
			value = text[:k]
			break
		}
	}
	value = strings.TrimRight(value, " ")
	if strings.Contains(value, ": ") || strings.HasSuffix(value, ":") {
		return nil, false
	}
	return q.plainScalar(value, line, col)
}

// onlyComment reports whether what follows a quoted scalar is nothing or
// a comment.
func onlyComment(rest string) bool {
	t := strings.TrimLeft(rest, " ")
	return t == "" || t[0] == '#' && len(t) < len(rest)
}

// plainScalar resolves a plain scalar's tag, declining every text whose
// resolution is not certain.
func (q *quick) plainScalar(value string, line, col int) (*yaml.Node, bool) {
	if value == "" {
		return nil, false
	}
	n := q.node(yaml.Node{Kind: yaml.ScalarNode, Value: strings.Clone(value), Line: line, Column: col})
	c := value[0]
	switch {
	case c >= '0' && c <= '9':
		if !decimal(value) {
			return nil, false
		}
		n.Tag = "!!int"
		return n, true
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '/' || c == '$':
	default:
		return nil, false
	}
	switch value {
	case "true", "false":
		n.Tag = "!!bool"
		return n, true
	case "null":
		n.Tag = "!!null"
		return n, true
	}
	switch strings.ToLower(value) {
	case "true", "false", "null", "yes", "no", "on", "off", "y", "n", "nan", "inf":
		return nil, false
	}
	n.Tag = "!!str"
	return n, true
}

// decimal reports whether s is an integer in plain decimal that fits in
// an int64 with room: 0, or 1 to 18 digits without a leading zero.
func decimal(s string) bool {
	if len(s) > 18 || len(s) > 1 && s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
