package desired

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v4"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("schema.json")
	if err != nil {
		t.Fatalf("schema does not compile: %v", err)
	}
	return sch
}

// yamlDocs decodes every document of a YAML stream into the JSON values the
// schema validator expects.
func yamlDocs(t *testing.T, data []byte) []any {
	t.Helper()
	var out []any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if v == nil {
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		j, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, j)
	}
}

func TestSchemaAcceptsExamples(t *testing.T) {
	sch := compileSchema(t)
	var n int
	err := filepath.WalkDir(manifestsDir, func(p string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() || !isManifestName(de.Name()) {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(string(data), "# yaml-language-server: $schema=") {
			t.Errorf("%s does not name the schema on its first line", p)
		}
		for i, d := range yamlDocs(t, data) {
			n++
			if err := sch.Validate(d); err != nil {
				t.Errorf("%s document %d: %v", p, i+1, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 4 {
		t.Errorf("only %d example documents found", n)
	}
}

// TestSchemaRejects: the schema is not vacuous; it refuses what the loader
// refuses for the common mistakes an editor should flag.
func TestSchemaRejects(t *testing.T) {
	sch := compileSchema(t)
	tests := []struct{ name, doc string }{
		{"unknown field", with(makeDoc, "  lable: x")},
		{"bad type enum", doc(replace(makeDoc, "  type", "  type: oauth2")...)},
		{"missing label", doc(replace(makeDoc, "  label", "")...)},
		{"bad name", doc(replace(makeDoc, "  name: crm", "  name: Bad_Name")...)},
		{"bad apiVersion", doc(replace(makeDoc, "apiVersion", "apiVersion: v1")...)},
		{"file ref with extra key", with(makeDoc, "  sections: {api: {$file: a.jsonc, x: 1}}")},
		{"scope not a list", with(makeDoc, "  sections: {scope: {a: 1}}")},
		{"bad unit", doc(replace(pwDoc, "  rate_limit_unit", "  rate_limit_unit: week")...)},
		{"duration not integer", doc(replace(pwDoc, "  rate_limit_duration", "  rate_limit_duration: \"60\"")...)},
		{"variable without key", with(pwDoc, "  variables: [{value: x}]")},
		{"unknown pivot field", with(pwDoc, "  variables: [{key: a, pivot: {hidden: true}}]")},
		{"bad policy mode", with(makeDoc, "policy: {mode: apply}")},
		{"bad ignore pointer", with(makeDoc, "policy: {ignore: [label]}")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs := yamlDocs(t, []byte(tt.doc))
			if len(docs) != 1 {
				t.Fatalf("%d documents", len(docs))
			}
			if err := sch.Validate(docs[0]); err == nil {
				t.Error("schema accepted it")
			}
			// The loader refuses it too.
			if _, err := Load(writeTree(t, map[string]string{"m.yaml": tt.doc}), Options{}); err == nil {
				t.Error("Load accepted it")
			}
		})
	}
}
