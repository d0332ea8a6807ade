package emulator

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseJSONC(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // the same value as strict JSON
	}{
		{"plain", `{"a": [1, 2]}`, `{"a": [1, 2]}`},
		{"line comment", "{\n  // note\n  \"a\": 1\n}", `{"a": 1}`},
		{"block comment", `{/* x */"a": /* y */ 1}`, `{"a": 1}`},
		{"trailing comma object", `{"a": 1,}`, `{"a": 1}`},
		{"trailing comma array", `[1, 2, ]`, `[1, 2]`},
		{"trailing comma before comment", "[1, // last\n]", `[1]`},
		{"trailing comma before block comment", "{\"a\": 1, /* c */ }", `{"a": 1}`},
		{"comment markers inside strings", `{"url": "https://x//y", "c": "/* no */"}`, `{"url": "https://x//y", "c": "/* no */"}`},
		{"escaped quote in string", `{"q": "a\"//b", }`, `{"q": "a\"//b"}`},
		{"comma inside string kept", `["a,]"]`, `["a,]"]`},
		{"nested", "{\"a\": {\"b\": [1, {\"c\": 2,},],},}", `{"a": {"b": [1, {"c": 2}]}}`},
		{"legacy null", `null`, `null`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseJSONC([]byte(tc.in))
			if err != nil {
				t.Fatalf("parseJSONC: %v", err)
			}
			if diff := cmp.Diff(mustJSON(t, tc.want), got); diff != "" {
				t.Errorf("value (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseJSONCErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"missing value", `{"a": }`, `Unexpected token '}' in JSONC at position 6`},
		{"missing comma", `[1 2]`, `Unexpected token '2' in JSONC at position 3`},
		{"position counts comments", "// c\n{\"a\": x}", `Unexpected token 'x' in JSONC at position 11`},
		{"unterminated comment", `{"a": 1 /* oops`, `Unterminated comment in JSONC at position 8`},
		{"unterminated string", `{"a": "b`, `Unterminated string in JSONC at position 8`},
		{"empty", ``, `Unexpected end of input in JSONC at position 0`},
		{"truncated", `{"a": 1`, `Unexpected end of input in JSONC at position 7`},
		{"two values", `{} {}`, `Unexpected token '{' in JSONC at position 3`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseJSONC([]byte(tc.in))
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tc.want {
				t.Errorf("error = %q, want %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), " in JSONC at position ") {
				t.Errorf("error %q lacks Make's marker", err)
			}
		})
	}
}

func TestStripJSONCKeepsPositions(t *testing.T) {
	in := "{\n /* a\n b */ \"k\": [1,],\n}"
	out, err := stripJSONC([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) || strings.Count(string(out), "\n") != strings.Count(in, "\n") {
		t.Errorf("stripped text changed length or lines: %q", out)
	}
}
