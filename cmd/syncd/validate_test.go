package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/desired"
)

func TestValidateExitCodes(t *testing.T) {
	t.Setenv("SHOPIFY_API_TOKEN", "shpat_test")
	t.Setenv("ACME_CLIENT_SECRET", "acme_test")
	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, "a.yaml"), []byte("apiVersion: syncd/v1\nkind: Nope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  string
		want int
	}{
		{name: "examples are valid", args: []string{"validate", "--manifests", "../../manifests"}, want: 0},
		{name: "directory from the environment", args: []string{"validate"}, env: "../../manifests", want: 0},
		{name: "broken", args: []string{"validate", "--manifests", broken}, want: 1},
		{name: "missing directory", args: []string{"validate", "--manifests", filepath.Join(broken, "nope")}, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("SYNCD_MANIFESTS", tt.env)
			}
			if got := run(context.Background(), tt.args); got != tt.want {
				t.Errorf("exit %d, want %d", got, tt.want)
			}
		})
	}
}

func TestValidateOutput(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"good.yaml": "apiVersion: syncd/v1\nkind: MakeConnection\nmetadata: {name: ok}\nspec: {app: a, type: apikey, label: L}\n",
		"bad.yaml": "apiVersion: syncd/v1\nkind: MakeConnection\nmetadata: {name: Bad}\n" +
			"spec:\n  app: a\n  type: ${env:SYNCD_TEST_SECRET_TYPE}\n  label: M\n  extra: 1\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("SYNCD_TEST_SECRET_TYPE", "CANARY-secret-type")
	var stdout, stderr bytes.Buffer
	c := &validateCmd{Manifests: dir, stdout: &stdout, stderr: &stderr}
	err := c.Run(context.Background(), &Globals{})
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 || ee.err != nil {
		t.Fatalf("err = %v", err)
	}
	want := []string{
		dir + "/bad.yaml:3:18: metadata.name: \"Bad\" is not a valid name: use lowercase letters, digits and '-', starting and ending with a letter or digit",
		dir + "/bad.yaml:6:9: spec.type: the referenced value is not one of oauth, oauth-refresh, oauth-resowncre, oauth-clicre, oauth-1, apikey, basic, other",
		dir + "/bad.yaml:8:3: spec.extra: unknown field \"extra\" (known fields: app, type, label, connectedSystemName, sections, common)",
	}
	if diff := cmp.Diff(want, strings.Split(strings.TrimSpace(stderr.String()), "\n")); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
	if stdout.Len() != 0 || strings.Contains(stderr.String(), "CANARY") {
		t.Errorf("stdout %q; stderr %q", stdout.String(), stderr.String())
	}

	if err := os.Remove(filepath.Join(dir, "bad.yaml")); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	if err := c.Run(context.Background(), &Globals{}); err != nil {
		t.Fatal(err)
	}
	if got, want := stdout.String(), dir+": valid: 1 resources (1 MakeConnection, 0 PatchworksConnector) in 1 files\n"; got != want || stderr.Len() != 0 {
		t.Errorf("stdout %q, want %q; stderr %q", got, want, stderr.String())
	}
}

func TestSchemaCommand(t *testing.T) {
	var out bytes.Buffer
	if err := (&schemaCmd{stdout: &out}).Run(context.Background(), &Globals{}); err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if v["$schema"] != "http://json-schema.org/draft-07/schema#" || !bytes.Equal(out.Bytes(), desired.Schema()) {
		t.Errorf("unexpected schema output")
	}
	if got := run(context.Background(), []string{"schema"}); got != 0 {
		t.Errorf("syncd schema exit %d", got)
	}
}
