package desired

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/syncd"
)

func keys(s *Set) []string {
	var out []string
	for _, d := range s.Resources {
		out = append(out, d.Key.String())
	}
	return out
}

func TestLoadWalk(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"a.yaml":              with(makeDoc),
		"nested/deep/b.YML":   doc(replace(pwDoc, "  name: shop", "  name: shop-b")...),
		".hidden.yaml":        "this: is: not: loaded",
		".git/config.yaml":    "neither: [",
		"sub/.syncd/x.yaml":   "nor: [",
		"notes.txt":           "not: [yaml",
		"empty.yaml":          "",
		"only-comments.yaml":  "# nothing here\n---\n---\n",
		"multi/docs.yaml":     "---\n" + doc(replace(replace(makeDoc, "  name: crm", "  name: one"), "  label", "  label: One")...) + "---\n\n---\n" + doc(replace(replace(makeDoc, "  name: crm", "  name: two"), "  label", "  label: Two")...),
		"multi/trailing.yaml": with(replace(replace(makeDoc, "  name: crm", "  name: three"), "  label", "  label: Three"), "..."),
	})
	set, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"MakeConnection/crm", "MakeConnection/one", "MakeConnection/three", "MakeConnection/two", "PatchworksConnector/shop-b"}
	if diff := cmp.Diff(want, keys(set)); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	var files []string
	for _, f := range set.Files {
		files = append(files, strings.TrimPrefix(f.Path, dir+"/"))
		if !strings.HasPrefix(f.Digest, "sha256:") {
			t.Errorf("digest %q", f.Digest)
		}
	}
	wantFiles := []string{"a.yaml", "empty.yaml", "multi/docs.yaml", "multi/trailing.yaml", "nested/deep/b.YML", "only-comments.yaml"}
	if diff := cmp.Diff(wantFiles, files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if set.Get(syncd.Key{Kind: syncd.MakeConnection, Name: "absent"}) != nil {
		t.Error("Get(absent) found something")
	}
	if got := set.Get(syncd.Key{Kind: syncd.MakeConnection, Name: "two"}).Source; got.File != dir+"/multi/docs.yaml" || got.Line != 13 {
		t.Errorf("source of two = %v", got)
	}
}

func TestLoadMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	set, err := Load(dir, Options{})
	var es Errors
	if !errors.As(err, &es) || len(es) != 1 || es[0].File != dir || !strings.Contains(es[0].Msg, "cannot read manifests directory") {
		t.Fatalf("err = %v", err)
	}
	if set == nil || len(set.Resources) != 0 {
		t.Fatalf("set = %+v", set)
	}
}

// TestLoadReportsEverything: several problems in several files, all in one
// run, in file and position order; clean documents still load.
func TestLoadReportsEverything(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"a.yaml": doc(
			"apiVersion: syncd/v1",
			"kind: MakeConnection",
			"metadata: {name: Bad_Name}",
			"spec:",
			"  app: acme",
			"  type: oauth9",
			"  labl: x",
			"---",
			"apiVersion: syncd/v1",
			"kind: PatchworksConnector",
			"metadata: {name: good}",
			"spec:",
			"  name: Good",
			"  authentication_implementation_id: 1",
			"  timezone: UTC",
			"  date_format: Y-m-d",
			"  rate_limit_unit: hour",
			"  rate_limit_duration: 5",
		),
		"b.yaml": with(pwDoc, "  connection_pool_id: x", "  variables: {}"),
		"c.yaml": "a: [\n",
	})
	set, err := Load(dir, Options{})
	checkErrors(t, dir, err, []wantErr{
		{File: "a.yaml", Line: 3, Col: 18, Field: "metadata.name", Msg: "not a valid name"},
		{File: "a.yaml", Line: 4, Col: 1, Field: "spec.label", Msg: "required field is missing"},
		{File: "a.yaml", Line: 6, Col: 9, Field: "spec.type", Msg: `"oauth9" is not one of`},
		{File: "a.yaml", Line: 7, Col: 3, Field: "spec.labl", Msg: "unknown field"},
		{File: "b.yaml", Line: 12, Col: 23, Field: "spec.connection_pool_id", Msg: "must be an integer or null"},
		{File: "b.yaml", Line: 13, Col: 14, Field: "spec.variables", Msg: "must be a list of variables, got a mapping"},
		{File: "c.yaml", Line: 2, Col: 1, Msg: "YAML syntax error"},
	})
	if diff := cmp.Diff([]string{"PatchworksConnector/good"}, keys(set)); diff != "" {
		t.Errorf("clean resources (-want +got):\n%s", diff)
	}
	if got := set.Resources[0].Spec["authentication_implementation_id"]; got != "1" {
		t.Errorf("integer authentication_implementation_id = %#v, want \"1\"", got)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 7 || !strings.HasPrefix(lines[0], dir+"/a.yaml:3:18: metadata.name: ") {
		t.Errorf("Error() = %q", err.Error())
	}
}

