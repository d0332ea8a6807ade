package reliability

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/desired"
	makeplatform "github.com/syncd/syncd/internal/platform/make"
)

var jsoncSeeds = []string{
	`{"url": "https://api.example.com"}`,
	"{\n  // OAuth endpoints\n  \"authorize\": {\"url\": \"https://acme.example/oauth\"},\n}",
	"[\n  {\"name\": \"apiKey\", /* the key */ \"type\": \"password\"},\n]",
	`{"a": "// not a comment", "b": "/* nor this */", "c": [1, 2.5e3, -0, true, null,],}`,
	"\ufeff{}",
	`{"s": "\u00e9\n\"quoted\""}`,
	"",
	"null",
	"{\"unterminated\": ",
	"/* only a comment */",
}

// FuzzSectionJSONC: the Make client's JSONC reader never panics, agrees
// with encoding/json on strict JSON, and what it returns survives a round
// trip through JSON (so comparing sections by parsed value is stable).
func FuzzSectionJSONC(f *testing.F) {
	for _, s := range jsoncSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := makeplatform.ParseJSONC(data)
		if json.Valid(data) {
			var want any
			if jerr := json.Unmarshal(data, &want); jerr == nil {
				if err != nil {
					t.Fatalf("strict JSON %q refused: %v", data, err)
				}
				if diff := cmp.Diff(want, v); diff != "" {
					t.Fatalf("JSON %q parsed differently (-encoding/json +ParseJSONC):\n%s", data, diff)
				}
			}
		}
		if err != nil {
			return
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("parsed value does not marshal: %v", err)
		}
		again, err := makeplatform.ParseJSONC(b)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", b, err)
		}
		if diff := cmp.Diff(v, again); diff != "" {
			t.Fatalf("round trip changed the value:\n%s", diff)
		}
	})
}

const fileManifest = `apiVersion: syncd/v1
kind: MakeConnection
metadata:
  name: fuzz
spec:
  app: fuzz-app
  type: apikey
  label: Fuzz
  sections:
    api: {$file: api.jsonc}
`

// FuzzSectionFile: a $file section is read by the manifest loader as the
// Make client reads a section, so a file and the platform's copy of it
// never differ by parser; a bad file is a located error, never a panic.
func FuzzSectionFile(f *testing.F) {
	for _, s := range jsoncSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "make.yaml"), []byte(fileManifest), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "api.jsonc"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		set, _ := desired.Load(dir, desired.Options{Getenv: func(string) (string, bool) { return "", false }})
		if set == nil {
			t.Fatal("no set for a readable directory")
		}
		if len(set.Errors) > 0 {
			for _, e := range set.Errors {
				if msg := e.Error(); !strings.Contains(msg, "make.yaml") && !strings.Contains(msg, "api.jsonc") {
					t.Fatalf("error names neither the manifest nor the file: %q", msg)
				}
			}
			return
		}
		if len(set.Resources) != 1 {
			t.Fatalf("%d resources", len(set.Resources))
		}
		sections, _ := set.Resources[0].Spec["sections"].(map[string]any)
		want, err := makeplatform.ParseJSONC(data)
		if err != nil {
			t.Fatalf("the loader accepted %q, the Make client refuses it: %v", data, err)
		}
		if diff := cmp.Diff(want, sections["api"]); diff != "" {
			t.Fatalf("loader and Make client disagree on %q (-client +loader):\n%s", data, diff)
		}
	})
}
