package desired

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"

	"github.com/syncd/syncd/internal/platform/registry"
)

// schemaTemplate is the part of the schema common to every kind; each
// platform's manifest.Format supplies its definitions.
//
//go:embed schema.tmpl.json
var schemaTemplate string

var schemaJSON = sync.OnceValue(func() []byte {
	var kinds, allOf, defs []string
	for _, p := range registry.All() {
		kinds = append(kinds, fmt.Sprintf("%q", p.Kind()))
		allOf = append(allOf, fmt.Sprintf("    {\n"+
			"      \"if\": {\"required\": [\"kind\"], \"properties\": {\"kind\": {\"const\": %q}}},\n"+
			"      \"then\": {\"properties\": {\"spec\": {\"$ref\": \"#/definitions/%s\"}}}\n"+
			"    }", p.Kind(), p.SchemaSpec()))
		defs = append(defs, p.SchemaDefinitions())
	}
	s := strings.NewReplacer(
		"@KINDS@", strings.Join(kinds, ", "),
		"@ALLOF@", strings.Join(allOf, ",\n"),
		"\n@DEFINITIONS@", ",\n"+strings.Join(defs, ",\n"),
	).Replace(schemaTemplate)
	return []byte(s)
})

// Schema returns the JSON Schema (draft-07, which yaml-language-server supports fully) of one manifest document,
// for editors. It is hand-written beside the loader (schema.tmpl.json, and
// each platform's part of it); the loader remains the authority, and a test
// keeps the two agreeing on manifests/.
func Schema() []byte { return append([]byte(nil), schemaJSON()...) }
