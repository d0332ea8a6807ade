package pgstore

import "strings"

// Text makes s storable as text: valid UTF-8, no NUL.
func Text(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return s
}

// Null stores an empty string as SQL NULL.
func Null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Deref reads a nullable text column: NULL is "".
func Deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
