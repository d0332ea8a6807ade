package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// jsoncError is the parse failure Make reports; its text always contains
// " in JSONC at position N", which clients look for.
type jsoncError struct {
	msg string
	pos int
}

func (e *jsoncError) Error() string {
	return fmt.Sprintf("%s in JSONC at position %d", e.msg, e.pos)
}

// stripJSONC turns JSONC into JSON of the same length: comments and
// trailing commas become spaces (newlines inside block comments are kept),
// so a position in the result is the same position in the input.
func stripJSONC(src []byte) ([]byte, error) {
	out := make([]byte, len(src))
	copy(out, src)
	blank := func(from, to int) {
		for i := from; i < to; i++ {
			if out[i] != '\n' && out[i] != '\r' {
				out[i] = ' '
			}
		}
	}
	// skip returns the index of the next byte that is neither whitespace
	// nor part of a comment, without changing anything.
	skip := func(i int) int {
		for i < len(src) {
			switch c := src[i]; {
			case c == ' ' || c == '\t' || c == '\n' || c == '\r':
				i++
			case c == '/' && i+1 < len(src) && src[i+1] == '/':
				for i < len(src) && src[i] != '\n' {
					i++
				}
			case c == '/' && i+1 < len(src) && src[i+1] == '*':
				end := indexFrom(src, i+2, "*/")
				if end < 0 {
					return len(src)
				}
				i = end + 2
			default:
				return i
			}
		}
		return i
	}
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '"':
			i++
			for i < len(src) && src[i] != '"' {
				if src[i] == '\\' {
					i++
				}
				i++
			}
			if i >= len(src) {
				return nil, &jsoncError{"Unterminated string", len(src)}
			}
			i++
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			start := i
			for i < len(src) && src[i] != '\n' {
				i++
			}
			blank(start, i)
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := indexFrom(src, i+2, "*/")
			if end < 0 {
				return nil, &jsoncError{"Unterminated comment", i}
			}
			blank(i, end+2)
			i = end + 2
		case c == ',':
			if j := skip(i + 1); j < len(src) && (src[j] == '}' || src[j] == ']') {
				out[i] = ' '
			}
			i++
		default:
			i++
		}
	}
	return out, nil
}

func indexFrom(b []byte, from int, sub string) int {
	for i := from; i+len(sub) <= len(b); i++ {
		if string(b[i:i+len(sub)]) == sub {
			return i
		}
	}
	return -1
}

// parseJSONC parses JSONC text into the value encoding/json produces.
func parseJSONC(src []byte) (any, error) {
	plain, err := stripJSONC(src)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(plain, &v); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			pos := int(syn.Offset) - 1 // Offset counts the bad byte too
			if pos < 0 || pos >= len(src) || strings.Contains(syn.Error(), "unexpected end") {
				return nil, &jsoncError{"Unexpected end of input", len(src)}
			}
			return nil, &jsoncError{fmt.Sprintf("Unexpected token %q", src[pos]), pos}
		}
		return nil, &jsoncError{err.Error(), 0}
	}
	return v, nil
}
