package make_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/desired"
	"github.com/syncd/syncd/internal/platform"
	makeplatform "github.com/syncd/syncd/internal/platform/make"
	"github.com/syncd/syncd/internal/syncd"
)

// The MakeConnection manifest format, pinned here with the loader it plugs
// into (internal/desired) so that every decision of manifest.go is defended
// by this package's own tests.

// base is a valid connection document; tests add lines from line 9 on.
var base = []string{
	"apiVersion: syncd/v1", // 1
	"kind: MakeConnection", // 2
	"metadata:",            // 3
	"  name: crm",          // 4
	"spec:",                // 5
	"  app: acme",          // 6
	"  type: apikey",       // 7
	"  label: Main",        // 8
}

var env = map[string]string{"TOKEN": "tok-value", "SYNCD_CRM_API_KEY": "key-value", "SYNCD_CRM_AUTH_PASSWORD": "pw-value"}

// load loads one manifest made of lines, with files beside it, with only
// the Make format.
func load(t *testing.T, lines []string, files map[string]string) (*desired.Set, desired.Errors) {
	t.Helper()
	dir := t.TempDir()
	files = maps(files, "m.yaml", strings.Join(lines, "\n")+"\n")
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set, err := desired.Load(dir, desired.Options{
		Platforms: []platform.Platform{makeplatform.Platform{}},
		Getenv:    func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
	var es desired.Errors
	if err != nil && !errors.As(err, &es) {
		t.Fatalf("Load: %v", err)
	}
	return set, es
}

func maps(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for a, b := range m {
		out[a] = b
	}
	return out
}

func with(extra ...string) []string { return append(append([]string(nil), base...), extra...) }

// replaced is base with the line starting with prefix replaced by repl.
func replaced(prefix, repl string) []string {
	out := append([]string(nil), base...)
	for i, l := range out {
		if strings.HasPrefix(l, prefix) {
			out[i] = repl
		}
	}
	return out
}

// TestDecodeConnectionSpec: every field a manifest may set decodes to the
// value syncd compares with Make's, each section of either shape inline or
// from a JSONC $file (its raw text kept), and common data whose key names
// a secret, or whose value came from ${env:}, is marked sensitive.
func TestDecodeConnectionSpec(t *testing.T) {
	files := map[string]string{
		"api.jsonc":    "// the API\n{\"url\": \"https://x\", /* base */ \"n\": 1,}\n",
		"params.jsonc": "[{\"name\": \"a\"}]\n",
	}
	set, es := load(t, with(
		"  connectedSystemName: crm-system", // 9
		"  sections:",                       // 10
		"    api: {$file: api.jsonc}",
		"    parameters: {$file: params.jsonc}",
		"    scopes: {read: Read}",
		"    scope: [read]",
		"    install: {}",
		"    installSpec: []",
		"  common:",
		"    region: eu",
		"    apiKey: plain",
		"    token: ${env:TOKEN}",
		"    auth: {password: p, user: u}",
		"    list: [1, x]",
	), files)
	if len(es) > 0 {
		t.Fatalf("errors: %v", es)
	}
	if len(set.Resources) != 1 {
		t.Fatalf("resources: %d", len(set.Resources))
	}
	d := set.Resources[0]
	want := map[string]any{
		"app": "acme", "type": "apikey", "label": "Main", "connectedSystemName": "crm-system",
		"sections": map[string]any{
			"api":         map[string]any{"url": "https://x", "n": 1.0},
			"parameters":  []any{map[string]any{"name": "a"}},
			"scopes":      map[string]any{"read": "Read"},
			"scope":       []any{"read"},
			"install":     map[string]any{},
			"installSpec": []any{},
		},
		"common": map[string]any{
			"region": "eu", "apiKey": "plain", "token": "tok-value",
			"auth": map[string]any{"password": "p", "user": "u"}, "list": []any{1.0, "x"},
		},
	}
	if diff := cmp.Diff(want, d.Spec); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"/common/apiKey", "/common/auth/password", "/common/token"}, d.Sensitive); diff != "" {
		t.Errorf("sensitive (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"api": files["api.jsonc"], "parameters": files["params.jsonc"]}, d.RawSections); diff != "" {
		t.Errorf("raw sections (-want +got):\n%s", diff)
	}
}

// TestDecodeOptionalFields: connectedSystemName may be null, api may be a
// list, and a spec with only the required fields has no other field.
func TestDecodeOptionalFields(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		want  map[string]any
	}{
		{"required only", base, map[string]any{"app": "acme", "type": "apikey", "label": "Main"}},
		{"null system name and api as a list", with("  connectedSystemName: null", "  sections: {api: [{url: x}]}"),
			map[string]any{"app": "acme", "type": "apikey", "label": "Main", "connectedSystemName": nil,
				"sections": map[string]any{"api": []any{map[string]any{"url": "x"}}}}},
		{"empty sections", with("  sections: {}"),
			map[string]any{"app": "acme", "type": "apikey", "label": "Main", "sections": map[string]any{}}},
		{"every type", replaced("  type:", "  type: oauth-clicre"),
			map[string]any{"app": "acme", "type": "oauth-clicre", "label": "Main"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, es := load(t, tc.lines, nil)
			if len(es) > 0 {
				t.Fatalf("errors: %v", es)
			}
			if diff := cmp.Diff(tc.want, set.Resources[0].Spec); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
			if got := set.Resources[0].Sensitive; len(got) != 0 {
				t.Errorf("sensitive = %v, want none", got)
			}
		})
	}
}

