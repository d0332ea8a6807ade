package patchworks_test

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
	"github.com/syncd/syncd/internal/platform/patchworks"
	"github.com/syncd/syncd/internal/syncd"
)

// The PatchworksConnector manifest format, pinned here with the loader it
// plugs into (internal/desired) so that every decision of manifest.go is
// defended by this package's own tests.

// base is a valid connector document; tests add lines from line 12 on.
var base = []string{
	"apiVersion: syncd/v1",      // 1
	"kind: PatchworksConnector", // 2
	"metadata:",                 // 3
	"  name: shop",              // 4
	"spec:",                     // 5
	"  name: Shop",              // 6
	"  authentication_implementation_id: \"42\"", // 7
	"  timezone: Europe/London",                  // 8
	"  date_format: d/m/Y",                       // 9
	"  rate_limit_unit: minute",                  // 10
	"  rate_limit_duration: 60",                  // 11
}

var env = map[string]string{"PW": "s3cret-value", "SYNCD_SHOP_PW": "pw-value", "SYNCD_SHOP_API_KEY": "key-value"}

// load loads one manifest made of lines with only the Patchworks format.
func load(t *testing.T, lines []string) (*desired.Set, desired.Errors) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "m.yaml"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := desired.Load(dir, desired.Options{
		Platforms: []platform.Platform{patchworks.Platform{}},
		Getenv:    func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
	var es desired.Errors
	if err != nil && !errors.As(err, &es) {
		t.Fatalf("Load: %v", err)
	}
	return set, es
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

// TestDecodeConnectorSpec: every field a manifest may set decodes to the
// canonical value syncd compares with the API's, variables keyed by key,
// and a secret variable's value is marked sensitive.
func TestDecodeConnectorSpec(t *testing.T) {
	set, es := load(t, with(
		"  type: null",             // 12
		"  certificate_id: 12",     // 13
		"  session_id: sess",       // 14
		"  platform_app_key: null", // 15
		"  connection_pool_id: 3",  // 16
		"  variables:",             // 17
		"    - key: host",          // 18
		"      value: 443",         // 19
		"      label: null",        // 20
		"      locked: true",       // 21
		"      pivot: {alias: H, configurable: true, required: false, advanced: true}",
		"    - key: pw",
		"      value: ${env:PW}",
		"      secret: true",
		"    - key: blank",
		"      value: null",
		"      label: Blank",
		"      secret: false",
		"      pivot: {alias: null}",
		"    - key: ratio",
		"      value: 1.5",
		"    - key: bare",
	))
	if len(es) > 0 {
		t.Fatalf("errors: %v", es)
	}
	if len(set.Resources) != 1 {
		t.Fatalf("resources: %d", len(set.Resources))
	}
	d := set.Resources[0]
	want := map[string]any{
		"name": "Shop", "authentication_implementation_id": "42", "timezone": "Europe/London",
		"date_format": "d/m/Y", "rate_limit_unit": "minute", "rate_limit_duration": 60.0,
		"type": nil, "certificate_id": "12", "session_id": "sess", "platform_app_key": nil,
		"connection_pool_id": 3.0,
		"variables": map[string]any{
			"host": map[string]any{"key": "host", "value": "443", "label": nil, "locked": true,
				"pivot": map[string]any{"alias": "H", "configurable": true, "required": false, "advanced": true}},
			"pw":    map[string]any{"key": "pw", "value": "s3cret-value", "secret": true},
			"blank": map[string]any{"key": "blank", "value": nil, "label": "Blank", "secret": false, "pivot": map[string]any{"alias": nil}},
			"ratio": map[string]any{"key": "ratio", "value": "1.5"},
			"bare":  map[string]any{"key": "bare"},
		},
	}
	if diff := cmp.Diff(want, d.Spec); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"/variables/pw/value"}, d.Sensitive); diff != "" {
		t.Errorf("sensitive (-want +got):\n%s", diff)
	}
}

// TestDecodeSecretVariableWithoutValue: a variable marked secret with no
// value marks nothing sensitive, and a plain value from ${env:} is
// sensitive because it came from a secret reference, not because of the
// flag.
func TestDecodeSecretVariableWithoutValue(t *testing.T) {
	set, es := load(t, with(
		"  variables:",
		"    - {key: a, secret: true}",
		"    - {key: b, value: plain, secret: false}",
	))
	if len(es) > 0 {
		t.Fatalf("errors: %v", es)
	}
	if got := set.Resources[0].Sensitive; len(got) != 0 {
		t.Errorf("sensitive = %v, want none", got)
	}
}

// TestDecodeExternalIDMayBeAnInteger: metadata.externalId is a connector
// id, written as a string or an integer.
func TestDecodeExternalIDMayBeAnInteger(t *testing.T) {
	for _, line := range []string{"  externalId: 123", `  externalId: "123"`} {
		lines := append(append(append([]string(nil), base[:4]...), line), base[4:]...)
		set, es := load(t, lines)
		if len(es) > 0 {
			t.Fatalf("%s: errors: %v", line, es)
		}
		if got := set.Resources[0].ExternalID; got != "123" {
			t.Errorf("%s: externalId = %q, want 123", line, got)
		}
	}
	lines := append(append(append([]string(nil), base[:4]...), "  externalId: [1]"), base[4:]...)
	if _, es := load(t, lines); len(es) != 1 || es[0].Field != "metadata.externalId" {
		t.Errorf("a list as externalId: %v", es)
	}
}

