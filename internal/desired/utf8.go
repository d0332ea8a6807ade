package desired

import "unicode/utf8"

// invalidUTF8 finds the first byte that is not UTF-8 and returns its
// 1-based line and column (in characters, as the YAML parser counts them).
// Input that starts with a UTF-16 byte order mark is left to the YAML
// parser, which decodes it.
func invalidUTF8(data []byte) (line, col int, bad bool) {
	if len(data) >= 2 && (data[0] == 0xFE && data[1] == 0xFF || data[0] == 0xFF && data[1] == 0xFE) {
		return 0, 0, false
	}
	if utf8.Valid(data) {
		return 0, 0, false
	}
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			line, col = position(data, i)
			return line, col, true
		}
		i += size
	}
	return 0, 0, false
}

// jsoncTooDeep scans JSONC for brackets nested more than max deep, skipping
// strings and comments, and returns the 1-based position of the first
// bracket over the limit. It runs before the parser, whose recursion a
// deeply nested file would otherwise exhaust.
func jsoncTooDeep(data []byte, max int) (line, col int, deep bool) {
	depth := 0
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			for i++; i < len(data) && data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
		case c == '/' && i+1 < len(data) && data[i+1] == '/':
			for i < len(data) && data[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(data) && data[i+1] == '*':
			for i += 2; i < len(data) && !(data[i] == '*' && i+1 < len(data) && data[i+1] == '/'); i++ {
			}
			i++
		case c == '[' || c == '{':
			depth++
			if depth > max {
				line, col = position(data, i)
				return line, col, true
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return 0, 0, false
}

// position turns a byte offset into a 1-based line and column (characters).
func position(data []byte, off int) (line, col int) {
	line, col = 1, 1
	for i := 0; i < off && i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return line, col
}