// TestDecodeExternalIDIsAConnectionName: metadata.externalId is a
// connection name, a string.
func TestDecodeExternalIDIsAConnectionName(t *testing.T) {
	lines := append(append(append([]string(nil), base[:4]...), "  externalId: acme2"), base[4:]...)
	set, es := load(t, lines, nil)
	if len(es) > 0 {
		t.Fatalf("errors: %v", es)
	}
	if got := set.Resources[0].ExternalID; got != "acme2" {
		t.Errorf("externalId = %q, want acme2", got)
	}
	lines = append(append(append([]string(nil), base[:4]...), "  externalId: [1]"), base[4:]...)
	if _, es := load(t, lines, nil); len(es) != 1 || es[0].Field != "metadata.externalId" || es[0].Line != 5 || es[0].Col != 15 {
		t.Errorf("a list as externalId: %v", es)
	}
}

// TestDuplicateNaturalKey: two connections with the same app and label are
// refused at the second's label.
func TestDuplicateNaturalKey(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a", "b"} {
		doc := strings.Replace(strings.Join(base, "\n")+"\n", "name: crm", "name: "+name, 1)
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := desired.Load(dir, desired.Options{Platforms: []platform.Platform{makeplatform.Platform{}}})
	var es desired.Errors
	if !errors.As(err, &es) || len(es) != 1 {
		t.Fatalf("Load: %v", err)
	}
	e := es[0]
	if !strings.HasSuffix(e.File, "b.yaml") || e.Line != 8 || e.Col != 10 || e.Field != "spec.label" || !strings.Contains(e.Msg, "natural key (app + label)") {
		t.Errorf("error = %s:%d:%d: %s: %s", e.File, e.Line, e.Col, e.Field, e.Msg)
	}
}

