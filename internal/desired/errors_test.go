package desired

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// wantErr is one expected problem; Msg is a substring of the message.
type wantErr struct {
	File  string
	Line  int
	Col   int
	Field string
	Msg   string
}

// gotErrors turns Load's error into wantErrs relative to dir, keeping whole
// messages (compared by substring afterwards).
func gotErrors(t *testing.T, dir string, err error) []wantErr {
	t.Helper()
	if err == nil {
		return nil
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("Load error is %T, want Errors", err)
	}
	out := make([]wantErr, len(es))
	for i, e := range es {
		out[i] = wantErr{File: strings.TrimPrefix(e.File, dir+"/"), Line: e.Line, Col: e.Col, Field: e.Field, Msg: e.Msg}
	}
	return out
}

func checkErrors(t *testing.T, dir string, err error, want []wantErr) {
	t.Helper()
	got := gotErrors(t, dir, err)
	pos := func(ws []wantErr) []wantErr {
		out := make([]wantErr, len(ws))
		for i, w := range ws {
			w.Msg = ""
			out[i] = w
		}
		return out
	}
	if diff := cmp.Diff(pos(want), pos(got)); diff != "" {
		t.Fatalf("errors (-want +got):\n%s\nall: %v", diff, err)
	}
	for i := range want {
		if !strings.Contains(got[i].Msg, want[i].Msg) {
			t.Errorf("error %d: message %q does not contain %q", i, got[i].Msg, want[i].Msg)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		env   map[string]string
		want  []wantErr
	}{
		{
			name:  "yaml syntax",
			files: map[string]string{"a.yaml": doc("apiVersion: syncd/v1", "kind: [MakeConnection", "metadata: {}")},
			want:  []wantErr{{File: "a.yaml", Line: 3, Col: 9, Msg: "YAML syntax error"}},
		},
		{
			name:  "yaml syntax in a later document keeps the earlier ones",
			files: map[string]string{"a.yml": with(makeDoc, "---", "a: : b")},
			want:  []wantErr{{File: "a.yml", Line: 10, Col: 4, Msg: "YAML syntax error"}},
		},
		{
			name:  "tab indentation",
			files: map[string]string{"a.yaml": "apiVersion: syncd/v1\n\tkind: x\n"},
			want:  []wantErr{{File: "a.yaml", Line: 2, Col: 1, Msg: "YAML syntax error"}},
		},
		{
			name:  "unknown apiVersion",
			files: map[string]string{"a.yaml": doc(replace(makeDoc, "apiVersion", "apiVersion: syncd/v2")...)},
			want:  []wantErr{{File: "a.yaml", Line: 1, Col: 13, Field: "apiVersion", Msg: `unsupported apiVersion "syncd/v2"`}},
		},
		{
			name:  "unknown kind",
			files: map[string]string{"a.yaml": doc(replace(makeDoc, "kind", "kind: MakeScenario")...)},
			want:  []wantErr{{File: "a.yaml", Line: 2, Col: 7, Field: "kind", Msg: `unknown kind "MakeScenario"`}},
		},
		{
			name:  "unknown top-level field",
			files: map[string]string{"a.yaml": with(makeDoc, "status: {}")},
			want:  []wantErr{{File: "a.yaml", Line: 9, Col: 1, Field: "status", Msg: `unknown field "status"`}},
		},
		{
			name:  "unknown metadata field",
			files: map[string]string{"a.yaml": doc(replace(makeDoc, "  name: crm", "  name: crm\n  namespace: x")...)},
			want:  []wantErr{{File: "a.yaml", Line: 5, Col: 3, Field: "metadata.namespace", Msg: `unknown field "namespace"`}},
		},
		{
			name:  "unknown Make spec field",
			files: map[string]string{"a.yaml": with(makeDoc, "  lable: typo")},
			want:  []wantErr{{File: "a.yaml", Line: 9, Col: 3, Field: "spec.lable", Msg: `unknown field "lable"`}},
		},
		{
			name:  "unknown section",
			files: map[string]string{"a.yaml": with(makeDoc, "  sections:", "    apis: {}")},
			want:  []wantErr{{File: "a.yaml", Line: 10, Col: 5, Field: "spec.sections.apis", Msg: `unknown field "apis"`}},
		},
		{
			name:  "unknown policy field",
			files: map[string]string{"a.yaml": with(makeDoc, "policy:", "  prune: true")},
			want:  []wantErr{{File: "a.yaml", Line: 10, Col: 3, Field: "policy.prune", Msg: `unknown field "prune"`}},
		},
		{
			name:  "unknown Patchworks spec field",
			files: map[string]string{"a.yaml": with(pwDoc, "  id: 7")},
			want:  []wantErr{{File: "a.yaml", Line: 12, Col: 3, Field: "spec.id", Msg: `unknown field "id"`}},
		},
		{
			name:  "unknown variable field",
			files: map[string]string{"a.yaml": with(pwDoc, "  variables:", "    - key: a", "      id: 3")},
			want:  []wantErr{{File: "a.yaml", Line: 14, Col: 7, Field: "spec.variables[0].id", Msg: `unknown field "id"`}},
		},
		{
			name:  "unknown pivot field",
			files: map[string]string{"a.yaml": with(pwDoc, "  variables:", "    - key: a", "      pivot: {alias: x, hidden: true}")},
			want:  []wantErr{{File: "a.yaml", Line: 14, Col: 25, Field: "spec.variables[0].pivot.hidden", Msg: `unknown field "hidden"`}},
		},
		{
			name:  "wrong type integer",
			files: map[string]string{"a.yaml": doc(replace(pwDoc, "  rate_limit_duration", `  rate_limit_duration: "60"`)...)},
			want:  []wantErr{{File: "a.yaml", Line: 11, Col: 24, Field: "spec.rate_limit_duration", Msg: "must be an integer, got a string"}},
		},
		{
			name:  "wrong type mapping",
			files: map[string]string{"a.yaml": doc(replace(makeDoc, "spec:", "spec: [1]")[:5]...)},
			want:  []wantErr{{File: "a.yaml", Line: 5, Col: 7, Field: "spec", Msg: "must be a mapping, got a list"}},
		},
		{
			name:  "wrong type label value",
			files: map[string]string{"a.yaml": doc(replace(makeDoc, "  name: crm", "  name: crm\n  labels: {team: 3}")...)},
			want:  []wantErr{{File: "a.yaml", Line: 5, Col: 18, Field: "metadata.labels.team", Msg: "must be a string, got an integer"}},
		},
		{
			name:  "wrong type boolean",
			files: map[string]string{"a.yaml": with(pwDoc, "  variables:", "    - key: a", "      secret: \"yes\"")},
			want:  []wantErr{{File: "a.yaml", Line: 14, Col: 15, Field: "spec.variables[0].secret", Msg: "must be a boolean"}},
		},
		{
			name:  "wrong section shape",
			files: map[string]string{"a.yaml": with(makeDoc, "  sections:", "    parameters: {a: 1}")},
			want:  []wantErr{{File: "a.yaml", Line: 10, Col: 17, Field: "spec.sections.parameters", Msg: "must be a list (array), got a mapping"}},
		},
		{
			name:  "common not a mapping",
			files: map[string]string{"a.yaml": with(makeDoc, "  common: [a]")},
			want:  []wantErr{{File: "a.yaml", Line: 9, Col: 11, Field: "spec.common", Msg: "must be a mapping"}},
		},
		{
			name:  "bad enum Make type",
			files: map[string]string{"a.yaml": doc(replace(makeDoc, "  type", "  type: oauth2")...)},
			want:  []wantErr{{File: "a.yaml", Line: 7, Col: 9, Field: "spec.type", Msg: `"oauth2" is not one of oauth, oauth-refresh`}},
		},
		{
			name:  "bad enum policy mode",
			files: map[string]string{"a.yaml": with(makeDoc, "policy: {mode: apply}")},
			want:  []wantErr{{File: "a.yaml", Line: 9, Col: 16, Field: "policy.mode", Msg: `"apply" is not one of enforce, report`}},
		},
		{
			name:  "bad enum rate limit unit",
			files: map[string]string{"a.yaml": doc(replace(pwDoc, "  rate_limit_unit", "  rate_limit_unit: week")...)},
			want:  []wantErr{{File: "a.yaml", Line: 10, Col: 20, Field: "spec.rate_limit_unit", Msg: `"week" is not one of second, minute, hour, day`}},
		},
		{
			name:  "missing required Make field",
			files: map[string]string{"a.yaml": doc(replace(makeDoc, "  label", "")...)},
			want:  []wantErr{{File: "a.yaml", Line: 5, Col: 1, Field: "spec.label", Msg: "required field is missing"}},
		},
		{
			name:  "missing required Patchworks fields",
			files: map[string]string{"a.yaml": doc(replace(replace(pwDoc, "  timezone", ""), "  rate_limit_duration", "")...)},
			want: []wantErr{
				{File: "a.yaml", Line: 5, Col: 1, Field: "spec.timezone", Msg: "required field is missing"},
				{File: "a.yaml", Line: 5, Col: 1, Field: "spec.rate_limit_duration", Msg: "required field is missing"},
			},
		},
		{
			name:  "missing spec and name",
			files: map[string]string{"a.yaml": doc("apiVersion: syncd/v1", "kind: MakeConnection", "metadata:", "  labels: {}")},
			want: []wantErr{
				{File: "a.yaml", Line: 1, Col: 1, Field: "spec", Msg: "required field is missing"},
				{File: "a.yaml", Line: 3, Col: 1, Field: "metadata.name", Msg: "required field is missing"},
			},
		},
		{
			name:  "missing variable key",
			files: map[string]string{"a.yaml": with(pwDoc, "  variables:", "    - value: x")},
			want:  []wantErr{{File: "a.yaml", Line: 13, Col: 7, Field: "spec.variables[0].key", Msg: "required field is missing"}},
		},
		{
			name:  "invalid metadata name",
			files: map[string]string{"a.yaml": doc(replace(makeDoc, "  name: crm", "  name: ACME_crm")...)},
			want:  []wantErr{{File: "a.yaml", Line: 4, Col: 9, Field: "metadata.name", Msg: `"ACME_crm" is not a valid name`}},
		},
		{
			name:  "metadata name too long",
			files: map[string]string{"a.yaml": doc(replace(makeDoc, "  name: crm", "  name: "+strings.Repeat("a", 64))...)},
			want:  []wantErr{{File: "a.yaml", Line: 4, Col: 9, Field: "metadata.name", Msg: "longer than 63"}},
		},
		{
			name: "duplicate name within a kind",
			files: map[string]string{
				"a.yaml":     with(makeDoc),
				"sub/b.yaml": doc(replace(makeDoc, "  label", "  label: Other")...),
			},
			want: []wantErr{{File: "sub/b.yaml", Line: 4, Col: 9, Field: "metadata.name", Msg: `duplicate MakeConnection name "crm" (first defined at `}},
		},
		{
			name: "duplicate Make natural key",
			files: map[string]string{
				"a.yaml": with(makeDoc, "---", doc(replace(makeDoc, "  name: crm", "  name: crm2")...)),
			},
			want: []wantErr{{File: "a.yaml", Line: 17, Col: 10, Field: "spec.label", Msg: `duplicate MakeConnection natural key (app + label) "acme-crm/ACME": also used by crm`}},
		},
		{
			name: "duplicate Patchworks natural key",
			files: map[string]string{
				"a.yaml": with(pwDoc),
				"b.yaml": doc(replace(pwDoc, "  name: shop", "  name: shop2")...),
			},
			want: []wantErr{{File: "b.yaml", Line: 6, Col: 9, Field: "spec.name", Msg: `duplicate PatchworksConnector natural key "Shop": also used by shop`}},
		},
		{
			name:  "duplicate variable key",
			files: map[string]string{"a.yaml": with(pwDoc, "  variables:", "    - key: a", "    - key: a")},
			want:  []wantErr{{File: "a.yaml", Line: 14, Col: 12, Field: "spec.variables[1].key", Msg: `duplicate variable key "a" (first at spec.variables[0])`}},
		},
		{
			name:  "duplicate yaml key",
			files: map[string]string{"a.yaml": with(makeDoc, "  label: again")},
			want:  []wantErr{{File: "a.yaml", Line: 9, Col: 3, Field: "spec.label", Msg: `duplicate key "label"`}},
		},
		{
			name:  "malformed ignore pointer",
			files: map[string]string{"a.yaml": with(makeDoc, "policy:", "  ignore: [/ok, label, /a~2b]")},
			want: []wantErr{
				{File: "a.yaml", Line: 10, Col: 17, Field: "policy.ignore[1]", Msg: "it must start with /"},
				{File: "a.yaml", Line: 10, Col: 24, Field: "policy.ignore[2]", Msg: "~ must be followed by 0 or 1"},
			},
		},
		{
			name:  "missing $file",
			files: map[string]string{"a.yaml": with(makeDoc, "  sections:", "    api: {$file: nope.jsonc}")},
			want:  []wantErr{{File: "a.yaml", Line: 10, Col: 18, Field: "spec.sections.api.$file", Msg: "cannot read "}},
		},
		{
			name: "malformed $file",
			files: map[string]string{
				"a.yaml":        with(makeDoc, "  sections:", "    api:", "      $file: api/bad.jsonc"),
				"api/bad.jsonc": "{\n  // comment\n  \"a\": 1,,\n}\n",
			},
			want: []wantErr{{File: "a.yaml", Line: 11, Col: 14, Field: "spec.sections.api.$file", Msg: "api/bad.jsonc is not valid JSONC: line 3, column 10"}},
		},
		{
			name: "$file with the wrong shape",
			files: map[string]string{
				"a.yaml":      with(makeDoc, "  sections:", "    scope: {$file: s.jsonc}"),
				"s.jsonc":     "{}",
				"unused.json": "not yaml, ignored",
			},
			want: []wantErr{{File: "a.yaml", Line: 10, Col: 20, Field: "spec.sections.scope.$file", Msg: "must hold a list (array)"}},
		},
		{
			name: "$file with another key",
			files: map[string]string{
				"a.yaml":  with(makeDoc, "  sections:", "    scope: {$file: s.jsonc, x: 1}"),
				"s.jsonc": "[]",
			},
			want: []wantErr{{File: "a.yaml", Line: 10, Col: 29, Field: "spec.sections.scope.x", Msg: `unknown field "x" (known fields: $file)`}},
		},
		{
			name:  "unset env reference",
			files: map[string]string{"a.yaml": with(makeDoc, "  common:", "    clientSecret: ${env:ACME_SECRET}")},
			want:  []wantErr{{File: "a.yaml", Line: 10, Col: 19, Field: "spec.common.clientSecret", Msg: "environment variable ACME_SECRET is not set"}},
		},
		{
			name:  "empty env reference",
			files: map[string]string{"a.yaml": with(makeDoc, "  common:", "    clientSecret: ${env:ACME_SECRET}")},
			env:   map[string]string{"ACME_SECRET": ""},
			want:  []wantErr{{File: "a.yaml", Line: 10, Col: 19, Field: "spec.common.clientSecret", Msg: "environment variable ACME_SECRET is set but empty"}},
		},
		{
			name:  "invalid env name",
			files: map[string]string{"a.yaml": with(makeDoc, "  common:", "    clientSecret: ${env:1-A}")},
			want:  []wantErr{{File: "a.yaml", Line: 10, Col: 19, Field: "spec.common.clientSecret", Msg: `invalid environment variable name "1-A"`}},
		},
		{
			name:  "empty references",
			files: map[string]string{"a.yaml": with(makeDoc, "  common:", "    a: ${env:}", "    b: ${file:}")},
			want: []wantErr{
				{File: "a.yaml", Line: 10, Col: 8, Field: "spec.common.a", Msg: `invalid environment variable name ""`},
				{File: "a.yaml", Line: 11, Col: 8, Field: "spec.common.b", Msg: "empty path in ${file:} reference"},
			},
		},
		{
			name:  "missing file reference",
			files: map[string]string{"a.yaml": with(pwDoc, "  variables:", "    - key: token", "      value: ${file:secrets/token}")},
			want:  []wantErr{{File: "a.yaml", Line: 14, Col: 14, Field: "spec.variables[0].value", Msg: "cannot read secret file"}},
		},
		{
			name:  "NaN in common",
			files: map[string]string{"a.yaml": with(makeDoc, "  common:", "    ratio: .nan")},
			want:  []wantErr{{File: "a.yaml", Line: 10, Col: 12, Field: "spec.common.ratio", Msg: "NaN and infinity"}},
		},
		{
			name:  "custom tag",
			files: map[string]string{"a.yaml": with(makeDoc, "  common:", "    x: !vault secret/path")},
			want:  []wantErr{{File: "a.yaml", Line: 10, Col: 8, Field: "spec.common.x", Msg: "unsupported YAML tag !vault"}},
		},
		{
			name:  "document is not a mapping",
			files: map[string]string{"a.yaml": "- apiVersion: syncd/v1\n"},
			want:  []wantErr{{File: "a.yaml", Line: 1, Col: 1, Msg: "a manifest document must be a mapping with apiVersion, kind, metadata and spec, got a list"}},
		},
		{
			name:  "externalId must be a string for Make",
			files: map[string]string{"a.yaml": doc(replace(makeDoc, "  name: crm", "  name: crm\n  externalId: 12")...)},
			want:  []wantErr{{File: "a.yaml", Line: 5, Col: 15, Field: "metadata.externalId", Msg: "must be a string, got an integer"}},
		},
		{
			name:  "empty required Patchworks string",
			files: map[string]string{"a.yaml": doc(replace(pwDoc, "  timezone", `  timezone: ""`)...)},
			want:  []wantErr{{File: "a.yaml", Line: 8, Col: 13, Field: "spec.timezone", Msg: "must not be empty"}},
		},
		{
			name:  "empty nullable Patchworks string",
			files: map[string]string{"a.yaml": with(pwDoc, "  certificate_id: ''", "  type: null")},
			want:  []wantErr{{File: "a.yaml", Line: 12, Col: 19, Field: "spec.certificate_id", Msg: "write null"}},
		},
		{
			name:  "connection pool must be an integer or null",
			files: map[string]string{"a.yaml": with(pwDoc, "  connection_pool_id: abc")},
			want:  []wantErr{{File: "a.yaml", Line: 12, Col: 23, Field: "spec.connection_pool_id", Msg: "must be an integer or null, got a string"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, tt.files)
			set, err := Load(dir, env(tt.env))
			if set == nil {
				t.Fatal("Load returned a nil Set")
			}
			checkErrors(t, dir, err, tt.want)
			var es Errors
			if errors.As(err, &es) && len(es) != len(set.Errors) {
				t.Errorf("returned error has %d problems, Set.Errors %d", len(es), len(set.Errors))
			}
		})
	}
}