func TestLoadCanonicalSpec(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"m.yaml": doc(
			"apiVersion: syncd/v1",
			"kind: MakeConnection",
			"metadata:",
			"  name: crm",
			"  externalId: acme-crm2",
			"  labels: {team: crm}",
			"policy: {mode: report, protect: true, ignore: [/sections/api/url, /common/a~1b]}",
			"spec:",
			"  app: acme-crm",
			"  type: oauth",
			"  label: ACME",
			"  connectedSystemName: null",
			"  sections:",
			"    api: {$file: api.jsonc}",
			"    scope: [a, b]",
			"    parameters: &params",
			"      - {name: n, type: uint, default: 3, ratio: 0.5, on: true, when: 2026-01-02, hex: 0x10}",
			"    installSpec: *params",
			"  common:",
			"    base: &base {clientId: abc}",
			"    clientSecret: ${env:SECRET}",
			"    apiKey: literal",
			"    nested: {<<: *base, refreshToken: '${file:tok.txt}', plain: '${env:SECRET}x'}",
		),
		"api.jsonc": "// c\n{\"url\": \"https://x\", /* c */ \"n\": [1, 2,],}\n",
		"tok.txt":   "refresh-value\n",
		"p.yaml": doc(
			"apiVersion: syncd/v1",
			"kind: PatchworksConnector",
			"metadata: {name: shop, externalId: 17}",
			"spec:",
			"  name: Shop",
			"  authentication_implementation_id: 42",
			"  timezone: UTC",
			"  date_format: Y-m-d",
			"  rate_limit_unit: second",
			"  rate_limit_duration: 1",
			"  certificate_id: 9",
			"  session_id: null",
			"  variables:",
			"    - {key: b, value: 443, secret: true}",
			"    - {key: a, value: x, label: null, secret: false, locked: true, pivot: {alias: null, required: true}}",
			"    - {key: c, secret: true}",
		),
	})
	set, err := Load(dir, env(map[string]string{"SECRET": "s3cret"}))
	if err != nil {
		t.Fatal(err)
	}
	m := set.Get(syncd.Key{Kind: syncd.MakeConnection, Name: "crm"})
	params := []any{map[string]any{"name": "n", "type": "uint", "default": 3.0, "ratio": 0.5, "on": true, "when": "2026-01-02", "hex": 16.0}}
	wantMake := &syncd.Desired{
		Key:        syncd.Key{Kind: syncd.MakeConnection, Name: "crm"},
		ExternalID: "acme-crm2",
		Labels:     map[string]string{"team": "crm"},
		Policy:     syncd.Policy{Mode: syncd.ModeReport, Protect: true, Ignore: []string{"/sections/api/url", "/common/a~1b"}},
		Spec: map[string]any{
			"app": "acme-crm", "type": "oauth", "label": "ACME", "connectedSystemName": nil,
			"sections": map[string]any{
				"api":         map[string]any{"url": "https://x", "n": []any{1.0, 2.0}},
				"scope":       []any{"a", "b"},
				"parameters":  params,
				"installSpec": params,
			},
			"common": map[string]any{
				"base":         map[string]any{"clientId": "abc"},
				"clientSecret": "s3cret",
				"apiKey":       "literal",
				"nested":       map[string]any{"clientId": "abc", "refreshToken": "refresh-value", "plain": "${env:SECRET}x"},
			},
		},
		Sensitive:   []string{"/common/apiKey", "/common/clientSecret", "/common/nested/refreshToken"},
		RawSections: map[string]string{"api": "// c\n{\"url\": \"https://x\", /* c */ \"n\": [1, 2,],}\n"},
		Source:      syncd.Source{File: dir + "/m.yaml", Line: 1},
	}
	if diff := cmp.Diff(wantMake, m); diff != "" {
		t.Errorf("Make resource (-want +got):\n%s", diff)
	}
	p := set.Get(syncd.Key{Kind: syncd.PatchworksConnector, Name: "shop"})
	wantPW := &syncd.Desired{
		Key:        syncd.Key{Kind: syncd.PatchworksConnector, Name: "shop"},
		ExternalID: "17",
		Spec: map[string]any{
			"name": "Shop", "authentication_implementation_id": "42", "timezone": "UTC", "date_format": "Y-m-d",
			"rate_limit_unit": "second", "rate_limit_duration": 1.0, "certificate_id": "9", "session_id": nil,
			"variables": map[string]any{
				"a": map[string]any{"key": "a", "value": "x", "label": nil, "secret": false, "locked": true, "pivot": map[string]any{"alias": nil, "required": true}},
				"b": map[string]any{"key": "b", "value": "443", "secret": true},
				"c": map[string]any{"key": "c", "secret": true},
			},
		},
		Sensitive: []string{"/variables/b/value"},
		Source:    syncd.Source{File: dir + "/p.yaml", Line: 1},
	}
	if diff := cmp.Diff(wantPW, p); diff != "" {
		t.Errorf("Patchworks resource (-want +got):\n%s", diff)
	}
	// The spec must already be what encoding/json produces.
	for _, d := range set.Resources {
		b, err := json.Marshal(d.Spec)
		if err != nil {
			t.Fatal(err)
		}
		var back map[string]any
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(back, d.Spec); diff != "" {
			t.Errorf("%s spec is not canonical (-json +spec):\n%s", d.Key, diff)
		}
	}
	var paths []string
	for _, f := range set.Files {
		paths = append(paths, strings.TrimPrefix(f.Path, dir+"/"))
	}
	if diff := cmp.Diff([]string{"api.jsonc", "m.yaml", "p.yaml", "tok.txt"}, paths); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

