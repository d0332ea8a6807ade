package make

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tailscale/hujson"
)

// TestParseJSONC: plain JSON (decoded directly) and JSONC (through the
// JSONC parser) give the value the JSONC parser alone gives, and what it
// refuses stays refused.
func TestParseJSONC(t *testing.T) {
	viaHujson := func(text string) (any, error) {
		std, err := hujson.Standardize([]byte(text))
		if err != nil {
			return nil, err
		}
		var v any
		err = json.Unmarshal(std, &v)
		return v, err
	}
	tests := []struct {
		name, text string
		wantErr    bool
	}{
		{"plain object", `{"url": "https://x", "n": 1.5, "list": [true, null, "a"]}`, false},
		{"plain list", `[{"name": "a"}, {"name": "b"}]`, false},
		{"escapes", `{"s": "\u00e9\n\"<>&"}`, false},
		{"comments", "{\n  // the api\n  \"url\": \"https://x\" /* inline */\n}", false},
		{"trailing commas", `{"a": [1, 2,], "b": 2,}`, false},
		{"duplicate names: the last wins", `{"a": 1, "a": 2}`, false},
		{"invalid UTF-8 in a string", "{\"a\": \"\xff\"}", false},
		{"not JSON at all", `{"a": }`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseJSONC([]byte(tt.text))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseJSONC = %v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want, err := viaHujson(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("-hujson +ParseJSONC:\n%s", diff)
			}
		})
	}
	if v, err := ParseJSONC([]byte("  \n")); v != nil || err != nil {
		t.Errorf("blank text = %v, %v; want null", v, err)
	}
}
