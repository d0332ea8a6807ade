package manifest

import (
	"fmt"
	"strconv"

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

// Key is the mapping entry k under p.
func (p Path) Key(k string) Path {
	f := k
	if !plainKey(k) {
		f = strconv.Quote(k)
		if p.Field != "" {
			f = "[" + f + "]"
		}
	} else if p.Field != "" {
		f = "." + k
	}
	q := p
	q.Field = p.Field + f
	if p.InSpec {
		q.Ptr = p.Ptr + "/" + syncd.EscapePointerToken(k)
	}
	return q
}

// Index is a list element whose pointer token is tok (a variable's key, or
// the index itself for plain lists).
func (p Path) Index(i int, tok string) Path {
	q := p
	q.Field = fmt.Sprintf("%s[%d]", p.Field, i)
	if p.InSpec {
		q.Ptr = p.Ptr + "/" + syncd.EscapePointerToken(tok)
	}
	return q
}