// TestLoadDigest: the digest follows every file read, includes and secret
// files too, and not the directory's own path.
func TestLoadDigest(t *testing.T) {
	files := map[string]string{
		"a.yaml":    with(makeDoc, "  sections: {api: {$file: api.jsonc}}", "  common: {token: '${file:t.txt}'}"),
		"api.jsonc": "{}",
		"t.txt":     "one",
	}
	digest := func(t *testing.T, change map[string]string) string {
		m := map[string]string{}
		for k, v := range files {
			m[k] = v
		}
		for k, v := range change {
			m[k] = v
		}
		set, err := Load(writeTree(t, m), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return set.Digest
	}
	base := digest(t, nil)
	if again := digest(t, nil); again != base {
		t.Errorf("same content in another directory: digest %s != %s", again, base)
	}
	for name, change := range map[string]map[string]string{
		"manifest": {"a.yaml": files["a.yaml"] + "# comment\n"},
		"$file":    {"api.jsonc": "{/* c */}"},
		"new file": {"b.yaml": ""},
	} {
		if got := digest(t, change); got == base {
			t.Errorf("changing %s did not change the digest", name)
		}
	}
	// A ${file:} secret's content never feeds the digest: a plain hash of a
	// short secret could be brute-forced from a published plan file.
	if got := digest(t, map[string]string{"t.txt": "two"}); got != base {
		t.Errorf("the digest depends on a secret file's content")
	}
}

func TestLoadSymlinkAndAbsoluteSecretFile(t *testing.T) {
	secretDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(secretDir, "tok"), []byte("abs-secret\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := writeTree(t, map[string]string{
		"a.yaml": with(makeDoc, "  common: {token: '${file:"+filepath.Join(secretDir, "tok")+"}'}"),
	})
	set, err := Load(dir, Options{SecretDirs: []string{secretDir}})
	if err != nil {
		t.Fatal(err)
	}
	if got := set.Resources[0].Spec["common"].(map[string]any)["token"]; got != "abs-secret" {
		t.Errorf("token = %q", got)
	}
}

// TestLoadAliasBomb: aliases and merge keys that expand exponentially are
// refused with an error instead of eating the machine.
func TestLoadAliasBomb(t *testing.T) {
	var merge, seq strings.Builder
	merge.WriteString("    a0: &a0 {x: 1}\n")
	seq.WriteString("    a0: &a0 [x, y]\n")
	for i := 1; i < 30; i++ {
		fmt.Fprintf(&merge, "    a%d: &a%d {<<: [*a%d, *a%d, *a%d]}\n", i, i, i-1, i-1, i-1)
		fmt.Fprintf(&seq, "    a%d: &a%d [*a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1)
	}
	for name, body := range map[string]string{"merge keys": merge.String(), "sequences": seq.String()} {
		t.Run(name, func(t *testing.T) {
			dir := writeTree(t, map[string]string{"m.yaml": with(makeDoc, "  common:") + body})
			_, err := Load(dir, Options{})
			if err == nil || !strings.Contains(err.Error(), "document expands to more than") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

// TestLoadProcessEnvironment: without Options.Getenv the process
// environment resolves ${env:} references.
func TestLoadProcessEnvironment(t *testing.T) {
	t.Setenv("SYNCD_DESIRED_TEST_SECRET", "from-process")
	dir := writeTree(t, map[string]string{"a.yaml": with(makeDoc, "  common: {password: '${env:SYNCD_DESIRED_TEST_SECRET}'}")})
	set, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := set.Resources[0].Spec["common"].(map[string]any)["password"]; got != "from-process" {
		t.Errorf("password = %q", got)
	}
}
