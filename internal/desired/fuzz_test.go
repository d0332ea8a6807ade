package desired

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad writes arbitrary bytes as a manifest beside a valid $file include
// and a secret file, and loads it: Load must never panic, and must either
// succeed or return Errors with positions inside the input.
func FuzzLoad(f *testing.F) {
	for _, seed := range []string{
		with(makeDoc),
		with(pwDoc, "  variables:", "    - {key: a, value: ${env:X}, secret: true, pivot: {alias: a}}"),
		with(makeDoc, "  sections: {api: {$file: api.jsonc}, scope: [a]}", "  common: {token: '${file:tok}'}"),
		"a: &a [*a]\n",
		"a: &a {b: 1}\nb: {<<: [*a, *a], c: *a}\n",
		"---\n---\n...\n",
		"? [a]\n: b\n",
		"kind: MakeConnection\nspec: {sections: {api: {$file: ../../../../etc/hostname}}}\n",
		// Deep nesting: in YAML itself, and in a $file include (the manifest
		// includes itself, so the fuzzer can grow the brackets).
		"a: " + strings.Repeat("[", 100_000) + "\n",
		with(makeDoc, "  sections: {api: {$file: m.yaml}}", "# "+strings.Repeat("[", 100_000)),
		with(makeDoc, "  common: {x: '\xff'}"),
	} {
		f.Add([]byte(seed))
	}
	if matches, _ := filepath.Glob("../../manifests/*/*.yaml"); len(matches) > 0 {
		for _, m := range matches {
			if b, err := os.ReadFile(m); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		for name, content := range map[string]string{"m.yaml": string(data), "api.jsonc": "{/* c */}", "tok": "t"} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		set, err := Load(dir, Options{Getenv: func(string) (string, bool) { return "v", true }})
		if set == nil {
			t.Fatal("nil Set")
		}
		if err == nil {
			return
		}
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("error %T %v is not a non-empty Errors", err, err)
		}
		for _, e := range es {
			if e.Line < 0 || e.Col < 0 || e.Msg == "" {
				t.Fatalf("bad error %#v", e)
			}
		}
	})
}
