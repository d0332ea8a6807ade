package desired

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestSchemaIsDraft07WithDocumentedFields: the schema is draft-07 (what
// yaml-language-server supports fully), and every field it declares has a
// description and examples, each example valid for its own field.
func TestSchemaIsDraft07WithDocumentedFields(t *testing.T) {
	var root map[string]any
	if err := json.Unmarshal(Schema(), &root); err != nil {
		t.Fatal(err)
	}
	if root["$schema"] != "http://json-schema.org/draft-07/schema#" {
		t.Errorf("$schema %v, want draft-07", root["$schema"])
	}
	if _, ok := root["$defs"]; ok {
		t.Error("$defs is not draft-07: use definitions")
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	fields := map[string]map[string]any{}
	var walk func(ptr string, v any)
	walk = func(ptr string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if props, ok := v["properties"].(map[string]any); ok {
				for name, p := range props {
					if m, ok := p.(map[string]any); ok && !strings.Contains(ptr, "/if") {
						fields[ptr+"/properties/"+strings.ReplaceAll(strings.ReplaceAll(name, "~", "~0"), "/", "~1")] = m
					}
				}
			}
			for k, sub := range v {
				walk(ptr+"/"+strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1"), sub)
			}
		case []any:
			for i, sub := range v {
				walk(ptr+"/"+itoa(i), sub)
			}
		}
	}
	walk("", root)
	if len(fields) < 40 {
		t.Fatalf("only %d fields found: the walk is broken", len(fields))
	}
	ptrs := make([]string, 0, len(fields))
	for p := range fields {
		ptrs = append(ptrs, p)
	}
	sort.Strings(ptrs)
	for _, ptr := range ptrs {
		f := fields[ptr]
		if strings.HasPrefix(ptr, "/allOf/") {
			continue // the if/then dispatch on kind, not a field
		}
		if d, _ := f["description"].(string); d == "" {
			t.Errorf("%s has no description", ptr)
		}
		ex, _ := f["examples"].([]any)
		if len(ex) == 0 {
			t.Errorf("%s has no examples", ptr)
			continue
		}
		sch, err := c.Compile("schema.json#" + ptr)
		if err != nil {
			t.Errorf("%s: %v", ptr, err)
			continue
		}
		for i, e := range ex {
			b, _ := json.Marshal(e)
			v, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err := sch.Validate(v); err != nil {
				t.Errorf("%s example %d is invalid for its own field: %v", ptr, i, err)
			}
		}
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