// TestDecodeConnectorErrors: every problem is reported at its file, line,
// column and field, and the document does not load.
func TestDecodeConnectorErrors(t *testing.T) {
	type want struct {
		line, col int
		field     string
		msg       string
	}
	for _, tc := range []struct {
		name  string
		lines []string
		want  []want
	}{
		{"required field missing", replaced("  timezone:", "  typo: x"),
			[]want{{5, 1, "spec.timezone", "required field is missing"}, {8, 3, "spec.typo", "unknown field"}}},
		{"empty name", replaced("  name: Shop", `  name: ""`),
			[]want{{6, 9, "spec.name", "must not be empty"}}},
		{"name not a string", replaced("  name: Shop", "  name: [a]"),
			[]want{{6, 9, "spec.name", "must be a string"}}},
		{"empty required text", replaced("  timezone:", `  timezone: ""`),
			[]want{{8, 13, "spec.timezone", "must not be empty"}}},
		{"empty required id", replaced("  authentication_implementation_id:", `  authentication_implementation_id: ""`),
			[]want{{7, 37, "spec.authentication_implementation_id", "must not be empty"}}},
		{"empty optional text", with(`  type: ""`),
			[]want{{12, 9, "spec.type", "an empty string is stored as null by Patchworks: write null"}}},
		{"empty optional id", with(`  certificate_id: ''`),
			[]want{{12, 19, "spec.certificate_id", "write null"}}},
		{"null required text", replaced("  date_format:", "  date_format: null"),
			[]want{{9, 16, "spec.date_format", "must be a string"}}},
		{"bad enum", replaced("  rate_limit_unit:", "  rate_limit_unit: fortnight"),
			[]want{{10, 20, "spec.rate_limit_unit", `"fortnight" is not one of`}}},
		{"bad duration", replaced("  rate_limit_duration:", "  rate_limit_duration: null"),
			[]want{{11, 24, "spec.rate_limit_duration", "must be an integer"}}},
		{"variables not a list", with("  variables: {a: 1}"),
			[]want{{12, 14, "spec.variables", "must be a list of variables, got a mapping"}}},
		{"variable not a mapping", with("  variables:", "    - 5", "    - {key: ok}"),
			[]want{{13, 7, "spec.variables[0]", "must be a mapping"}}},
		{"variable without key", with("  variables:", "    - {value: x}"),
			[]want{{13, 7, "spec.variables[0].key", "required field is missing"}}},
		{"variable key not a string", with("  variables:", "    - {key: [k]}"),
			[]want{{13, 13, "spec.variables[0].key", "must be a string"}}},
		{"empty variable key", with("  variables:", `    - {key: ""}`),
			[]want{{13, 13, "spec.variables[0].key", "must not be empty"}}},
		{"duplicate variable key", with("  variables:", "    - {key: a}", "    - {key: b}", "    - {key: a}"),
			[]want{{15, 13, "spec.variables[2].key", `duplicate variable key "a" (first at spec.variables[0])`}}},
		{"unknown variable field", with("  variables:", "    - {key: a, colour: red}"),
			[]want{{13, 16, "spec.variables[0].colour", "unknown field"}}},
		{"boolean value", with("  variables:", "    - {key: a, value: true}"),
			[]want{{13, 23, "spec.variables[0].value", "must be a string or null, got a boolean"}}},
		{"list value", with("  variables:", "    - {key: a, value: [x]}"),
			[]want{{13, 23, "spec.variables[0].value", "must be a string or null, got a list"}}},
		{"label not a string", with("  variables:", "    - {key: a, label: {x: 1}}"),
			[]want{{13, 23, "spec.variables[0].label", "must be a string"}}},
		{"secret not a boolean", with("  variables:", "    - {key: a, secret: yes}"),
			[]want{{13, 24, "spec.variables[0].secret", "must be a boolean"}}},
		{"locked not a boolean", with("  variables:", "    - {key: a, locked: 1}"),
			[]want{{13, 24, "spec.variables[0].locked", "must be a boolean"}}},
		{"pivot not a mapping", with("  variables:", "    - {key: a, pivot: [x]}"),
			[]want{{13, 23, "spec.variables[0].pivot", "must be a mapping"}}},
		{"pivot alias not a string", with("  variables:", "    - {key: a, pivot: {alias: [x]}}"),
			[]want{{13, 31, "spec.variables[0].pivot.alias", "must be a string"}}},
		{"pivot flag not a boolean", with("  variables:", "    - {key: a, pivot: {alias: x, required: maybe}}"),
			[]want{{13, 44, "spec.variables[0].pivot.required", "must be a boolean"}}},
		{"unknown pivot field", with("  variables:", "    - {key: a, pivot: {colour: red}}"),
			[]want{{13, 24, "spec.variables[0].pivot.colour", "unknown field"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, es := load(t, tc.lines)
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

// importedLive is a connector as observed, with two secret variables
// (write-only: one reads back null, one without a value at all).
func importedLive(vars map[string]any) syncd.Live {
	return syncd.Live{Kind: syncd.PatchworksConnector, RemoteID: "7", Spec: map[string]any{
		"name": "Shop", "authentication_implementation_id": "42", "timezone": "UTC", "date_format": "Y-m-d",
		"rate_limit_unit": "minute", "rate_limit_duration": 60.0, "connection_pool_id": nil, "type": "rest",
		"variables": vars,
	}}
}

const importedHead = `apiVersion: syncd/v1
kind: PatchworksConnector
metadata:
  name: shop
  externalId: "7"
spec:
  name: Shop
  authentication_implementation_id: "42"
  type: rest
  timezone: UTC
  date_format: Y-m-d
  rate_limit_unit: minute
  rate_limit_duration: 60
  connection_pool_id: null
`

// TestImportWritesConnectorManifest: an import writes the fields in the
// manifest's order, variables as a list sorted by key with a flow-style
// pivot, every secret variable's value as an ${env:} placeholder (or, when
// secrets are not exported, leaves the secret variables out and says
// which), and the result loads back to the live spec.
func TestImportWritesConnectorManifest(t *testing.T) {
	vars := map[string]any{
		"host":    map[string]any{"key": "host", "value": "h", "label": "Host", "locked": false, "pivot": map[string]any{"required": true, "alias": "H"}},
		"pw":      map[string]any{"key": "pw", "value": nil, "secret": true, "label": "Password"},
		"api key": map[string]any{"key": "api key", "secret": true},
	}
	live := importedLive(vars)
	hostLines := `    - key: host
      value: h
      label: Host
      locked: false
      pivot: {alias: H, required: true}
`
	for _, tc := range []struct {
		name string
		opts desired.WriteOptions
		want string
	}{
		{"secrets as env", desired.WriteOptions{SecretsAsEnv: true}, `# Imported by syncd from PatchworksConnector 7.
# Secrets are not exported: set these variables before loading it:
#   SYNCD_SHOP_API_KEY  (spec/variables/api key/value)
#   SYNCD_SHOP_PW  (spec/variables/pw/value)
` + importedHead + `  variables:
    - key: api key
      value: ${env:SYNCD_SHOP_API_KEY}
      secret: true
` + hostLines + `    - key: pw
      value: ${env:SYNCD_SHOP_PW}
      label: Password
      secret: true
`},
		{"secrets left out", desired.WriteOptions{}, `# Imported by syncd from PatchworksConnector 7.
# Secret variables not managed (left as they are): api key, pw; import with --secrets-as-env to manage them through environment variables.
` + importedHead + "  variables:\n" + hostLines},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := desired.WriteManifestWith(&b, live, "shop", tc.opts); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, b.String()); diff != "" {
				t.Fatalf("manifest (-want +got):\n%s", diff)
			}
			set, es := load(t, strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n"))
			if len(es) > 0 {
				t.Fatalf("the import does not load: %v", es)
			}
			want := importedLive(map[string]any{"host": vars["host"]})
			if tc.opts.SecretsAsEnv {
				want = importedLive(map[string]any{
					"host":    vars["host"],
					"pw":      map[string]any{"key": "pw", "value": "pw-value", "secret": true, "label": "Password"},
					"api key": map[string]any{"key": "api key", "value": "key-value", "secret": true},
				})
			}
			if diff := cmp.Diff(want.Spec, set.Resources[0].Spec); diff != "" {
				t.Errorf("loaded back (-want +got):\n%s", diff)
			}
		})
	}
}

// TestImportWithOnlySecretVariablesLeavesVariablesOut: when every variable
// is secret and secrets are not exported, no variables field is written
// (an empty list would declare none).
func TestImportWithOnlySecretVariablesLeavesVariablesOut(t *testing.T) {
	live := importedLive(map[string]any{"pw": map[string]any{"key": "pw", "secret": true}})
	var b bytes.Buffer
	if err := desired.WriteManifestWith(&b, live, "shop", desired.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	want := "# Imported by syncd from PatchworksConnector 7.\n# Secret variables not managed (left as they are): pw; import with --secrets-as-env to manage them through environment variables.\n" + importedHead
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("manifest (-want +got):\n%s", diff)
	}
	// The live spec is not changed by leaving its secrets out.
	if _, ok := live.Spec["variables"].(map[string]any)["pw"]; !ok {
		t.Error("WithoutSecrets changed the live spec")
	}
}

// TestVariablesAreAKeyedList: edits address a variable by its key.
func TestVariablesAreAKeyedList(t *testing.T) {
	if k, n, ok := (patchworks.Platform{}).KeyedList("variables"); k != "key" || n != "variable" || !ok {
		t.Errorf("KeyedList(variables) = %q, %q, %v", k, n, ok)
	}
	if _, _, ok := (patchworks.Platform{}).KeyedList("name"); ok {
		t.Error("KeyedList(name) is keyed")
	}
}
