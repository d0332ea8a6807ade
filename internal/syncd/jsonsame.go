package syncd

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// SameJSON reports whether text is plain JSON whose value, decoded by
// encoding/json into an any, ShareDesired would replace whole by desired:
// the same keys, elements, strings, float64s (sign of zero included),
// booleans and nulls. A client that reads a value it expects to match
// its manifest then takes desired itself, without building a copy only to
// throw it away (a large estate in sync reads tens of thousands).
//
// It reads the text once and allocates nothing. It says false for
// anything it does not read exactly as encoding/json does, and the caller
// then decodes as before: text that is not UTF-8, \u escapes, a number
// strconv refuses, a duplicate key, nesting past maxSameDepth, comments
// and trailing commas (JSONC), and everything that is not JSON. False is
// therefore "decode and see", never "different".
func SameJSON(text []byte, desired any) bool {
	if !utf8.Valid(text) {
		return false
	}
	s := sameReader{b: text}
	s.space()
	if !s.value(desired, 0) {
		return false
	}
	s.space()
	return s.i == len(s.b)
}

// maxSameDepth bounds SameJSON's recursion; deeper text is decoded.
const maxSameDepth = 64

// maxSameKeys bounds an object's keys, each checked against those before
// it for a duplicate (encoding/json keeps the last of duplicates).
const maxSameKeys = 64

type sameReader struct {
	b []byte
	i int
}

func (s *sameReader) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value reads one value at s.i and reports whether it equals want.
func (s *sameReader) value(want any, depth int) bool {
	if s.i >= len(s.b) || depth > maxSameDepth {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '{':
		m, ok := want.(map[string]any)
		return ok && m != nil && s.object(m, depth)
	case c == '[':
		l, ok := want.([]any)
		return ok && l != nil && s.array(l, depth)
	case c == '"':
		w, ok := want.(string)
		return ok && s.str(w)
	case c == 't':
		w, ok := want.(bool)
		return ok && w && s.word("true")
	case c == 'f':
		w, ok := want.(bool)
		return ok && !w && s.word("false")
	case c == 'n':
		return want == nil && s.word("null")
	case c == '-' || c >= '0' && c <= '9':
		w, ok := want.(float64)
		return ok && s.number(w)
	}
	return false
}

func (s *sameReader) word(w string) bool {
	if len(s.b)-s.i < len(w) || string(s.b[s.i:s.i+len(w)]) != w {
		return false
	}
	s.i += len(w)
	return true
}

func (s *sameReader) object(want map[string]any, depth int) bool {
	s.i++ // {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return len(want) == 0
	}
	var keys [maxSameKeys][2]int // offsets of the keys read, for duplicates
	n := 0
	for {
		if n == maxSameKeys || s.i >= len(s.b) || s.b[s.i] != '"' {
			return false
		}
		start := s.i + 1
		end, ok := s.plainString()
		if !ok {
			return false
		}
		key := s.b[start:end]
		for _, k := range keys[:n] {
			if string(s.b[k[0]:k[1]]) == string(key) {
				return false
			}
		}
		keys[n] = [2]int{start, end}
		n++
		w, ok := want[string(key)]
		if !ok {
			return false
		}
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		s.space()
		if !s.value(w, depth+1) {
			return false
		}
		if more, ok := s.after('}'); !ok || !more {
			return ok && n == len(want)
		}
	}
}

// after reads what follows a member of an object or list: a comma (more
// members) or its closing bracket.
func (s *sameReader) after(closing byte) (more, ok bool) {
	s.space()
	if s.i >= len(s.b) {
		return false, false
	}
	switch s.b[s.i] {
	case ',':
		s.i++
		s.space()
		return true, true
	case closing:
		s.i++
		return false, true
	}
	return false, false
}

func (s *sameReader) array(want []any, depth int) bool {
	s.i++ // [
	s.space()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return len(want) == 0
	}
	for k := 0; ; k++ {
		if k >= len(want) || !s.value(want[k], depth+1) {
			return false
		}
		if more, ok := s.after(']'); !ok || !more {
			return ok && k+1 == len(want)
		}
	}
}

// plainString reads a string without escapes or control characters from
// its opening quote at s.i, and returns where its text ends.
func (s *sameReader) plainString() (int, bool) {
	for j := s.i + 1; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			return j, true
		case c == '\\' || c < 0x20:
			return 0, false
		}
	}
	return 0, false
}

// str reads a string and compares it with want. The escapes that stand
// for one byte are read; \u escapes are left to the decoder.
func (s *sameReader) str(want string) bool {
	w := 0 // bytes of want matched so far
	for j := s.i + 1; j < len(s.b); j++ {
		c := s.b[j]
		switch {
		case c == '"':
			s.i = j + 1
			return w == len(want)
		case c < 0x20:
			return false
		case c == '\\':
			j++
			if j >= len(s.b) {
				return false
			}
			switch s.b[j] {
			case '"', '\\', '/':
				c = s.b[j]
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			default:
				return false
			}
		}
		if w >= len(want) || want[w] != c {
			return false
		}
		w++
	}
	return false
}

// number reads a JSON number and compares it, as strconv.ParseFloat reads
// it (encoding/json's way), with want.
func (s *sameReader) number(want float64) bool {
	j := s.i
	if j < len(s.b) && s.b[j] == '-' {
		j++
	}
	switch {
	case j < len(s.b) && s.b[j] == '0':
		j++
	case j < len(s.b) && s.b[j] >= '1' && s.b[j] <= '9':
		j = s.digits(j)
	default:
		return false
	}
	if j < len(s.b) && s.b[j] == '.' {
		k := s.digits(j + 1)
		if k == j+1 {
			return false
		}
		j = k
	}
	if j < len(s.b) && (s.b[j] == 'e' || s.b[j] == 'E') {
		j++
		if j < len(s.b) && (s.b[j] == '+' || s.b[j] == '-') {
			j++
		}
		k := s.digits(j)
		if k == j {
			return false
		}
		j = k
	}
	f, err := strconv.ParseFloat(string(s.b[s.i:j]), 64)
	if err != nil || f != want || math.Signbit(f) != math.Signbit(want) {
		return false
	}
	s.i = j
	return true
}

func (s *sameReader) digits(j int) int {
	for j < len(s.b) && s.b[j] >= '0' && s.b[j] <= '9' {
		j++
	}
	return j
}
