package desired

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func quickDoc(name, label string) string {
	return doc(
		"apiVersion: syncd/v1",
		"kind: MakeConnection",
		"metadata:",
		"  name: "+name,
		"spec:",
		"  app: app-one",
		"  type: apikey",
		"  label: "+label,
		"  sections:",
		"    api: {$file: "+name+".jsonc}",
	)
}

// The quick path of Reload is taken for an everyday edit and refused
// whenever the checks across documents could find something new; that the
// result equals a full Load either way is TestReloadEqualsLoad.
func TestReloadQuickPath(t *testing.T) {
	base := map[string]string{
		"a.yaml": quickDoc("alpha", "Alpha"), "alpha.jsonc": `{"url": "https://a.example.com"}`,
		"b.yaml": quickDoc("beta", "Beta"), "beta.jsonc": `{"url": "https://b.example.com"}`,
	}
	tests := []struct {
		name    string
		prev    map[string]string // added to base before the first Load
		edit    map[string]string // written before Reload
		changed []string
		want    bool
	}{
		{"an edited manifest", nil, map[string]string{"a.yaml": quickDoc("alpha", "Alpha v2")}, []string{"a.yaml"}, true},
		{"an edited include", nil, map[string]string{"alpha.jsonc": `{"url": "https://a2.example.com"}`}, []string{"alpha.jsonc"}, true},
		{"a new manifest", nil, map[string]string{"c/c.yaml": quickDoc("gamma", "Gamma"), "c/gamma.jsonc": `{"url": "https://c.example.com"}`}, []string{"c/c.yaml"}, true},
		{"a resource renamed", nil, map[string]string{"a.yaml": quickDoc("alpha2", "Alpha"), "alpha2.jsonc": `{"url": "https://a.example.com"}`}, []string{"a.yaml"}, true},
		{"a name another manifest has", nil, map[string]string{"a.yaml": quickDoc("beta", "Alpha")}, []string{"a.yaml"}, false},
		{"a label another manifest has", nil, map[string]string{"a.yaml": quickDoc("alpha", "Beta")}, []string{"a.yaml"}, false},
		{"a duplicate inside the edit", nil, map[string]string{"a.yaml": quickDoc("alpha", "Alpha") + "---\n" + quickDoc("alpha", "Other")}, []string{"a.yaml"}, false},
		{"a broken manifest", nil, map[string]string{"a.yaml": "kind: ["}, []string{"a.yaml"}, false},
		{"a problem left from before", map[string]string{"z.yaml": "kind: ["}, map[string]string{"a.yaml": quickDoc("alpha", "Alpha v2")}, []string{"a.yaml"}, false},
		{"an include another manifest reads", map[string]string{"c.yaml": strings.Replace(quickDoc("gamma", "Gamma"), "gamma.jsonc", "alpha.jsonc", 1)},
			map[string]string{"a.yaml": quickDoc("alpha", "Alpha v2")}, []string{"a.yaml"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{}
			for k, v := range base {
				files[k] = v
			}
			for k, v := range tt.prev {
				files[k] = v
			}
			dir := writeTree(t, files)
			prev, _ := Load(dir, Options{KeepForReload: true})
			for name, content := range tt.edit {
				p := filepath.Join(dir, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			affected := map[string]bool{}
			for _, c := range tt.changed {
				if strings.HasSuffix(c, ".yaml") {
					affected[display(filepath.Join(dir, c))] = true
				}
				for m, reads := range prev.keep.reads {
					for _, r := range reads {
						if r == display(filepath.Join(dir, c)) {
							affected[m] = true
						}
					}
				}
			}
			if _, got := reloadQuick(prev, affected); got != tt.want {
				t.Errorf("quick path taken = %v, want %v", got, tt.want)
			}
		})
	}
}
