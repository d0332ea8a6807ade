package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/desired"
	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/testenv"
)

// TestImportRoundTripsFaithfully: sections become $file JSONC files with
// Make's text byte for byte, every manifest names the schema on its first
// line, --kind takes any case, a secret stays out unless
// --secrets-as-env, the import plans as pure adopts (and, applied, as no
// change), and --force is needed to overwrite.
func TestImportRoundTripsFaithfully(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	seed, err := emulator.ParseSeed([]byte(importSeed))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Emu.Seed(seed); err != nil {
		t.Fatal(err)
	}
	imports := [][]string{
		{"import", "--kind", "makeconnection", "--app", "crm", "--out", e.Dir},
		{"import", "--kind", "PATCHWORKSCONNECTOR", "--out", e.Dir},
	}
	for _, args := range imports {
		if r := syncdCmd(t, e, nil, args...); r.code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, r.code, r.stderr)
		}
	}
	snapshot := readTree(t, e.Dir)

	// Sections, byte for byte.
	sections := 0
	for _, c := range e.Emu.MakeConnections("crm") {
		name := desired.NameFor("crm/" + c.Label)
		for s, raw := range c.Sections {
			got, ok := snapshot[filepath.Join("makeconnection", name+"."+s+".jsonc")]
			if !ok || got != raw {
				t.Errorf("%s section %s: file %q, want Make's text %q", name, s, got, raw)
			}
			if !strings.Contains(snapshot[filepath.Join("makeconnection", name+".yaml")], "$file: "+name+"."+s+".jsonc") {
				t.Errorf("%s.yaml does not reference its %s file", name, s)
			}
			sections++
		}
	}
	if sections < 6 || !strings.Contains(snapshot[filepath.Join("makeconnection", "crm-oauth-main.api.jsonc")], "// the token endpoint") {
		t.Errorf("%d section files; the api comment is not kept:\n%v", sections, snapshot)
	}
	if snapshot["schema.json"] != string(desired.Schema()) {
		t.Error("schema.json is not `syncd schema`")
	}
	for path, text := range snapshot {
		if strings.HasSuffix(path, ".yaml") && !strings.HasPrefix(text, "# yaml-language-server: $schema=../schema.json\n") {
			t.Errorf("%s does not start with the schema line:\n%s", path, text)
		}
		if strings.HasSuffix(path, ".json") {
			continue
		}
		if strings.Contains(text, "${env:") || strings.Contains(text, "sekret-common-value") || strings.Contains(text, "pw-secret-value") {
			t.Errorf("%s holds a secret or a reference nobody asked for:\n%s", path, text)
		}
	}

	// Loads with no variable set, and plans pure adopts without a field.
	r := syncdCmd(t, e, nil, "plan", "--detailed-exitcode")
	if r.code != 2 || strings.Contains(r.stdout, "~ ") || strings.Contains(r.stdout, "+ /") || !strings.Contains(r.stdout, "5 to adopt") {
		t.Errorf("plan after import: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := syncdCmd(t, e, nil, "apply", "--auto-approve"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := syncdCmd(t, e, nil, "plan", "--detailed-exitcode"); r.code != 0 || !strings.Contains(r.stdout, "No changes.") {
		t.Errorf("plan after applying the import: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, c := range e.Emu.MakeConnections("crm") {
		if c.Label == "OAuth main" && c.Common["clientSecret"] != "sekret-common-value" {
			t.Errorf("the unmanaged secret changed: %v", c.Common)
		}
	}

	// No overwrite without --force, and nothing written then.
	if err := os.WriteFile(filepath.Join(e.Dir, "makeconnection", "crm-api-key.yaml"), []byte("# mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = syncdCmd(t, e, nil, imports[0]...)
	if r.code != 1 || !strings.Contains(r.stderr, "nothing written") || !strings.Contains(r.stderr, "--force") {
		t.Errorf("import over existing files: exit %d\n%s", r.code, r.stderr)
	}
	if got := readTree(t, e.Dir)[filepath.Join("makeconnection", "crm-api-key.yaml")]; got != "# mine\n" {
		t.Errorf("import without --force overwrote a file: %q", got)
	}
	if r := syncdCmd(t, e, nil, append(imports[0], "--force")...); r.code != 0 {
		t.Fatalf("import --force: exit %d\n%s", r.code, r.stderr)
	}
	after := readTree(t, e.Dir)
	if after[filepath.Join("makeconnection", "crm-api-key.yaml")] != snapshot[filepath.Join("makeconnection", "crm-api-key.yaml")] {
		t.Errorf("import --force did not rewrite the file")
	}
	if r := syncdCmd(t, e, nil, "import", "--kind", "Bucket", "--out", e.Dir); r.code != 1 || !strings.Contains(r.stderr, "not one of") {
		t.Errorf("import --kind Bucket: exit %d\n%s", r.code, r.stderr)
	}
}

// readTree maps every file under dir (relative path) to its text.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = string(bytes.Clone(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
