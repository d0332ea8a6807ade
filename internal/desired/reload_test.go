package desired_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/desired"
	"github.com/syncd/syncd/internal/testenv"
)

// view is what a Set says, for comparing a Reload with a fresh Load.
type view struct {
	Resources string
	Files     []desired.File
	Digest    string
	Errors    []string
}

func viewOf(t *testing.T, s *desired.Set) view {
	t.Helper()
	js, err := json.Marshal(s.Resources)
	if err != nil {
		t.Fatal(err)
	}
	v := view{Resources: string(js), Files: s.Files, Digest: s.Digest}
	for _, e := range s.Errors {
		v.Errors = append(v.Errors, e.Error())
	}
	return v
}

// Each step edits the tree and reloads only what it names; the result must
// be exactly what a full Load of the tree gives.
func TestReloadEqualsLoad(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"SECRET_A": "a-secret-value", "SECRET_B": "b-secret-value"}
	opts := desired.Options{Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }, KeepForReload: true}
	write := func(rel, content string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	withInclude := `apiVersion: syncd/v1
kind: MakeConnection
metadata:
  name: gamma
spec:
  app: app-one
  type: apikey
  label: Gamma
  sections:
    api: {$file: gamma-api.jsonc}
`
	write("a.yaml", testenv.MakeDoc("alpha", "app-one", "Alpha", "apikey"))
	write("b/b.yaml", testenv.PatchworksDoc("shop", "Shop"))
	write("b.yaml", testenv.MakeDoc("beta", "app-one", "Beta", "apikey"))
	write("c/gamma.yaml", withInclude)
	write("c/gamma-api.jsonc", `{"url": "https://gamma.example.com" /* v1 */}`)
	set, _ := desired.Load(dir, opts)
	if len(set.Resources) != 4 || len(set.Errors) != 0 {
		t.Fatalf("first load: %d resources, errors %v", len(set.Resources), set.Errors)
	}

	steps := []struct {
		name    string
		edit    func()
		changed []string
	}{
		{"edit one manifest", func() { write("a.yaml", testenv.MakeDoc("alpha", "app-one", "Alpha v2", "apikey")) }, []string{"a.yaml"}},
		{"edit an include", func() { write("c/gamma-api.jsonc", `{"url": "https://gamma.example.com/v2"}`) }, []string{"c/gamma-api.jsonc"}},
		{"add a manifest", func() { write("b/z.yaml", testenv.PatchworksDoc("other", "Other")) }, []string{"b/z.yaml"}},
		{"a duplicate name", func() { write("d.yaml", testenv.MakeDoc("alpha", "app-two", "Alpha twin", "apikey")) }, []string{"d.yaml"}},
		{"the duplicate goes", func() { os.Remove(filepath.Join(dir, "d.yaml")) }, []string{"d.yaml"}},
		{"a syntax error", func() { write("b.yaml", "kind: [") }, []string{"b.yaml"}},
		{"fixed again", func() { write("b.yaml", testenv.MakeDoc("beta", "app-one", "Beta", "apikey")) }, []string{"b.yaml"}},
		{"a manifest removed", func() { os.Remove(filepath.Join(dir, "b/z.yaml")) }, []string{"b/z.yaml"}},
		{"a file that is no manifest", func() { write("notes.txt", "hello") }, []string{"notes.txt"}},
		// The edges of the quick path (reloadQuick): names, natural keys
		// and files that another manifest shares.
		{"a label another manifest has", func() { write("e.yaml", testenv.MakeDoc("epsilon", "app-one", "Beta", "apikey")) }, []string{"e.yaml"}},
		{"the label changed again", func() { write("e.yaml", testenv.MakeDoc("epsilon", "app-one", "Epsilon", "apikey")) }, []string{"e.yaml"}},
		{"a name another manifest has", func() { write("e.yaml", testenv.PatchworksDoc("shop", "Shop two")) }, []string{"e.yaml"}},
		{"the name changed again", func() { write("e.yaml", testenv.PatchworksDoc("shop-two", "Shop two")) }, []string{"e.yaml"}},
		{"a resource moves to another file", func() {
			os.Remove(filepath.Join(dir, "a.yaml"))
			write("m/alpha.yaml", testenv.MakeDoc("alpha", "app-one", "Alpha v2", "apikey"))
		}, []string{"a.yaml", "m/alpha.yaml"}},
		{"two manifests share an include", func() {
			write("c/delta.yaml", strings.Replace(strings.Replace(withInclude, "name: gamma", "name: delta", 1), "label: Gamma", "label: Delta", 1))
		}, []string{"c/delta.yaml"}},
		{"one of them edited", func() {
			write("c/gamma.yaml", strings.Replace(withInclude, "label: Gamma", "label: Gamma v2", 1))
		}, []string{"c/gamma.yaml"}},
		{"one of them stops including it", func() {
			write("c/gamma.yaml", strings.Replace(withInclude, "api: {$file: gamma-api.jsonc}", "api: {url: https://gamma.example.com/inline}", 1))
		}, []string{"c/gamma.yaml"}},
		{"a new directory that sorts before a file", func() { write("a/zz.yaml", testenv.PatchworksDoc("zz", "ZZ")) }, []string{"a/zz.yaml"}},
		{"two names swapped in one burst", func() {
			write("a/zz.yaml", testenv.PatchworksDoc("shop-two", "ZZ"))
			write("e.yaml", testenv.PatchworksDoc("zz", "Shop two"))
		}, []string{"a/zz.yaml", "e.yaml"}},
	}
	for _, st := range steps {
		st.edit()
		next, _ := desired.Reload(set, st.changed)
		full, _ := desired.Load(dir, desired.Options{Getenv: opts.Getenv})
		if diff := cmp.Diff(viewOf(t, full), viewOf(t, next)); diff != "" {
			t.Fatalf("%s: Reload differs from Load (-load +reload):\n%s", st.name, diff)
		}
		set = next
	}
}

// Reload reads only the files it is told changed (and the manifests that
// include them): an unchanged manifest keeps the very same resource even
// when its file changed behind Reload's back.
func TestReloadReadsOnlyChangedFiles(t *testing.T) {
	dir := t.TempDir()
	env := func(k string) (string, bool) { return "x", true }
	for name, doc := range map[string]string{
		"a.yaml": testenv.MakeDoc("alpha", "app-one", "Alpha", "apikey"),
		"b.yaml": testenv.MakeDoc("beta", "app-one", "Beta", "apikey"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set, err := desired.Load(dir, desired.Options{Getenv: env, KeepForReload: true})
	if err != nil {
		t.Fatal(err)
	}
	beforeB := set.Resources[1]
	// b.yaml is broken but not reported as changed; a.yaml is.
	os.WriteFile(filepath.Join(dir, "b.yaml"), []byte("kind: ["), 0o644)
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(testenv.MakeDoc("alpha", "app-one", "Alpha v2", "apikey")), 0o644)
	next, err := desired.Reload(set, []string{"a.yaml"})
	if err != nil {
		t.Fatalf("Reload read b.yaml, which was not reported changed: %v", err)
	}
	if next.Resources[1] != beforeB {
		t.Errorf("beta was decoded again")
	}
	if got := next.Resources[0].Spec["label"]; got != "Alpha v2" {
		t.Errorf("alpha's label = %v, want the edit", got)
	}
	if _, err := desired.Reload(&desired.Set{}, []string{"a.yaml"}); err == nil {
		t.Errorf("Reload of a Set without reload state did not fail")
	}
}