// TestDecodeConnectionErrors: every problem is reported at its file, line,
// column and field, and the document does not load.
func TestDecodeConnectionErrors(t *testing.T) {
	type want struct {
		line, col int
		field     string
		msg       string
	}
	files := map[string]string{
		"list.jsonc":   "[1]\n",
		"object.jsonc": "{\"a\": 1}\n",
		"bad.jsonc":    "{\"a\": }\n",
	}
	for _, tc := range []struct {
		name  string
		lines []string
		want  []want
	}{
		{"spec not a mapping", append(append([]string(nil), base[:4]...), "spec: [x]"),
			[]want{{5, 7, "spec", "must be a mapping"}}},
		{"required fields missing", replaced("  app:", "  colour: red"),
			[]want{{5, 1, "spec.app", "required field is missing"}, {6, 3, "spec.colour", "unknown field"}}},
		{"label missing", replaced("  label:", "  connectedSystemName: x"),
			[]want{{5, 1, "spec.label", "required field is missing"}}},
		{"empty app", replaced("  app:", `  app: ""`),
			[]want{{6, 8, "spec.app", "must not be empty"}}},
		{"empty label", replaced("  label:", `  label: ''`),
			[]want{{8, 10, "spec.label", "must not be empty"}}},
		{"app not a string", replaced("  app:", "  app: [a]"),
			[]want{{6, 8, "spec.app", "must be a string"}}},
		{"label not a string", replaced("  label:", "  label: {a: 1}"),
			[]want{{8, 10, "spec.label", "must be a string"}}},
		{"bad type", replaced("  type:", "  type: oauth2"),
			[]want{{7, 9, "spec.type", `"oauth2" is not one of`}}},
		{"system name not a string", with("  connectedSystemName: [x]"),
			[]want{{9, 24, "spec.connectedSystemName", "must be a string"}}},
		{"sections not a mapping", with("  sections: [api]"),
			[]want{{9, 13, "spec.sections", "must be a mapping"}}},
		{"unknown section", with("  sections: {apis: {}}"),
			[]want{{9, 14, "spec.sections.apis", "unknown field"}}},
		{"parameters not a list", with("  sections: {parameters: {a: 1}}"),
			[]want{{9, 26, "spec.sections.parameters", "must be a list (array), got a mapping"}}},
		{"scopes not a mapping", with("  sections: {scopes: [a]}"),
			[]want{{9, 22, "spec.sections.scopes", "must be a mapping (object), got a list"}}},
		{"api a string", with("  sections: {api: x}"),
			[]want{{9, 19, "spec.sections.api", "must be a mapping (object) or a list (array), got a string"}}},
		{"install null", with("  sections: {install: null}"),
			[]want{{9, 23, "spec.sections.install", "must be a mapping (object), got null"}}},
		{"installSpec a number", with("  sections: {installSpec: 1}"),
			[]want{{9, 27, "spec.sections.installSpec", "must be a list (array), got an integer"}}},
		{"file of the wrong shape", with("  sections: {scope: {$file: object.jsonc}}"),
			[]want{{9, 29, "spec.sections.scope.$file", "object.jsonc must hold a list (array)"}}},
		{"file of the wrong shape for scopes", with("  sections: {scopes: {$file: list.jsonc}}"),
			[]want{{9, 30, "spec.sections.scopes.$file", "list.jsonc must hold a mapping (object)"}}},
		{"file not JSONC", with("  sections: {api: {$file: bad.jsonc}}"),
			[]want{{9, 27, "spec.sections.api.$file", "bad.jsonc is not valid JSONC"}}},
		{"file beside another key", with("  sections: {api: {url: x, $file: list.jsonc}}"),
			[]want{{9, 20, "spec.sections.api.url", "unknown field"}}},
		{"common a list", with("  common: [a]"),
			[]want{{9, 11, "spec.common", "must be a mapping (Make common data is an object), got a list"}}},
		{"common null", with("  common: null"),
			[]want{{9, 11, "spec.common", "must be a mapping (Make common data is an object), got null"}}},
		{"missing variable", with("  common: {password: \"${env:NOPE}\"}"),
			[]want{{9, 22, "spec.common.password", "NOPE"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, es := load(t, tc.lines, files)
			if len(set.Resources) != 0 {
				t.Errorf("a document with errors loaded: %v", set.Resources[0].Spec)
			}
			var got []want
			for _, e := range es {
				if !strings.HasSuffix(e.File, "m.yaml") {
					t.Errorf("error in file %q", e.File)
				}
				got = append(got, want{e.Line, e.Col, e.Field, e.Msg})
			}
			if len(got) != len(tc.want) {
				t.Fatalf("errors = %v, want %d", es, len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				if g.line != w.line || g.col != w.col || g.field != w.field || !strings.Contains(g.msg, w.msg) {
					t.Errorf("error %d = %d:%d: %s: %s, want %d:%d: %s: ...%s...", i, g.line, g.col, g.field, g.msg, w.line, w.col, w.field, w.msg)
				}
			}
		})
	}
}

// importedLive is a connection as observed: every section (one a legacy
// null), and common data with two secrets.
func importedLive() syncd.Live {
	return syncd.Live{Kind: syncd.MakeConnection, RemoteID: "acme2", Spec: map[string]any{
		"app": "acme", "type": "basic", "label": "Main", "connectedSystemName": nil,
		"sections": map[string]any{
			"api":         map[string]any{"url": "https://x"},
			"parameters":  []any{map[string]any{"name": "a"}},
			"scopes":      nil,
			"scope":       nil,
			"install":     map[string]any{"size": 1.0},
			"installSpec": []any{},
		},
		"common": map[string]any{"region": "eu", "api_key": "k", "auth": map[string]any{"password": "p", "user": "u"}},
	}}
}

const importedHead = `apiVersion: syncd/v1
kind: MakeConnection
metadata:
  name: crm
  externalId: acme2
spec:
  app: acme
  type: basic
  label: Main
  connectedSystemName: null
  sections:
`

// TestImportWritesConnectionManifest: an import writes the fields in the
// manifest's order, sections in Make's order (a legacy null as the empty
// value of its shape, a section with a file as {$file: FILE}), common data
// with each secret as an ${env:} placeholder (or, when secrets are not
// exported, no common at all, saying which keys), and the result loads
// back to the live spec.
func TestImportWritesConnectionManifest(t *testing.T) {
	inline := `    api:
      url: https://x
    parameters:
      - name: a
    scopes: {}
    scope: []
    install:
      size: 1
    installSpec: []
`
	withFiles := `    api:
      $file: crm.api.jsonc
    parameters:
      $file: crm.parameters.jsonc
    scopes: {}
    scope: []
    install:
      size: 1
    installSpec: []
`
	common := `  common:
    api_key: ${env:SYNCD_CRM_API_KEY}
    auth:
      password: ${env:SYNCD_CRM_AUTH_PASSWORD}
      user: u
    region: eu
`
	secretsHead := `# Imported by syncd from MakeConnection acme2.
# Secrets are not exported: set these variables before loading it:
#   SYNCD_CRM_API_KEY  (spec/common/api_key)
#   SYNCD_CRM_AUTH_PASSWORD  (spec/common/auth/password)
`
	noSecretsHead := `# Imported by syncd from MakeConnection acme2.
# common is not managed: it holds secrets (api_key, auth/password) and is written as a whole; import with --secrets-as-env to manage it through environment variables.
`
	liveWant := importedLive().Spec
	liveWant["sections"] = map[string]any{
		"api": map[string]any{"url": "https://x"}, "parameters": []any{map[string]any{"name": "a"}},
		"scopes": map[string]any{}, "scope": []any{}, "install": map[string]any{"size": 1.0}, "installSpec": []any{},
	}
	liveWant["common"] = map[string]any{"region": "eu", "api_key": "key-value", "auth": map[string]any{"password": "pw-value", "user": "u"}}
	for _, tc := range []struct {
		name  string
		opts  desired.WriteOptions
		files map[string]string
		want  string
	}{
		{"secrets as env", desired.WriteOptions{SecretsAsEnv: true}, nil, secretsHead + importedHead + inline + common},
		{"secrets left out", desired.WriteOptions{}, nil, noSecretsHead + importedHead + inline},
		{"sections in files", desired.WriteOptions{SecretsAsEnv: true, SectionFiles: map[string]string{
			"api": "crm.api.jsonc", "parameters": "crm.parameters.jsonc", "scopes": "crm.scopes.jsonc"}},
			map[string]string{"crm.api.jsonc": `{"url": "https://x"}`, "crm.parameters.jsonc": `[{"name": "a"}]`},
			secretsHead + importedHead + withFiles + common},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := desired.WriteManifestWith(&b, importedLive(), "crm", tc.opts); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, b.String()); diff != "" {
				t.Fatalf("manifest (-want +got):\n%s", diff)
			}
			set, es := load(t, strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n"), tc.files)
			if len(es) > 0 {
				t.Fatalf("the import does not load: %v", es)
			}
			want := liveWant
			if !tc.opts.SecretsAsEnv {
				want = map[string]any{}
				for k, v := range liveWant {
					if k != "common" {
						want[k] = v
					}
				}
			}
			if diff := cmp.Diff(want, set.Resources[0].Spec); diff != "" {
				t.Errorf("loaded back (-want +got):\n%s", diff)
			}
		})
	}
}

