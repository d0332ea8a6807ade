package manifest

import (
	"strconv"
	"strings"

	"github.com/syncd/syncd/internal/syncd"
)

// Path names a place in a document twice: as the dotted field path people
// read in errors, and as the JSON pointer into spec ("" outside spec).
type Path struct {
	Field  string
	Ptr    string
	InSpec bool
}

// plainKey reports whether k needs no quoting in a field path
// ([A-Za-z0-9_$-]+). A loop, not a regexp: it runs for every key loaded.
func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c == '-') {
			return false
		}
	}
	return true
}

// Key is the mapping entry k under p. Paths are made for every key
// loaded and read only for errors and secrets, so the new field and
// pointer share one allocation.
func (p Path) Key(k string) Path {
	var b strings.Builder
	if plainKey(k) {
		b.Grow(len(p.Field) + 1 + len(k) + len(p.Ptr) + 1 + len(k))
		b.WriteString(p.Field)
		if p.Field != "" {
			b.WriteByte('.')
		}
		b.WriteString(k)
	} else {
		q := strconv.Quote(k)
		b.Grow(len(p.Field) + 2 + len(q) + len(p.Ptr) + 1 + len(k))
		b.WriteString(p.Field)
		if p.Field != "" {
			b.WriteByte('[')
		}
		b.WriteString(q)
		if p.Field != "" {
			b.WriteByte(']')
		}
	}
	return p.with(&b, k)
}

// Index is a list element whose pointer token is tok (a variable's key, or
// the index itself for plain lists).
func (p Path) Index(i int, tok string) Path {
	var b strings.Builder
	b.Grow(len(p.Field) + 22 + len(p.Ptr) + 1 + len(tok))
	b.WriteString(p.Field)
	b.WriteByte('[')
	var n [20]byte
	b.Write(strconv.AppendInt(n[:0], int64(i), 10))
	b.WriteByte(']')
	return p.with(&b, tok)
}

// with is p's child whose field is b's text so far and whose pointer (in
// spec) ends in tok, escaped: both strings are slices of b's one buffer.
func (p Path) with(b *strings.Builder, tok string) Path {
	field := b.Len()
	if p.InSpec {
		b.WriteString(p.Ptr)
		b.WriteByte('/')
		if strings.ContainsAny(tok, "~/") {
			tok = syncd.EscapePointerToken(tok)
		}
		b.WriteString(tok)
	}
	s := b.String()
	q := p
	q.Field = s[:field]
	if p.InSpec {
		q.Ptr = s[field:]
	}
	return q
}