// TestImportWritesWhatItHas: a spec without sections, common or a
// connected system name writes none of them; common without a secret is
// written as it is whether or not secrets are exported; sections that are
// all absent write no sections field.
func TestImportWritesWhatItHas(t *testing.T) {
	head := "# Imported by syncd from MakeConnection acme2.\napiVersion: syncd/v1\nkind: MakeConnection\nmetadata:\n  name: crm\n  externalId: acme2\nspec:\n  app: acme\n  type: basic\n  label: Main\n"
	for _, tc := range []struct {
		name string
		spec map[string]any
		want string
	}{
		{"required only", map[string]any{"app": "acme", "type": "basic", "label": "Main"}, head},
		{"no section", map[string]any{"app": "acme", "type": "basic", "label": "Main", "sections": map[string]any{}}, head},
		{"plain common", map[string]any{"app": "acme", "type": "basic", "label": "Main", "common": map[string]any{"region": "eu"}},
			head + "  common:\n    region: eu\n"},
		{"null api", map[string]any{"app": "acme", "type": "basic", "label": "Main", "sections": map[string]any{"api": nil}},
			head + "  sections:\n    api: {}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, secrets := range []bool{true, false} {
				live := syncd.Live{Kind: syncd.MakeConnection, RemoteID: "acme2", Spec: tc.spec}
				var b bytes.Buffer
				// A file for a null section is not used: it has no text.
				opts := desired.WriteOptions{SecretsAsEnv: secrets, SectionFiles: map[string]string{"api": "x.jsonc"}}
				if tc.name != "null api" {
					opts.SectionFiles = nil
				}
				if err := desired.WriteManifestWith(&b, live, "crm", opts); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.want, b.String()); diff != "" {
					t.Errorf("secrets as env %v: manifest (-want +got):\n%s", secrets, diff)
				}
			}
		})
	}
}

// TestPlaceholdersNameEverySecretOfCommon: every common key whose name
// says secret, at any depth, gets a variable named after the manifest and
// the key path, with its pointer escaped; a secret mapping is one
// placeholder, not one per key inside it.
func TestPlaceholdersNameEverySecretOfCommon(t *testing.T) {
	spec := map[string]any{"common": map[string]any{
		"region": "eu",
		"a/b":    map[string]any{"Token": "t", "n": 1.0},
		"secret": map[string]any{"x": "y"},
		"plain":  "p",
	}}
	got := makeplatform.Platform{}.Placeholders(spec, "crm")
	want := []string{"SYNCD_CRM_A_B_TOKEN /common/a~1b/Token", "SYNCD_CRM_SECRET /common/secret"}
	var g []string
	for _, p := range got {
		g = append(g, p.Env+" "+p.Pointer)
	}
	if diff := cmp.Diff(want, g); diff != "" {
		t.Errorf("placeholders (-want +got):\n%s", diff)
	}
	if got := (makeplatform.Platform{}).Placeholders(map[string]any{"app": "acme"}, "crm"); got != nil {
		t.Errorf("placeholders without common = %v", got)
	}
}

// TestConnectionFormatFacts: the natural key, the include parent, no keyed
// list, and the schema's spec definition.
func TestConnectionFormatFacts(t *testing.T) {
	p := makeplatform.Platform{}
	if p.NaturalKeyField() != "spec.label" || p.NaturalKeyTerm() != "natural key (app + label)" || p.IncludeParent() != "sections" || p.SchemaSpec() != "makeSpec" {
		t.Errorf("facts: %q %q %q %q", p.NaturalKeyField(), p.NaturalKeyTerm(), p.IncludeParent(), p.SchemaSpec())
	}
	if diff := cmp.Diff([]string{"/app", "/label"}, p.NaturalKeyPointers()); diff != "" {
		t.Errorf("natural key pointers (-want +got):\n%s", diff)
	}
	if _, _, ok := p.KeyedList("sections"); ok {
		t.Error("a connection has a keyed list")
	}
	if s := p.SchemaDefinitions(); !strings.Contains(s, `"makeSpec"`) || strings.HasSuffix(s, "\n") {
		t.Errorf("schema definitions: %.80q...", s)
	}
}
